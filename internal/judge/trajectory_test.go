package judge

import (
	"testing"

	"github.com/admem/admem"
)

func steps(spec ...string) []admem.Step {
	var out []admem.Step
	for i := 0; i+1 < len(spec); i += 2 {
		st := admem.StepOK
		if spec[i+1] == "err" {
			st = admem.StepError
		}
		out = append(out, admem.Step{Index: len(out), Action: spec[i], Status: st})
	}
	return out
}

func rewarded(r ...float64) []admem.Step {
	out := steps("a", "ok", "b", "ok")
	for i := range r {
		if i < len(out) {
			out[i].Reward = &r[i]
		}
	}
	return out[:len(r)]
}

func TestScoreTrajectory(t *testing.T) {
	def := TrajectoryRule{}
	cases := []struct {
		name    string
		steps   []admem.Step
		rule    TrajectoryRule
		outcome admem.Outcome
		score   float64
	}{
		{"no steps", nil, def, admem.OutcomeFailure, 0},
		{"all ok", steps("search", "ok", "book", "ok"), def, admem.OutcomeSuccess, 1},
		{"recovered error", steps("book", "err", "book", "ok"), def, admem.OutcomeSuccess, 1},
		{"unrecovered error, last ok", steps("lookup", "err", "book", "ok"), def, admem.OutcomePartial, 0.5},
		{"last step failed", steps("search", "ok", "book", "err"), def, admem.OutcomeFailure, 0.25},
		{"recovery by another action does not count", steps("book", "err", "cancel", "ok"), def, admem.OutcomePartial, 0.5},
		{"no_errors: clean", steps("a", "ok"), TrajectoryRule{Name: RuleNoErrors}, admem.OutcomeSuccess, 1},
		{"no_errors: a recovered error still fails", steps("a", "err", "a", "ok"), TrajectoryRule{Name: RuleNoErrors}, admem.OutcomeFailure, 0.5},
		{"reward above threshold", rewarded(0.8, 1), TrajectoryRule{Name: RuleReward, Threshold: 0.5}, admem.OutcomeSuccess, 0.9},
		{"reward below threshold", rewarded(0.2, 0.4), TrajectoryRule{Name: RuleReward, Threshold: 0.5}, admem.OutcomeFailure, 0.3},
		{"reward at threshold", rewarded(0.5), TrajectoryRule{Name: RuleReward, Threshold: 0.5}, admem.OutcomeSuccess, 0.5},
		{"reward clamped", rewarded(3), TrajectoryRule{Name: RuleReward, Threshold: 0.5}, admem.OutcomeSuccess, 1},
		{"reward rule without rewards falls back", steps("a", "ok", "b", "err"), TrajectoryRule{Name: RuleReward, Threshold: 0.5}, admem.OutcomeFailure, 0.25},
		{"unknown rule name uses the default", steps("a", "err"), TrajectoryRule{Name: "nope"}, admem.OutcomeFailure, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := ScoreTrajectory(admem.Trajectory{Task: "x", Steps: c.steps}, c.rule)
			if v.Outcome != c.outcome || abs(v.Score-c.score) > 1e-9 {
				t.Fatalf("got %s %.3f (%s), want %s %.3f", v.Outcome, v.Score, v.Reason, c.outcome, c.score)
			}
			if v.Reason == "" {
				t.Fatal("verdict without a reason")
			}
		})
	}
}

func TestValidRule(t *testing.T) {
	for _, r := range Rules {
		if !ValidRule(r) {
			t.Fatalf("%s not valid", r)
		}
	}
	if ValidRule("") || ValidRule("LAST_OK_RECOVERED") {
		t.Fatal("invalid names accepted")
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
