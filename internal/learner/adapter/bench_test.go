package adapter

import (
	"testing"
)

func benchModel(b *testing.B) (*Model, []Example) {
	b.Helper()
	ex := newWorld(41, DefaultDim, 30).family(42, "A", 12, 0.2).sample(2000, 43)
	m, err := Train(ex, DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	return m, ex
}

// BenchmarkScore is one (context, action) pair from scratch: Uᵀc plus the
// action's dot product.
func BenchmarkScore(b *testing.B) {
	m, ex := benchModel(b)
	var sink float64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e := &ex[i%len(ex)]
		sink += m.Risk(e.Context, e.Action)
	}
	_ = sink
}

// BenchmarkScorePerAction is the guard's case: one context, many candidate
// actions, with the context folded in once by ForContext.
func BenchmarkScorePerAction(b *testing.B) {
	m, ex := benchModel(b)
	s := m.ForContext(ex[0].Context)
	var sink float64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink += s.Risk(ex[i%len(ex)].Action)
	}
	_ = sink
}

// BenchmarkForContext is the per-context cost paid once before scoring actions.
func BenchmarkForContext(b *testing.B) {
	m, ex := benchModel(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_ = m.ForContext(ex[i%len(ex)].Context)
	}
}

// BenchmarkTrain10k trains with the default config on 10,000 labelled
// examples at d = 100; each op is one full training, early stopping included.
func BenchmarkTrain10k(b *testing.B) {
	ex := newWorld(51, DefaultDim, 30).family(52, "A", 16, 0.2).sample(10_000, 53)
	b.ResetTimer()
	for b.Loop() {
		m, err := Train(ex, DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Info().Epochs), "epochs")
	}
}
