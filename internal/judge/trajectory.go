// Package judge makes admem's decisions about quality: how a trajectory
// without a reported outcome is scored, which write operation a memory write
// becomes, whether a candidate adapter may replace the active one. Every
// judgement is a pure function of its inputs, so it can be table-tested.
package judge

import (
	"fmt"
	"slices"

	"github.com/admem/admem"
)

// Trajectory scoring rules a tenant can choose.
const (
	// RuleLastOKRecovered (the default): success when the last step worked
	// and every failed step was recovered (the same action later worked);
	// partial when the last step worked but some error was never recovered;
	// failure when the last step failed.
	RuleLastOKRecovered = "last_ok_recovered"
	// RuleNoErrors: success only when no step failed, otherwise failure.
	RuleNoErrors = "no_errors"
	// RuleReward: the mean step reward against the tenant's threshold;
	// trajectories without rewards fall back to RuleLastOKRecovered.
	RuleReward = "reward"
)

// Rules lists the valid rule names.
var Rules = []string{RuleLastOKRecovered, RuleNoErrors, RuleReward}

// ValidRule reports whether name is a scoring rule.
func ValidRule(name string) bool { return slices.Contains(Rules, name) }

// TrajectoryRule is a tenant's scoring rule.
type TrajectoryRule struct {
	Name      string  // one of Rules; empty means RuleLastOKRecovered
	Threshold float64 // RuleReward: mean reward at or above this is success
}

// Verdict is the judge's score of a trajectory.
type Verdict struct {
	Outcome admem.Outcome
	Score   float64 // 0..1
	Reason  string
}

// ScoreTrajectory scores a trajectory whose agent reported no outcome. A
// trajectory with no steps did nothing and is a failure.
func ScoreTrajectory(t admem.Trajectory, rule TrajectoryRule) Verdict {
	if len(t.Steps) == 0 {
		return Verdict{Outcome: admem.OutcomeFailure, Score: 0, Reason: "no steps"}
	}
	switch rule.Name {
	case RuleNoErrors:
		failed := len(t.FailedSteps())
		if failed == 0 {
			return Verdict{Outcome: admem.OutcomeSuccess, Score: 1, Reason: "no step failed"}
		}
		return Verdict{Outcome: admem.OutcomeFailure, Score: okShare(t), Reason: fmt.Sprintf("%d steps failed", failed)}
	case RuleReward:
		if mean, ok := meanReward(t); ok {
			mean = min(max(mean, 0), 1)
			if mean >= rule.Threshold {
				return Verdict{Outcome: admem.OutcomeSuccess, Score: mean, Reason: fmt.Sprintf("mean reward %.3g ≥ %.3g", mean, rule.Threshold)}
			}
			return Verdict{Outcome: admem.OutcomeFailure, Score: mean, Reason: fmt.Sprintf("mean reward %.3g < %.3g", mean, rule.Threshold)}
		}
	}
	last := t.Steps[len(t.Steps)-1]
	if last.Failed() {
		return Verdict{Outcome: admem.OutcomeFailure, Score: okShare(t) / 2, Reason: "the last step failed"}
	}
	if n := unrecovered(t.Steps); n > 0 {
		return Verdict{Outcome: admem.OutcomePartial, Score: 0.5, Reason: fmt.Sprintf("%d failed steps were never recovered", n)}
	}
	return Verdict{Outcome: admem.OutcomeSuccess, Score: 1, Reason: "the last step worked and every error was recovered"}
}

// unrecovered counts failed steps whose action never worked later in the run.
func unrecovered(steps []admem.Step) int {
	n := 0
	for i, s := range steps {
		if !s.Failed() {
			continue
		}
		recovered := false
		for _, later := range steps[i+1:] {
			if later.Action == s.Action && !later.Failed() {
				recovered = true
				break
			}
		}
		if !recovered {
			n++
		}
	}
	return n
}

func okShare(t admem.Trajectory) float64 {
	ok := 0
	for _, s := range t.Steps {
		if !s.Failed() {
			ok++
		}
	}
	return float64(ok) / float64(len(t.Steps))
}

func meanReward(t admem.Trajectory) (float64, bool) {
	sum, n := 0.0, 0
	for _, s := range t.Steps {
		if s.Reward != nil {
			sum += *s.Reward
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}
