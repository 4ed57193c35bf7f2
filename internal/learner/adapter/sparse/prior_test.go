package sparse

import (
	"math"
	"math/rand/v2"
	"testing"
)

// priorSetup is a featuriser with one named evidence feature (say, the
// mistake model's match probability) whose hand-set weight says "a match
// means failure".
func priorSetup() (featurizer, Config, uint32) {
	f := testFeaturizer(8)
	cfg := f.config(4)
	match := f.namedIndex(0)
	cfg.Prior = map[uint32]float32{match: 4}
	cfg.PriorBias = -3
	return f, cfg, match
}

// evidenceExamples draws calls of random tools with the match feature at
// value x (0 or 1) in random contexts; pFail(x) sets the label.
func evidenceExamples(f featurizer, match uint32, n int, seed uint64, pFail func(x float64) float64) []Example {
	rng := rand.New(rand.NewPCG(seed, 21))
	ex := make([]Example, n)
	for i := range ex {
		x := float64(rng.IntN(2))
		call := []Feat{f.callName(randName(rng, "tool=")[:9]), {I: match, V: float32(x)}}
		ctx := append(f.embedding(randUnit(rng, int(f.embed))), f.ctxName(randName(rng, "prev=")[:8]))
		ex[i] = Example{Input: Input{Call: call, Context: ctx}, Failed: rng.Float64() < pFail(x)}
	}
	return ex
}

// TestPriorWithoutData: with no examples the model is the hand-set evidence
// combination σ(PriorBias + Σ Prior·x), for inputs with unseen features too.
func TestPriorWithoutData(t *testing.T) {
	t.Parallel()
	f, cfg, match := priorSetup()
	m, err := PriorModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(nil, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []float32{0, 0.25, 0.5, 1} {
		in := evidenceExamples(f, match, 1, uint64(100*x), func(float64) float64 { return 0 })[0].Input
		in.Call[1].V = x
		want := sigmoid(-3 + 4*float64(x))
		for name, got := range map[string]float64{"PriorModel": m.Risk(in), "Trainer": tr.Snapshot().Risk(in)} {
			if math.Abs(got-want) > 1e-6 {
				t.Errorf("%s: match %.2f: risk %.6f, prior says %.6f", name, x, got, want)
			}
		}
	}
}

// TestPriorMovesWithContradictingData: this tenant's matches do not fail
// (5 %). A few examples move the risk of a match only part of the way; many
// move it to the data's rate. Data that agrees with the prior leaves the
// weight near its prior value.
func TestPriorMovesWithContradictingData(t *testing.T) {
	t.Parallel()
	f, cfg, match := priorSetup()
	probe := evidenceExamples(f, match, 400, 99, func(float64) float64 { return 0 })
	var probeMatch []Example
	for _, e := range probe {
		if e.Call[1].V == 1 {
			probeMatch = append(probeMatch, e)
		}
	}
	meanRisk := func(m *Model) float64 {
		s := 0.0
		for _, e := range probeMatch {
			s += m.Risk(e.Input)
		}
		return s / float64(len(probeMatch))
	}
	contra := func(x float64) float64 { return 0.05 }
	prev := sigmoid(1)
	for _, n := range []int{0, 4, 16, 64, 400, 2000} {
		m := mustTrain(t, evidenceExamples(f, match, n, 7, contra), cfg, nil)
		r := meanRisk(m)
		t.Logf("%4d examples: risk of a match %.3f, match weight %.2f, bias %.2f", n, r, m.Weight(match), float64(m.bias))
		switch {
		case n == 0 && math.Abs(r-sigmoid(1)) > 1e-6:
			t.Errorf("no data: risk %.4f, prior %.4f", r, sigmoid(1))
		case n > 0 && r >= prev && prev > 0.1: // falls until it reaches the data's rate
			t.Errorf("%d examples: risk %.3f did not fall from %.3f", n, r, prev)
		case n == 4 && r < 0.3:
			t.Errorf("4 examples already moved the risk of a match to %.3f: the prior is too weak", r)
		case n == 2000 && r > 0.1:
			t.Errorf("2000 examples at 5 %% failures leave the risk of a match at %.3f", r)
		}
		prev = r
	}

	agree := func(x float64) float64 { return sigmoid(-3 + 4*x) }
	m := mustTrain(t, evidenceExamples(f, match, 2000, 8, agree), cfg, nil)
	t.Logf("agreeing data: match weight %.2f (prior 4), bias %.2f (prior −3)", m.Weight(match), float64(m.bias))
	if math.Abs(m.Weight(match)-4) > 0.8 || math.Abs(float64(m.bias)+3) > 0.8 {
		t.Errorf("data that agrees with the prior moved it: weight %.2f, bias %.2f", m.Weight(match), float64(m.bias))
	}
}
