package sim

import (
	"strings"
	"testing"

	"github.com/admem/admem"
)

func TestWasteCountsRepeatsFailuresAndRetries(t *testing.T) {
	ok := func(tool string, args map[string]any) admem.Step {
		return admem.Step{Action: tool, Args: args, Status: admem.StepOK}
	}
	bad := func(tool string, args map[string]any) admem.Step {
		return admem.Step{Action: tool, Args: args, Status: admem.StepError, Error: "Error: no"}
	}
	steps := []admem.Step{
		ok("get_user", map[string]any{"id": "u1"}),
		ok("think", map[string]any{"thought": "hm"}), // no call
		ok("get_user", map[string]any{"id": "u1"}),   // repeated read
		ok("get_user", map[string]any{"id": "u2"}),   // another read
		bad("book", map[string]any{"n": 1.0}),        // failed, retried
		bad("book", map[string]any{"n": 2.0}),        // failed, not retried
		ok("get_user", map[string]any{"id": "u2"}),   // repeated read
		ok("book", map[string]any{"n": 3.0}),
		ok("book", map[string]any{"n": 3.0}), // a write again: not a read
	}
	var w Waste
	w.Add(steps, func(tool string) bool { return strings.HasPrefix(tool, "get_") })
	if w.Calls != 8 || w.Failed != 2 || w.Retried != 1 || w.RepeatedReads != 2 || w.Wasted() != 4 {
		t.Fatalf("%+v", w)
	}
	if w.Share() != 0.5 || w.CallsPerUseful() != 2 || w.RetriedShare() != 0.5 {
		t.Fatalf("share %v calls per useful %v retried %v", w.Share(), w.CallsPerUseful(), w.RetriedShare())
	}
}

// Every step keeps the guard's verdict on its action and its outcome.
func TestTakenStepsFollowTheTrajectory(t *testing.T) {
	w := testWorld()
	eps := runArm(t, w, NoMemory{}, Schedule(3, 16, w.Families(), 0.3))
	for _, e := range eps {
		failed := 0
		for i, s := range e.Taken {
			if s.Failed != e.Trajectory.Steps[i].Failed() {
				t.Fatalf("episode %d step %d: taken failed %v, step %+v", e.Index, i, s.Failed, e.Trajectory.Steps[i])
			}
			if s.Failed {
				failed++
			}
			if s.Verdict.Decision != Allow || s.Pick != PickAllowed {
				t.Fatalf("episode %d step %d: no memory gave %+v (%s)", e.Index, i, s.Verdict, s.Pick)
			}
		}
		if len(e.Taken) != e.Steps || failed != len(e.Failures) {
			t.Fatalf("episode %d: %d taken steps, %d failed, for %d steps and %d failures", e.Index, len(e.Taken), failed, e.Steps, len(e.Failures))
		}
	}
}
