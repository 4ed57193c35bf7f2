package adapter

import (
	"math"
	"slices"
)

// Metrics are the held-out measures the judge compares between a candidate
// and the active adapter. Failure is the positive class throughout: AUC is the
// probability that a random failure gets a higher risk than a random success.
type Metrics struct {
	N        int // examples evaluated
	Failures int

	AUC     float64 // NaN when only one class is present
	Brier   float64 // mean (risk − failed)²
	LogLoss float64 // mean cross-entropy of the risk, risks clipped to [1e-15, 1−1e-15]

	// Threshold is the risk at or above which a failure counts as flagged.
	Threshold float64
	// Clusters is the number of distinct failure clusters among the failures
	// (failures without a cluster id are not counted).
	Clusters int
	// ClusterRecall is the share of those clusters in which at least half of
	// the failures are flagged: "would the guard have warned about this
	// known mistake". NaN when there are no clusters.
	ClusterRecall float64
	// ClusterMacroRecall is the mean over clusters of the share of the
	// cluster's failures flagged; smoother than ClusterRecall on few examples.
	ClusterMacroRecall float64
}

// Evaluate scores every example with the model and computes the metrics.
// threshold is the guard's warn threshold for cluster recall. Like Risk, it
// panics on examples of the wrong dimension.
func Evaluate(m *Model, examples []Example, threshold float64) Metrics {
	risks := make([]float64, len(examples))
	for i, e := range examples {
		risks[i] = m.Risk(e.Context, e.Action)
	}
	return EvaluateRisks(risks, examples, threshold)
}

// EvaluateRisks computes the metrics for risks already computed (risks[i]
// belongs to examples[i]), for callers that score by other means.
func EvaluateRisks(risks []float64, examples []Example, threshold float64) Metrics {
	if len(risks) != len(examples) {
		panic("adapter: EvaluateRisks needs one risk per example")
	}
	failed := make([]bool, len(examples))
	met := Metrics{N: len(examples), Threshold: threshold}
	for i, e := range examples {
		failed[i] = e.Failed
		if e.Failed {
			met.Failures++
		}
	}
	met.AUC = AUC(risks, failed)
	met.Brier = Brier(risks, failed)
	met.LogLoss = LogLoss(risks, failed)

	type tally struct{ flagged, total int }
	clusters := map[string]*tally{}
	for i, e := range examples {
		if !e.Failed || e.Cluster == "" {
			continue
		}
		c := clusters[e.Cluster]
		if c == nil {
			c = &tally{}
			clusters[e.Cluster] = c
		}
		c.total++
		if risks[i] >= threshold {
			c.flagged++
		}
	}
	met.Clusters = len(clusters)
	if met.Clusters == 0 {
		met.ClusterRecall, met.ClusterMacroRecall = math.NaN(), math.NaN()
		return met
	}
	var hit int
	var macro float64
	for _, c := range clusters {
		if 2*c.flagged >= c.total {
			hit++
		}
		macro += float64(c.flagged) / float64(c.total)
	}
	met.ClusterRecall = float64(hit) / float64(met.Clusters)
	met.ClusterMacroRecall = macro / float64(met.Clusters)
	return met
}

// AUC is the area under the ROC curve of scores for the positives, computed
// as the Mann–Whitney statistic with tied scores given their average rank
// (so a tie between a positive and a negative counts one half). It returns
// NaN when either class is empty.
func AUC(scores []float64, positive []bool) float64 {
	n := len(scores)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		switch {
		case scores[i] < scores[j]:
			return -1
		case scores[i] > scores[j]:
			return 1
		}
		return 0
	})
	var rankSum float64
	var nPos int
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && scores[order[hi]] == scores[order[lo]] {
			hi++
		}
		avg := float64(lo+hi+1) / 2 // mean of 1-based ranks lo+1..hi
		for _, i := range order[lo:hi] {
			if positive[i] {
				rankSum += avg
				nPos++
			}
		}
		lo = hi
	}
	nNeg := n - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSum - float64(nPos)*float64(nPos+1)/2) / (float64(nPos) * float64(nNeg))
}

// Brier is the mean squared error of the probabilities against the outcomes.
func Brier(probs []float64, positive []bool) float64 {
	if len(probs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for i, p := range probs {
		y := 0.0
		if positive[i] {
			y = 1
		}
		s += (p - y) * (p - y)
	}
	return s / float64(len(probs))
}

// LogLoss is the mean cross-entropy of the probabilities, clipped so that
// one confident mistake costs a lot but not infinity.
func LogLoss(probs []float64, positive []bool) float64 {
	if len(probs) == 0 {
		return math.NaN()
	}
	const eps = 1e-15
	s := 0.0
	for i, p := range probs {
		p = math.Min(math.Max(p, eps), 1-eps)
		if positive[i] {
			s -= math.Log(p)
		} else {
			s -= math.Log(1 - p)
		}
	}
	return s / float64(len(probs))
}
