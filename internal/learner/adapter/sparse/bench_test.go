package sparse

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchWorld is sized like a real tenant's guard traffic: calls of ~40
// features (a tool, 12 arguments with their shapes, 3 named evidence
// features), contexts of a 100-d embedding and 20 hashed features of the
// steps so far, failures from format rules and from interactions: some
// step names and the tools belong to groups, and a tool fails more often
// after a step of its own group.
type benchWorld struct {
	f             featurizer
	tools, shapes []string
	args          [][]string
	tasks         [][]float64
	ctxNames      []string
	badShape      map[[3]int]bool
	toolGroup     []int
	ctxGroup      []int // −1: no group
}

// benchCtxNames is the number of hashed context features per context.
var benchCtxNames = 20

func newBenchWorld(seed uint64) *benchWorld {
	rng := rand.New(rand.NewPCG(seed, 81))
	w := &benchWorld{f: testFeaturizer(100), badShape: map[[3]int]bool{}}
	var pool []string
	for range 30 {
		pool = append(pool, randName(rng, "arg"))
	}
	for range 8 {
		w.shapes = append(w.shapes, randName(rng, "shape"))
	}
	for t := range 50 {
		w.tools = append(w.tools, randName(rng, "tool"))
		var args []string
		for _, j := range rng.Perm(len(pool))[:12] {
			args = append(args, pool[j])
		}
		w.args = append(w.args, args)
		w.badShape[[3]int{t, rng.IntN(12), rng.IntN(8)}] = true
		w.toolGroup = append(w.toolGroup, rng.IntN(8))
	}
	for range 20 {
		w.tasks = append(w.tasks, randUnit(rng, 100))
	}
	for i := range 200 {
		w.ctxNames = append(w.ctxNames, randName(rng, "prev"))
		g := -1
		if i%10 == 0 {
			g = rng.IntN(8)
		}
		w.ctxGroup = append(w.ctxGroup, g)
	}
	return w
}

func (w *benchWorld) sample(n int, seed uint64) ([]Example, []float64) {
	rng := rand.New(rand.NewPCG(seed, 82))
	ex := make([]Example, n)
	truth := make([]float64, n)
	for i := range ex {
		t := rng.IntN(len(w.tools))
		p := 0.03
		call := []Feat{w.f.callName("tool=" + w.tools[t])}
		for a, arg := range w.args[t] {
			s := rng.IntN(len(w.shapes))
			if rng.IntN(4) != 0 {
				s = 0 // most values come in the usual shape
			}
			if w.badShape[[3]int{t, a, s}] {
				p = 0.9
			}
			call = append(call,
				w.f.callName("tool="+w.tools[t]+"|arg="+arg+"|shape="+w.shapes[s]),
				w.f.callName("arg="+arg+"|shape="+w.shapes[s]))
		}
		for k := range 3 {
			call = append(call, Feat{I: w.f.namedIndex(k), V: float32(rng.Float64())})
		}
		ctx := w.f.embedding(w.tasks[rng.IntN(len(w.tasks))])
		for range benchCtxNames {
			c := rng.IntN(len(w.ctxNames))
			if w.ctxGroup[c] == w.toolGroup[t] {
				p = max(p, 0.6)
			}
			ctx = append(ctx, w.f.ctxName(w.ctxNames[c]))
		}
		truth[i] = p
		ex[i] = Example{Input: Input{Call: call, Context: ctx}, Failed: rng.Float64() < p}
	}
	return ex, truth
}

func benchModel(b *testing.B, rank int) (*Model, []Example) {
	b.Helper()
	w := newBenchWorld(1)
	ex, _ := w.sample(4000, 2)
	m := mustTrain(b, ex, w.f.config(rank), nil)
	return m, ex
}

