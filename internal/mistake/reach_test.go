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

// An error that names the state a lookup had just shown ("cannot ship
// P-1: current status frozen" after a result saying status: frozen) is
// about that state: a call after a lookup showing it is a mistake, one
// after a lookup showing another state is not.
func TestStateNamedByTheError(t *testing.T) {
	b := NewBook()
	for i := range 8 {
		id := fmt.Sprint("P-", 100+i)
		learn(b, traj(fmt.Sprint("ok", i), "ship "+id,
			step{tool: "read_parcel", args: args("parcel_id", id), obs: `{"parcel_id":"` + id + `","status":"open"}`},
			step{tool: "ship_parcel", args: args("parcel_id", id)}))
	}
	for i := range 3 {
		id := fmt.Sprint("P-", 200+i)
		learn(b, traj(fmt.Sprint("f", i), "ship "+id,
			step{tool: "read_parcel", args: args("parcel_id", id), obs: `{"parcel_id":"` + id + `","status":"frozen"}`},
			step{tool: "ship_parcel", args: args("parcel_id", id), err: "cannot ship " + id + ": current status frozen"}))
	}
	lookup := func(id, status string) []admem.Step {
		return []admem.Step{{Action: "read_parcel", Args: args("parcel_id", id), Status: admem.StepOK, Observation: `{"parcel_id":"` + id + `","status":"` + status + `"}`}}
	}
	c := func(id string) Call { return Call{Tool: "ship_parcel", Args: args("parcel_id", id)} }
	if a := risk(b, "ship P-900", lookup("P-900", "frozen"), c("P-900")); a.Risk < 0.5 {
		t.Errorf("after a lookup showing the state the error names: risk %.2f, want ≥ 0.5", a.Risk)
	}
	if a := risk(b, "ship P-901", lookup("P-901", "open"), c("P-901")); a.Risk >= 0.5 {
		t.Errorf("after a lookup showing another state: risk %.2f, want < 0.5", a.Risk)
	}
}
