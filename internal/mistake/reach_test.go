package mistake

import (
	"fmt"
	"testing"

	"github.com/admem/admem"
)

// A step a call requires may lie before a context that holds only the
// latest steps. How far back it usually lies is learnt from the calls that
// worked: where it always came just before, its absence from the latest
// steps is a mistake; where it often came long before, it is not.
func TestPartialContextReachOfRequiredStep(t *testing.T) {
	book := func(between int) *Book {
		b := NewBook()
		for i := range 6 {
			rec := fmt.Sprint("R-", 300+i)
			steps := []step{{tool: "verify_record", args: args("record_id", rec)}}
			for j := range between {
				steps = append(steps, step{tool: "note_ticket", args: args("ticket", fmt.Sprint("T-", 10*i+j))})
			}
			steps = append(steps, step{tool: "close_record", args: args("record_id", rec)})
			learn(b, traj(fmt.Sprint("ok", i), "close record "+rec, steps...))
		}
		for i := range 3 {
			rec := fmt.Sprint("R-", 500+i)
			learn(b, traj(fmt.Sprint("f", i), "close record "+rec,
				step{tool: "close_record", args: args("record_id", rec), err: "cannot close record " + rec + ": required verify step missing"}))
		}
		return b
	}
	// The latest steps of a long run: the call's record is not verified in
	// them.
	var latest []admem.Step
	for j := range 6 {
		latest = append(latest, admem.Step{Index: 20 + j, Action: "note_ticket", Args: args("ticket", fmt.Sprint("T-9", j)), Status: admem.StepOK})
	}
	c := Call{Tool: "close_record", Args: args("record_id", "R-900")}
	if a := risk(book(0), "close record R-900", latest, c); a.Risk < 0.5 {
		t.Errorf("the step always came just before: risk %.2f out of sight, want ≥ 0.5", a.Risk)
	}
	if a := risk(book(8), "close record R-900", latest, c); a.Risk >= 0.5 {
		t.Errorf("the step came 9 steps before: risk %.2f out of sight, want < 0.5", a.Risk)
	}
	// The whole run, without the step: a mistake either way.
	if a := risk(book(8), "close record R-900", nil, c); a.Risk < 0.5 {
		t.Errorf("the whole run lacks the step: risk %.2f, want ≥ 0.5", a.Risk)
	}
}
