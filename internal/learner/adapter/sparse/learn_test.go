package sparse

import (
	"math"
	"testing"
)

func mustTrain(t testing.TB, ex []Example, cfg Config, warm *Model) *Model {
	t.Helper()
	m, _, err := Train(ex, cfg, warm)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFormatWorldLearnsFromFewExamples: failure is exactly "this tool with
// this argument written in this shape" (1 % label noise). A few dozen
// examples must rank held-out calls almost perfectly, and a few hundred as
// well as the true probabilities do, across generated worlds.
func TestFormatWorldLearnsFromFewExamples(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(16)
	const worlds = 8
	var sum40, sumBest float64
	for seed := uint64(1); seed <= worlds; seed++ {
		w := newCallWorld(seed, f, 4, 2, 3, false, 0.5, 0.01)
		test, truth := w.sample(2000, seed*100+1, nil)
		best := EvaluateRisks(truth, test, 0.5)
		train, _ := w.sample(40, seed*100, nil)
		few := Evaluate(mustTrain(t, train, f.config(4), nil), test, 0.5)
		train, _ = w.sample(300, seed*100+2, nil)
		many := Evaluate(mustTrain(t, train, f.config(4), nil), test, 0.5)
		t.Logf("world %d: AUC %.3f after 40 examples, %.3f after 300 (true probabilities %.3f); recall@0.5 %.2f / %.2f, FPR %.3f / %.3f",
			seed, few.AUC, many.AUC, best.AUC, few.Recall, many.Recall, few.FalsePositiveRate, many.FalsePositiveRate)
		sum40 += few.AUC
		sumBest += best.AUC
		if few.AUC < 0.9 || many.AUC < best.AUC-0.01 {
			t.Errorf("world %d: AUC %.3f after 40 examples, %.3f after 300, achievable %.3f", seed, few.AUC, many.AUC, best.AUC)
		}
	}
	t.Logf("mean AUC after 40 examples %.3f (achievable %.3f)", sum40/worlds, sumBest/worlds)
	if sum40/worlds < 0.95 {
		t.Errorf("mean AUC after 40 examples %.3f", sum40/worlds)
	}
}

// TestInteractionNeedsRank: a tool fails after some previous steps and not
// after others, and every tool and step fails equally often on its own. A
// rank-0 model (no context × call term) cannot rank these failures; rank ≥ 1
// must.
func TestInteractionNeedsRank(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(16)
	for _, groups := range []int{2, 4} {
		w := newPairWorld(uint64(groups), f, 12, 12, groups, 0.03)
		train, _ := w.sample(3000, 7)
		test, truth := w.sample(3000, 8)
		best := EvaluateRisks(truth, test, 0.5).AUC
		auc := map[int]float64{}
		for _, r := range []int{0, 1, 2, 4, 8} {
			auc[r] = Evaluate(mustTrain(t, train, f.config(r), nil), test, 0.5).AUC
		}
		t.Logf("%d groups: AUC rank 0 %.3f, 1 %.3f, 2 %.3f, 4 %.3f, 8 %.3f (Bayes %.3f)", groups, auc[0], auc[1], auc[2], auc[4], auc[8], best)
		if auc[0] > 0.6 {
			t.Errorf("%d groups: rank 0 reaches AUC %.3f on a pure interaction", groups, auc[0])
		}
		if auc[groups] < best-0.03 {
			t.Errorf("%d groups: rank %d AUC %.3f, achievable %.3f", groups, groups, auc[groups], best)
		}
	}
}

// TestCalibration: on data labelled from a known logistic model, the
// model's risks must be calibrated (a 0.3 means 30 %) and close to the
// true probabilities.
func TestCalibration(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(8)
	w := newLogisticWorld(3, f, 60, 20)
	train, _ := w.sample(6000, 31)
	test, truth := w.sample(6000, 32)
	m := mustTrain(t, train, f.config(4), nil)
	got, best := Evaluate(m, test, 0.5), EvaluateRisks(truth, test, 0.5)
	var mae float64
	for i := range test {
		mae += math.Abs(m.Risk(test[i].Input)-truth[i]) / float64(len(test))
	}
	a, c := m.Calibration()
	t.Logf("ECE %.4f (truth %.4f), Brier %.4f (truth %.4f), log loss %.4f (truth %.4f), mean |risk − p| %.4f, Platt (%.3f, %.3f)",
		got.ECE, best.ECE, got.Brier, best.Brier, got.LogLoss, best.LogLoss, mae, a, c)
	if got.ECE > 0.03 || mae > 0.05 {
		t.Errorf("ECE %.4f, mean |risk − p| %.4f", got.ECE, mae)
	}
}
