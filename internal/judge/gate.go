package judge

import (
	"fmt"
	"math"
)

// GateMetrics are the held-out measures the adapter gate compares (a subset
// of adapter.Metrics, so this package needs no model code).
type GateMetrics struct {
	N             int
	Failures      int
	AUC           float64 // NaN when the held-out set has one class
	Brier         float64
	ClusterRecall float64 // NaN when the held-out failures name no cluster
}

// GateTolerance is how much worse than the active version a candidate may
// be on each measure and still be published.
type GateTolerance struct {
	AUC           float64
	Brier         float64
	ClusterRecall float64
	// MinAUC is the floor for a tenant's first adapter: a model no better
	// than chance must not start warning agents.
	MinAUC float64
	// MinExamples is the held-out size below which no comparison is
	// meaningful; the candidate is then rejected.
	MinExamples int
}

// DefaultGateTolerance: AUC may drop by 0.01, Brier rise by 0.01, cluster
// recall drop by 0.05 (one cluster in twenty); a first model needs AUC 0.55
// on at least 20 held-out examples.
func DefaultGateTolerance() GateTolerance {
	return GateTolerance{AUC: 0.01, Brier: 0.01, ClusterRecall: 0.05, MinAUC: 0.55, MinExamples: 20}
}

// GateDecision is the gate's verdict with its reasons.
type GateDecision struct {
	Activate bool
	Reasons  []string
}

// GateAdapter decides whether a candidate adapter replaces the active one.
// active is nil when the tenant has no active adapter. Both are measured on
// the same held-out examples, which neither trained on.
func GateAdapter(cand GateMetrics, active *GateMetrics, tol GateTolerance) GateDecision {
	var reasons []string
	if cand.N < tol.MinExamples {
		return GateDecision{Reasons: []string{fmt.Sprintf("only %d held-out examples (need %d)", cand.N, tol.MinExamples)}}
	}
	if math.IsNaN(cand.Brier) {
		return GateDecision{Reasons: []string{"the candidate's Brier score is undefined"}}
	}
	if active == nil {
		if !math.IsNaN(cand.AUC) && cand.AUC < tol.MinAUC {
			return GateDecision{Reasons: []string{fmt.Sprintf("AUC %.3f is below the floor %.3f for a first adapter", cand.AUC, tol.MinAUC)}}
		}
		if math.IsNaN(cand.AUC) {
			return GateDecision{Reasons: []string{"the held-out examples have one class; AUC is undefined"}}
		}
		return GateDecision{Activate: true, Reasons: []string{fmt.Sprintf("first adapter: AUC %.3f ≥ %.3f", cand.AUC, tol.MinAUC)}}
	}
	ok := true
	if !math.IsNaN(cand.AUC) && !math.IsNaN(active.AUC) {
		if cand.AUC < active.AUC-tol.AUC {
			ok = false
			reasons = append(reasons, fmt.Sprintf("AUC %.3f < active %.3f − %.3f", cand.AUC, active.AUC, tol.AUC))
		} else {
			reasons = append(reasons, fmt.Sprintf("AUC %.3f vs active %.3f", cand.AUC, active.AUC))
		}
	} else if math.IsNaN(cand.AUC) != math.IsNaN(active.AUC) {
		ok = false
		reasons = append(reasons, "AUC is defined for only one of the two models")
	}
	if cand.Brier > active.Brier+tol.Brier {
		ok = false
		reasons = append(reasons, fmt.Sprintf("Brier %.4f > active %.4f + %.4f", cand.Brier, active.Brier, tol.Brier))
	} else {
		reasons = append(reasons, fmt.Sprintf("Brier %.4f vs active %.4f", cand.Brier, active.Brier))
	}
	if !math.IsNaN(cand.ClusterRecall) && !math.IsNaN(active.ClusterRecall) {
		if cand.ClusterRecall < active.ClusterRecall-tol.ClusterRecall {
			ok = false
			reasons = append(reasons, fmt.Sprintf("cluster recall %.3f < active %.3f − %.3f", cand.ClusterRecall, active.ClusterRecall, tol.ClusterRecall))
		} else {
			reasons = append(reasons, fmt.Sprintf("cluster recall %.3f vs active %.3f", cand.ClusterRecall, active.ClusterRecall))
		}
	}
	return GateDecision{Activate: ok, Reasons: reasons}
}
