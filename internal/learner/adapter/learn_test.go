package adapter

import (
	"testing"
)

// TestInteractionBeatsLinear is the reason the bilinear term exists: when
// failure depends on which action is taken in which kind of context, a model
// of the action alone (plus the context alone) cannot rank failures well.
func TestInteractionBeatsLinear(t *testing.T) {
	t.Parallel()
	w := newWorld(21, 50, 20)
	f := w.family(22, "A", 10, 0.2)
	train := f.sample(2500, 23)
	test, truth := f.sampleWithTruth(2000, 24)

	cfg := DefaultConfig()
	full, err := Train(train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rank = 0
	linear, err := Train(train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mf, ml := Evaluate(full, test, 0.5), Evaluate(linear, test, 0.5)
	oracle := EvaluateRisks(truth, test, 0.5)
	t.Logf("held-out AUC: bilinear r=%d %.3f, linear %.3f, Bayes-optimal %.3f", full.Rank(), mf.AUC, ml.AUC, oracle.AUC)
	t.Logf("Brier %.3f vs %.3f; log loss %.3f vs %.3f; cluster recall@0.5 %.2f vs %.2f (oracle %.2f), macro %.2f vs %.2f (oracle %.2f), %d clusters",
		mf.Brier, ml.Brier, mf.LogLoss, ml.LogLoss, mf.ClusterRecall, ml.ClusterRecall, oracle.ClusterRecall,
		mf.ClusterMacroRecall, ml.ClusterMacroRecall, oracle.ClusterMacroRecall, mf.Clusters)
	if mf.AUC < ml.AUC+0.08 {
		t.Errorf("bilinear AUC %.3f does not clearly beat linear %.3f", mf.AUC, ml.AUC)
	}
	if mf.AUC < oracle.AUC-0.06 {
		t.Errorf("bilinear AUC %.3f is far from the achievable %.3f", mf.AUC, oracle.AUC)
	}
	if mf.ClusterRecall < ml.ClusterRecall+0.1 {
		t.Errorf("bilinear recalls %.2f of failure clusters, linear %.2f", mf.ClusterRecall, ml.ClusterRecall)
	}
	if mf.Brier >= ml.Brier || mf.LogLoss >= ml.LogLoss {
		t.Errorf("bilinear not better calibrated: Brier %.3f vs %.3f, log loss %.3f vs %.3f", mf.Brier, ml.Brier, mf.LogLoss, ml.LogLoss)
	}
}

// TestReservoirLimitsForgetting trains on family A, then retrains on family
// B (same actions, new contexts, new failure pattern). With the reservoir of
// A replayed, AUC on A must stay within a few points; without it, it falls,
// which the log shows for contrast.
func TestReservoirLimitsForgetting(t *testing.T) {
	t.Parallel()
	w := newWorld(31, 32, 20)
	famA, famB := w.family(32, "A", 6, 0.25), w.family(33, "B", 6, 0.25)
	trainA, testA := famA.sample(1600, 34), famA.sample(1200, 35)
	trainB, testB := famB.sample(1200, 36), famB.sample(1200, 37)

	cfg := DefaultConfig()
	mA, err := Train(trainA, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := NewReservoir(1200, 38)
	res.AddAll(trainA)
	onlyB, err := Train(trainB, cfg)
	if err != nil {
		t.Fatal(err)
	}
	withRes, err := Train(append(append([]Example(nil), trainB...), res.Examples()...), cfg)
	if err != nil {
		t.Fatal(err)
	}
	aucA0 := Evaluate(mA, testA, 0.5).AUC
	aucANo, aucBNo := Evaluate(onlyB, testA, 0.5).AUC, Evaluate(onlyB, testB, 0.5).AUC
	aucARes, aucBRes := Evaluate(withRes, testA, 0.5).AUC, Evaluate(withRes, testB, 0.5).AUC
	t.Logf("AUC on A: after A %.3f; after B without reservoir %.3f (drop %.3f); after B with reservoir %.3f (drop %.3f)",
		aucA0, aucANo, aucA0-aucANo, aucARes, aucA0-aucARes)
	t.Logf("AUC on B: without reservoir %.3f, with reservoir %.3f", aucBNo, aucBRes)
	if aucA0-aucARes > 0.04 {
		t.Errorf("with the reservoir AUC on A fell from %.3f to %.3f", aucA0, aucARes)
	}
	if aucBRes < aucBNo-0.03 {
		t.Errorf("replaying A cost too much on B: %.3f vs %.3f", aucBRes, aucBNo)
	}
}