// BenchmarkRisk is one (context, call) pair from scratch: the context folded
// (100 dense + 20 hashed features) and the call's ~40 features. The inputs
// cycle through 64 examples, as a guard request's input is fresh in cache
// when it is scored; BenchmarkRiskColdInputs cycles through 4,000.
func BenchmarkRisk(b *testing.B) {
	for _, rank := range []int{0, 8, 16} {
		b.Run(fmt.Sprintf("rank%d", rank), func(b *testing.B) {
			m, ex := benchModel(b, rank)
			ex = ex[:64]
			b.ReportAllocs()
			var sink float64
			cpu := startCPU()
			defer cpu.report(b)
			for i := 0; b.Loop(); i++ {
				sink += m.Risk(ex[i%len(ex)].Input)
			}
			_ = sink
		})
	}
}

func BenchmarkRiskColdInputs(b *testing.B) {
	m, ex := benchModel(b, 8)
	var sink float64
	cpu := startCPU()
	defer cpu.report(b)
	for i := 0; b.Loop(); i++ {
		sink += m.Risk(ex[i%len(ex)].Input)
	}
	_ = sink
}

// BenchmarkRisk8Candidates is the guard's case: one context folded once,
// eight candidate calls scored in it. One op is all eight.
func BenchmarkRisk8Candidates(b *testing.B) {
	for _, rank := range []int{8, 16} {
		b.Run(fmt.Sprintf("rank%d", rank), func(b *testing.B) {
			m, ex := benchModel(b, rank)
			ex = ex[:64]
			b.ReportAllocs()
			var sink float64
			cpu := startCPU()
			defer cpu.report(b)
			for i := 0; b.Loop(); i++ {
				s := m.ForContext(ex[i%len(ex)].Context)
				for j := range 8 {
					sink += s.Risk(ex[(i+j)%len(ex)].Call)
				}
			}
			_ = sink
		})
	}
}

// BenchmarkTrain10k is one full refit on 10,000 examples, early stopping
// and calibration included.
func BenchmarkTrain10k(b *testing.B) {
	for _, rank := range []int{0, 8} {
		b.Run(fmt.Sprintf("rank%d", rank), func(b *testing.B) {
			w := newBenchWorld(1)
			ex, _ := w.sample(10_000, 3)
			test, truth := w.sample(3000, 4)
			best := EvaluateRisks(truth, test, 0.5).AUC
			cfg := w.f.config(rank)
			cpu := startCPU()
			defer cpu.report(b)
			for b.Loop() {
				m, info, err := Train(ex, cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(info.Epochs), "epochs")
				b.ReportMetric(Evaluate(m, test, 0.5).AUC, "AUC")
				b.ReportMetric(best, "AUC-truth")
			}
		})
	}
}

// BenchmarkObserve is one online update of 1 or 10 new examples (8 Adam
// steps, each with 32 replayed examples) on a model trained on 4,000.
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			w := newBenchWorld(1)
			history, _ := w.sample(4000, 2)
			cfg := w.f.config(8)
			tr := mustTrainer(b, mustTrain(b, history, cfg, nil), history, cfg)
			fresh, _ := w.sample(1000, 5)
			b.ReportAllocs()
			cpu := startCPU()
			defer cpu.report(b)
			for i := 0; b.Loop(); i++ {
				lo := (i * n) % (len(fresh) - n)
				if err := tr.Observe(fresh[lo : lo+n]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshot is the cost of publishing: an immutable copy of a model
// trained on 4,000 examples.
func BenchmarkSnapshot(b *testing.B) {
	w := newBenchWorld(1)
	history, _ := w.sample(4000, 2)
	cfg := w.f.config(8)
	tr := mustTrainer(b, mustTrain(b, history, cfg, nil), history, cfg)
	nc, nx := tr.Snapshot().Features()
	b.ReportMetric(float64(nc+nx), "rows")
	b.ReportAllocs()
	cpu := startCPU()
	defer cpu.report(b)
	for b.Loop() {
		_ = tr.Snapshot()
	}
}
