package recall

import (
	"encoding/json"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/trajectories"
)

// TestStructureReadsBothProcedureForms: procedures stored before
// placeholders had a form of their own (bare names listed in Params) and
// after ({"$param": "name"}) both show their placeholders as "{name}"; in
// the new form a constant spelled like a placeholder's name stays itself.
func TestStructureReadsBothProcedureForms(t *testing.T) {
	current, err := json.Marshal(trajectories.ProcedureState{Procedure: learner.Procedure{ID: "proc-1", Task: "find a user",
		Script: []learner.ScriptStep{{Tool: "find", Args: map[string]any{"field": "user", "value": learner.Param("user"),
			"legs": []any{map[string]any{"id": learner.Param("leg_id")}}}, Support: 2}},
		Params: []string{"user", "leg_id"}, Sources: []string{"s1", "s2"}}})
	if err != nil {
		t.Fatal(err)
	}
	old := `{"Procedure":{"ID":"proc-1","Task":"find a user","Script":[{"Tool":"find",
		"Args":{"value":"user","legs":[{"id":"leg_id"}],"cabin":"economy"},"Support":2}],
		"Params":["user","leg_id"],"Version":1,"Sources":["s1","s2"]},"Pitfalls":null}`
	for _, c := range []struct {
		name  string
		state []byte
		want  map[string]any
	}{
		{"current", current, map[string]any{"field": "user", "value": "{user}", "id": "{leg_id}"}},
		{"old", []byte(old), map[string]any{"cabin": "economy", "value": "{user}", "id": "{leg_id}"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Structure(admem.KindProcedure, c.state)
			if err != nil {
				t.Fatal(err)
			}
			p := s.Procedure
			if p == nil || len(p.Script) != 1 || len(p.Placeholders) != 2 {
				t.Fatalf("procedure %+v", p)
			}
			args := p.Script[0].Args
			for k, v := range c.want {
				got := args[k]
				if k == "id" {
					got = args["legs"].([]any)[0].(map[string]any)["id"]
				}
				if got != v {
					t.Errorf("%s = %#v, want %#v (script %s)", k, got, v, p.Script[0].Text)
				}
			}
		})
	}
}
