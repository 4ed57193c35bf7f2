package sparse

import (
	"math"

	"github.com/admem/admem/internal/learner/adapter"
)

// Metrics are the held-out measures the judge compares between a candidate
// and the active model. Failure is the positive class; Example.Weight is
// ignored (each held-out example counts once).
type Metrics struct {
	N, Failures int

	AUC     float64 // P(risk of a random failure > risk of a random success); NaN with one class
	Brier   float64 // mean (risk − failed)²
	LogLoss float64 // mean cross-entropy, risks clipped to [1e-15, 1−1e-15]
	// ECE is the expected calibration error over ECEBins equal-width risk
	// bins: Σ_bins (share of examples) × |mean risk − failure rate|. A
	// calibrated model, whose 0.3 means 30 %, has ECE near 0.
	ECE float64

	// Threshold is the risk at or above which an example counts as flagged.
	Threshold float64
	// Recall is the share of failures flagged; FalsePositiveRate the share
	// of successes flagged (NaN when there are none).
	Recall, FalsePositiveRate float64
	// Clusters counts the distinct failure clusters among the failures;
	// ClusterRecall is the share of them with at least half their failures
	// flagged (NaN without clusters).
	Clusters      int
	ClusterRecall float64
}

// ECEBins is the number of risk bins ECE uses.
const ECEBins = 10

// Evaluate scores every example with the model and computes the metrics at
// the given flagging threshold.
func Evaluate(m *Model, examples []Example, threshold float64) Metrics {
	risks := make([]float64, len(examples))
	for i := range examples {
		risks[i] = m.Risk(examples[i].Input)
	}
	return EvaluateRisks(risks, examples, threshold)
}

// EvaluateRisks computes the metrics for risks already computed (risks[i]
// belongs to examples[i]). It panics if the lengths differ.
func EvaluateRisks(risks []float64, examples []Example, threshold float64) Metrics {
	if len(risks) != len(examples) {
		panic("sparse: EvaluateRisks needs one risk per example")
	}
	failed := make([]bool, len(examples))
	met := Metrics{N: len(examples), Threshold: threshold}
	var flaggedFail, flaggedOK int
	type tally struct{ flagged, total int }
	clusters := map[string]*tally{}
	for i := range examples {
		e := &examples[i]
		failed[i] = e.Failed
		flag := risks[i] >= threshold
		if !e.Failed {
			if flag {
				flaggedOK++
			}
			continue
		}
		met.Failures++
		if flag {
			flaggedFail++
		}
		if e.Cluster != "" {
			c := clusters[e.Cluster]
			if c == nil {
				c = &tally{}
				clusters[e.Cluster] = c
			}
			c.total++
			if flag {
				c.flagged++
			}
		}
	}
	met.AUC = adapter.AUC(risks, failed)
	met.Brier = adapter.Brier(risks, failed)
	met.LogLoss = adapter.LogLoss(risks, failed)
	met.ECE = ECE(risks, failed, ECEBins)
	met.Recall = ratio(flaggedFail, met.Failures)
	met.FalsePositiveRate = ratio(flaggedOK, met.N-met.Failures)
	met.Clusters = len(clusters)
	hit := 0
	for _, c := range clusters {
		if 2*c.flagged >= c.total {
			hit++
		}
	}
	met.ClusterRecall = ratio(hit, len(clusters))
	return met
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// ECE is the expected calibration error of probabilities against outcomes
// over bins equal-width bins of [0, 1]: the share-weighted mean of
// |mean probability − positive rate| per bin. NaN for no examples.
func ECE(probs []float64, positive []bool, bins int) float64 {
	if len(probs) == 0 || bins < 1 {
		return math.NaN()
	}
	sumP := make([]float64, bins)
	sumY := make([]float64, bins)
	count := make([]int, bins)
	for i, p := range probs {
		b := min(max(int(p*float64(bins)), 0), bins-1)
		sumP[b] += p
		if positive[i] {
			sumY[b]++
		}
		count[b]++
	}
	e := 0.0
	for b := range bins {
		if count[b] > 0 {
			e += math.Abs(sumP[b]-sumY[b]) / float64(len(probs))
		}
	}
	return e
}
