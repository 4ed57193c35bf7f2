package riskmodel

import (
	"math"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner/adapter/sparse"
	"github.com/admem/admem/internal/mistake"
)

func failing(id, acct string) admem.Trajectory {
	return admem.Trajectory{ID: id, Task: "close account " + acct, Steps: []admem.Step{
		{Index: 0, Action: "close_account", Args: map[string]any{"account_id": acct}, Status: admem.StepError, Error: "account " + acct + " has open holds; call release_holds first"},
		{Index: 1, Action: "release_holds", Args: map[string]any{"account_id": acct}, Status: admem.StepOK, Observation: "ok"},
		{Index: 2, Action: "close_account", Args: map[string]any{"account_id": acct}, Status: admem.StepOK, Observation: "ok"},
	}}
}

// The untrained model (the prior) says what the evidence says, so a tenant
// without data is guarded by its notes alone; a call the evidence knows
// nothing about stays allowed whatever the adapter says.
func TestPriorReproducesEvidence(t *testing.T) {
	b := mistake.NewBook()
	for i, acct := range []string{"ACC-1", "ACC-2", "ACC-3"} {
		b.LearnClosed(failing(string(rune('a'+i)), acct), nil, time.Unix(0, 0))
		b.Reset()
	}
	m, err := sparse.PriorModel(Config())
	if err != nil {
		t.Fatal(err)
	}
	sit := &mistake.Situation{Task: "close account ACC-9"}
	calls := []mistake.Call{
		{Tool: "close_account", Args: map[string]any{"account_id": "ACC-9"}},
		{Tool: "lookup_account", Args: map[string]any{"account_id": "ACC-9"}},
	}
	as := make([]mistake.Assessment, len(calls))
	for i, c := range calls {
		as[i] = b.Assess(sit, c)
	}
	if as[0].Risk < 0.5 {
		t.Fatalf("the evidence does not flag the known mistake: %.2f", as[0].Risk)
	}
	risks := Scorer{M: m}.Risks(sit, as)
	for i := range as {
		want := min(max(as[i].Risk, riskClip), 1-riskClip)
		if math.Abs(risks[i]-want) > 1e-3 {
			t.Errorf("%s: prior risk %.4f, evidence %.4f", calls[i].Tool, risks[i], want)
		}
		if got := m.Risk(Input(sit, &as[i])); math.Abs(got-risks[i]) > 1e-9 {
			t.Errorf("%s: Input and Scorer disagree: %.6f vs %.6f", calls[i].Tool, got, risks[i])
		}
	}
	if r := Risk(&as[1], 0.99); r > as[1].Risk {
		t.Errorf("a call without evidence became risky: %.2f", r)
	}
	if r := Risk(&as[0], 0.1); r != 0.1 {
		t.Errorf("the adapter does not decide on a known mistake: %.2f", r)
	}
}

// Inputs stay within the model's ranges and bounded in size, whatever the
// request holds.
func TestInputBounds(t *testing.T) {
	args := map[string]any{}
	for i := range 500 {
		args[string(rune('a'+i%26))+string(rune('a'+i/26%26))] = i
	}
	long := make([]byte, 100000)
	for i := range long {
		long[i] = 'a' + byte(i%26)
		if i%7 == 0 {
			long[i] = ' '
		}
	}
	var steps []admem.Step
	for i := range 200 {
		steps = append(steps, admem.Step{Index: i, Action: string(rune('a' + i%50)), Status: admem.StepOK})
	}
	sit := &mistake.Situation{Task: string(long), Steps: steps}
	a := mistake.NewBook().Assess(sit, mistake.Call{Tool: "x", Args: args})
	in := Input(sit, &a)
	if len(in.Call) > 16+2*maxFacts+2*maxMatches+2 || len(in.Context) > maxTaskWords+maxStepTools+1 {
		t.Fatalf("input of %d call and %d context features", len(in.Call), len(in.Context))
	}
	cfg := Config()
	for _, f := range in.Call {
		if f.I >= cfg.CallDim {
			t.Fatalf("call feature %d outside %d", f.I, cfg.CallDim)
		}
	}
	for _, f := range in.Context {
		if f.I >= cfg.ContextDim {
			t.Fatalf("context feature %d outside %d", f.I, cfg.ContextDim)
		}
	}
}
