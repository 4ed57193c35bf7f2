package sparse

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestTrainRejectsBadInput: what cannot be trained on is refused with an
// error naming the example, never a panic or a silent skip.
func TestTrainRejectsBadInput(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(4)
	cfg := f.config(2)
	good := Example{Input: Input{Call: []Feat{{I: 1, V: 1}}, Context: []Feat{{I: 0, V: 0.5}}}}
	for name, e := range map[string]Example{
		"call index":      {Input: Input{Call: []Feat{{I: cfg.CallDim, V: 1}}}},
		"context index":   {Input: Input{Context: []Feat{{I: cfg.ContextDim, V: 1}}}},
		"NaN value":       {Input: Input{Call: []Feat{{I: 1, V: float32(math.NaN())}}}},
		"infinite value":  {Input: Input{Context: []Feat{{I: 1, V: float32(math.Inf(1))}}}},
		"negative weight": {Input: good.Input, Weight: -1},
	} {
		if _, _, err := Train([]Example{good, e}, cfg, nil); err == nil || !strings.Contains(err.Error(), "example 1") {
			t.Errorf("%s: error %v", name, err)
		}
		tr := mustTrainer(t, nil, nil, cfg)
		if err := tr.Observe([]Example{good, e}); err == nil {
			t.Errorf("%s: Observe accepted it", name)
		}
		if tr.Snapshot().Info().Observed != 0 {
			t.Errorf("%s: Observe applied part of a rejected batch", name)
		}
	}
	bad := cfg
	bad.Rank = MaxRank + 1
	if _, _, err := Train(nil, bad, nil); err == nil {
		t.Error("rank above MaxRank accepted")
	}
	bad = cfg
	bad.Prior = map[uint32]float32{cfg.CallDim: 1}
	if _, err := PriorModel(bad); err == nil {
		t.Error("prior on an index outside CallDim accepted")
	}
}

// TestTrainIsDeterministic: the same seed and examples give the same bytes.
func TestTrainIsDeterministic(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(8)
	w := newCallWorld(81, f, 6, 2, 4, true, 0.5, 0.02)
	ex, _ := w.sample(300, 1, nil)
	cfg := f.config(4)
	cfg.CreatedAt = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	a, _ := mustTrain(t, ex, cfg, nil).MarshalBinary()
	b, _ := mustTrain(t, ex, cfg, nil).MarshalBinary()
	if string(a) != string(b) {
		t.Error("two trainings with the same seed differ")
	}
}

// TestWarmStart: a refit from the previous model on more data learns the
// new data; a warm model of another shape is refused.
func TestWarmStart(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(8)
	w := newCallWorld(82, f, 12, 2, 4, true, 0.5, 0.02)
	first, _ := w.sample(400, 1, []int{0, 1, 2, 3, 4, 5})
	second, _ := w.sample(400, 2, []int{6, 7, 8, 9, 10, 11})
	test, _ := w.sample(2000, 3, nil)
	cfg := f.config(4)
	m1 := mustTrain(t, first, cfg, nil)
	m2, info, err := Train(append(append([]Example(nil), first...), second...), cfg, m1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("AUC on all tools: %.3f after the first half, %.3f after the warm refit (%d epochs)", aucOn(m1, test), aucOn(m2, test), info.Epochs)
	if aucOn(m2, test) < aucOn(m1, test)+0.1 {
		t.Errorf("warm refit AUC %.3f, first model %.3f", aucOn(m2, test), aucOn(m1, test))
	}
	other := cfg
	other.Rank = 2
	if _, _, err := Train(first, other, m1); err == nil {
		t.Error("warm model of rank 4 accepted for rank 2")
	}
}

// TestResetAdoptsRefit: after Reset the trainer publishes the refit model
// unchanged and keeps its replay reservoir.
func TestResetAdoptsRefit(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(8)
	w := newCallWorld(83, f, 8, 2, 4, true, 0.5, 0.02)
	history, _ := w.sample(300, 1, nil)
	cfg := f.config(4)
	tr := mustTrainer(t, mustTrain(t, history, cfg, nil), history, cfg)
	more, _ := w.sample(50, 2, nil)
	if err := tr.Observe(more); err != nil {
		t.Fatal(err)
	}
	refit := mustTrain(t, append(history, more...), cfg, nil)
	held := tr.ReplayLen()
	if err := tr.Reset(refit); err != nil {
		t.Fatal(err)
	}
	snap := tr.Snapshot()
	for i := range more {
		if a, b := snap.Risk(more[i].Input), refit.Risk(more[i].Input); a != b {
			t.Fatalf("example %d: risk %v after Reset, refit says %v", i, a, b)
		}
	}
	if tr.ReplayLen() != held {
		t.Errorf("Reset changed the reservoir from %d to %d examples", held, tr.ReplayLen())
	}
	if err := tr.Observe(more[:5]); err != nil {
		t.Fatal(err)
	}
}
