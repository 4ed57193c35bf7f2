package wiring

import (
	"testing"

	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/trajectories"
)

func TestSuggestFromProcedures(t *testing.T) {
	refund := learner.Procedure{
		Task:    "refund the damaged order for the customer",
		Tasks:   []string{"refund the damaged order for the customer", "refund a broken order"},
		Sources: []string{"t1", "t2", "t3"},
		Script: []learner.ScriptStep{
			{Tool: "get_order", Args: map[string]any{"order_id": learner.Param("order_id")}},
			{Tool: "refund", Args: map[string]any{"order_id": learner.Param("order_id"), "method": "original_payment"}},
		},
		Params: []string{"order_id"},
	}
	shaky := refund
	shaky.Sources, shaky.FailedSources = []string{"t4"}, []string{"t5", "t6", "t7"}
	shaky.Script = []learner.ScriptStep{{Tool: "refund", Args: map[string]any{"order_id": learner.Param("order_id"), "method": "gift_card"}}}
	good := trajectories.ProcedureState{Procedure: refund}
	withPitfall := trajectories.ProcedureState{Procedure: refund, Pitfalls: []trajectories.Pitfall{{Step: 2, Tool: "refund"}}}
	want := "refund(method=original_payment, order_id={order_id})"

	cases := []struct {
		name    string
		procs   []trajectories.ProcedureState
		task    string
		tool    string
		flagged string
		want    string // "" for no suggestion
	}{
		{"similar task, same tool called differently", []trajectories.ProcedureState{good}, "refund a broken order", "refund",
			"refund(method=cash, order_id=O1)", want},
		{"matches a merged task text", []trajectories.ProcedureState{good}, "please refund broken order", "refund", "refund(order_id=O1)", want},
		{"the more reliable procedure wins", []trajectories.ProcedureState{{Procedure: shaky}, good}, "refund a broken order", "refund",
			"refund(method=cash, order_id=O1)", want},
		{"unrelated task", []trajectories.ProcedureState{good}, "deploy the service to staging", "refund", "refund(order_id=O1)", ""},
		{"procedure never calls the tool", []trajectories.ProcedureState{good}, "refund a broken order", "cancel_order", "cancel_order(order_id=O1)", ""},
		{"the flagged call is the procedure's own", []trajectories.ProcedureState{good}, "refund a broken order", "refund", want, ""},
		{"agents failed at that step", []trajectories.ProcedureState{withPitfall}, "refund a broken order", "refund", "refund(order_id=O1)", ""},
		{"no procedures", nil, "refund a broken order", "refund", "refund(order_id=O1)", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			action, text, ok := suggestFromProcedures(c.procs, c.task, c.tool, c.flagged)
			if action != c.want || ok != (c.want != "") {
				t.Fatalf("suggestion %q (ok %v), want %q", action, ok, c.want)
			}
			if ok && text == "" {
				t.Fatal("a suggestion without its reason")
			}
		})
	}
}
