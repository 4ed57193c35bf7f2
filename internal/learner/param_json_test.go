package learner

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/admem/admem"
)

func TestParamJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Param("leg_id"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"$param":"leg_id"}` {
		t.Fatalf("stored form %s", b)
	}
	for _, c := range []struct {
		in      string
		want    Param
		wantErr bool
	}{
		{`{"$param":"leg_id"}`, "leg_id", false},
		{`"user"`, "user", false}, // the form stored before
		{`{"$param":3}`, "", true},
		{`{"$param":"a","b":1}`, "", true},
		{`{"name":"a"}`, "", true},
		{`[1]`, "", true},
	} {
		var p Param
		err := json.Unmarshal([]byte(c.in), &p)
		if (err != nil) != c.wantErr || p != c.want {
			t.Errorf("%s: %q, %v; want %q (error %v)", c.in, p, err, c.want, c.wantErr)
		}
	}
}

func TestProcedureJSONRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		script []ScriptStep
	}{
		{"top level", []ScriptStep{{Tool: "book", Args: map[string]any{"user": Param("user"), "cabin": "economy"}, Support: 2}}},
		{"nested in lists and objects", []ScriptStep{{Tool: "book", Args: map[string]any{
			"legs":  []any{map[string]any{"id": Param("leg_id"), "seat": "any"}, Param("extra")},
			"payer": map[string]any{"card": map[string]any{"id": Param("card")}}}, Support: 3}}},
		// A constant spelled like a placeholder's name stays a constant.
		{"constant named like a placeholder", []ScriptStep{{Tool: "find", Args: map[string]any{"field": "user", "value": Param("user")}, Support: 1}}},
		{"several steps", []ScriptStep{
			{Tool: "search", Args: map[string]any{"q": Param("query")}, Support: 2},
			{Tool: "think", Args: map[string]any{}, Support: 1},
			{Tool: "open", Args: nil, Support: 1},
			{Tool: "book", Args: map[string]any{"q": Param("query"), "n": 2.0, "ok": true, "none": nil}, Support: 2}}},
		{"no placeholders", []ScriptStep{{Tool: "ping", Args: map[string]any{"host": "a"}, Support: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := Procedure{ID: "proc-1", Task: "book a flight", Tasks: []string{"book a flight"},
				Steps:  []Action{{Tool: "book", Args: map[string]any{"user": "ann"}}},
				Script: c.script, Params: params(c.script), Version: 2, Sources: []string{"s1", "s2"}, FailedSources: []string{"f1"}}
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var out Procedure
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out, in) {
				t.Fatalf("round trip\n got %#v\nwant %#v\nstored %s", out, in, b)
			}
			if got := params(out.Script); !slices.Equal(got, in.Params) {
				t.Fatalf("placeholders after the round trip %v, want %v", got, in.Params)
			}
			if out.Render() != in.Render() {
				t.Fatalf("render\n got %s\nwant %s", out.Render(), in.Render())
			}
		})
	}
}

// TestProcedureJSONReadsTheOldForm: procedures stored before placeholders
// had a form of their own hold the bare name; it comes back as a Param.
func TestProcedureJSONReadsTheOldForm(t *testing.T) {
	t.Parallel()
	old := `{"ID":"proc-1","Task":"book a flight","Tasks":["book a flight"],"Steps":null,
		"Script":[{"Tool":"book","Args":{"user":"user","legs":[{"id":"leg_id"}],"cabin":"economy"},"Support":2}],
		"Params":["leg_id","user"],"Version":1,"Sources":["s1","s2"],"FailedSources":null}`
	var p Procedure
	if err := json.Unmarshal([]byte(old), &p); err != nil {
		t.Fatal(err)
	}
	args := p.Script[0].Args
	if args["user"] != Param("user") || args["legs"].([]any)[0].(map[string]any)["id"] != Param("leg_id") || args["cabin"] != "economy" {
		t.Fatalf("old form read as %#v", args)
	}
	if got := params(p.Script); !slices.Equal(got, p.Params) {
		t.Fatalf("placeholders %v, listed %v", got, p.Params)
	}
	// Without listed placeholders nothing is one.
	var q Procedure
	if err := json.Unmarshal([]byte(strings.Replace(old, `"Params":["leg_id","user"]`, `"Params":null`, 1)), &q); err != nil {
		t.Fatal(err)
	}
	if q.Script[0].Args["user"] != "user" {
		t.Fatalf("a constant became %#v", q.Script[0].Args["user"])
	}
}

// TestStoredProcedureMerges: a procedure read back from storage merges
// like the one distilled: its placeholders keep their names, and stay
// placeholders in steps the other run lacks (the bare names stored before
// came back as constants there).
func TestStoredProcedureMerges(t *testing.T) {
	t.Parallel()
	run := func(id, user string, middle ...string) admem.Trajectory {
		steps := []admem.Step{{Action: "lookup", Args: map[string]any{"user": user}}}
		for _, tool := range middle {
			steps = append(steps, admem.Step{Action: tool, Args: map[string]any{"who": user}})
		}
		steps = append(steps, admem.Step{Action: "book", Args: map[string]any{"user": user, "cabin": "economy"}})
		return admem.Trajectory{ID: id, Task: "book a flight", Outcome: admem.OutcomeSuccess, Steps: steps}
	}
	// The stored procedure is the shorter and better supported, so it is
	// the backbone; its "note" step meets no counterpart.
	distilled := DistillProcedures([]admem.Trajectory{run("t1", "ann", "note"), run("t2", "bob", "note")}, ProcedureOptions{})
	if len(distilled) != 1 || distilled[0].Script[1].Args["who"] != Param("user") {
		t.Fatalf("distilled %+v", distilled)
	}
	b, err := json.Marshal(distilled[0])
	if err != nil {
		t.Fatal(err)
	}
	var stored Procedure
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	incoming := DistillProcedures([]admem.Trajectory{run("t3", "cid", "check", "verify")}, ProcedureOptions{})[0]
	want := MergeProcedures(distilled[0], incoming, ProcedureOptions{})
	got := MergeProcedures(stored, incoming, ProcedureOptions{})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merging the stored procedure\n got %#v\nwant %#v", got, want)
	}
	if !strings.Contains(got.Render(), "note(who={user})") {
		t.Fatalf("the merge lost a placeholder: %s", got.Render())
	}
}
