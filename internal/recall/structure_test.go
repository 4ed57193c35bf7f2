package recall

import (
	"encoding/json"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/trajectories"
)

func TestStructureDecodesStoredState(t *testing.T) {
	sig := signature.Signature{Tool: "book", Class: "ValueError", Template: "seat <N> taken"}
	note := mistake.Mistake{SignatureID: sig.ID(), Signature: sig, Kind: mistake.KindDeterministic, Failures: 4,
		Example: "book(seat=<STR>)", Trajectories: []string{"t1", "t2"},
		Rule: mistake.Rule{Level: mistake.LevelForm, Features: []string{"s:seat=9A"}, P: 0.8},
		Fixes: []mistake.Fix{
			{Kind: mistake.FixReplace, Tool: "hold", Support: 3, Score: 2.5, Sources: []string{"t9"}},
			{Kind: mistake.FixRewrite, Args: []mistake.ArgFix{{Arg: "seat", From: "seat", T: mistake.Transform{Op: mistake.OpTask, Anchor: "seat", Shape: "9A"}}},
				Support: 1, Score: 1, Sources: []string{"t1"}},
		}}
	proc := trajectories.ProcedureState{Procedure: learner.Procedure{ID: "proc-1", Task: "book a flight", Tasks: []string{"book a flight"},
		Steps: []learner.Action{{Tool: "book", Args: map[string]any{"user": "ann", "cabin": "economy"}}},
		Script: []learner.ScriptStep{{Tool: "book", Args: map[string]any{"user": learner.Param("user"),
			"legs": []any{map[string]any{"id": learner.Param("leg_id")}}, "cabin": "economy"}, Support: 2}},
		Params: []string{"leg_id", "user"}, Sources: []string{"s1", "s2"}, FailedSources: []string{"f1"}},
		Pitfalls: []trajectories.Pitfall{{Step: 1, Tool: "book", SignatureID: sig.ID(), Error: "ValueError: seat <N> taken", Trajectory: "f1"}}}

	cases := []struct {
		name  string
		kind  admem.EntryKind
		state any
		check func(t *testing.T, s Structured)
	}{
		{"mistake", admem.KindMistake, note, func(t *testing.T, s Structured) {
			m := s.Mistake
			if m == nil || s.Procedure != nil {
				t.Fatalf("got %+v", s)
			}
			if m.FailsWith != (Failure{SignatureID: sig.ID(), Class: "ValueError", Template: "seat <N> taken"}) || m.Seen != 4 ||
				m.Doing != "book(seat=<STR>)" || m.Tool != "book" || m.Kind != "deterministic" || m.When != "seat written 9A" ||
				m.Rule.P != 0.8 || len(m.TrajectoryIDs) != 2 {
				t.Errorf("mistake %+v", m)
			}
			if len(m.Corrections) != 2 || m.Corrections[0].Kind != "replace" || m.Corrections[0].Support != 3 || m.Corrections[0].Do != "call hold instead of book" ||
				m.Corrections[1].Kind != "rewrite" || m.Corrections[1].TrajectoryID != "t1" {
				t.Errorf("corrections, in the mistake's order: %+v", m.Corrections)
			}
		}},
		{"procedure", admem.KindProcedure, proc, func(t *testing.T, s Structured) {
			p := s.Procedure
			if p == nil || s.Mistake != nil {
				t.Fatalf("got %+v", s)
			}
			if p.Task != "book a flight" || p.Support != 2 || p.Failures != 1 || len(p.Pitfalls) != 1 || p.Pitfalls[0].TrajectoryID != "f1" {
				t.Errorf("procedure %+v", p)
			}
			if p.Steps[0].Args["user"] != "ann" {
				t.Errorf("verbatim step %+v", p.Steps[0])
			}
			// Placeholders survive the JSON round trip as "{name}", at any depth; constants stay.
			args := p.Script[0].Args
			leg := args["legs"].([]any)[0].(map[string]any)
			if args["user"] != "{user}" || leg["id"] != "{leg_id}" || args["cabin"] != "economy" || p.Script[0].Support != 2 {
				t.Errorf("script %+v", p.Script[0])
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.state)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Structure(c.kind, b)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, s)
		})
	}
	if _, err := Structure(admem.KindMistake, []byte(`{"Failures": "x"}`)); err == nil {
		t.Error("a malformed state decoded")
	}
	if _, err := Structure(admem.KindMistake, []byte(`{"ID": "abc", "Count": 3}`)); err == nil {
		t.Error("a note of the first learner decoded as a mistake")
	}
	if _, err := Structure("fact", []byte(`{}`)); err == nil {
		t.Error("a fact has no learned structure")
	}
}
