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
