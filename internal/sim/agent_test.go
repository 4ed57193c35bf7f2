package sim

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/admem/admem"
)

func trace(eps []EpisodeResult) [][]string {
	var out [][]string
	for _, e := range eps {
		var steps []string
		for _, s := range e.Trajectory.Steps {
			steps = append(steps, ActionFromStep(s.Action, s.Args).String()+" => "+string(s.Status)+" "+s.Error)
		}
		out = append(out, append(steps, e.End))
	}
	return out
}

// Same seed, same episodes: in the no-memory arm and, given a deterministic
// memory, in a learning arm too.
func TestRunIsDeterministic(t *testing.T) {
	for _, mk := range []func() Memory{func() Memory { return NoMemory{} }, func() Memory { return &refMemory{} }} {
		var runs [][][]string
		for range 2 {
			w := NewWorld(Config{Seed: 5, DriftAt: 20})
			runs = append(runs, trace(runArm(t, w, mk(), Schedule(5, 40, w.Families(), 0.3))))
		}
		if !reflect.DeepEqual(runs[0], runs[1]) {
			t.Fatalf("%T: two runs with the same seed differ", mk())
		}
	}
	w := NewWorld(Config{Seed: 5})
	a := trace(runArm(t, w, NoMemory{}, Schedule(5, 16, w.Families(), 0.3)))
	b := trace(runArm(t, w, NoMemory{}, Schedule(6, 16, w.Families(), 0.3)))
	if reflect.DeepEqual(a, b) {
		t.Fatal("different seeds gave the same episodes")
	}
}

// Without noise the agent walks the reference plan: the plan is solvable by
// the agent's own machinery, in exactly its length.
func TestNoiselessAgentFollowsThePlan(t *testing.T) {
	w := testWorld()
	cfg := DefaultAgentConfig()
	cfg.Noise = NoiseRates{}
	sched := Schedule(3, 32, w.Families(), 0.5)
	eps, err := Run(context.Background(), w, NoMemory{}, sched, RunConfig{Agent: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		if !e.Success || e.Steps != e.RefSteps || len(e.Failures) != 0 {
			t.Fatalf("episode %d (%s): success=%v steps=%d ref=%d failures=%v", e.Index, e.Family, e.Success, e.Steps, e.RefSteps, e.Failures)
		}
	}
}

func TestScheduleInterleavesFamilies(t *testing.T) {
	fams := NewWorld(Config{}).Families()
	s := Schedule(1, 3*len(fams), fams, 0.3)
	for b := 0; b < 3; b++ {
		seen := map[string]bool{}
		for _, e := range s[b*len(fams) : (b+1)*len(fams)] {
			seen[e.Family] = true
		}
		if len(seen) != len(fams) {
			t.Fatalf("block %d has %d families", b, len(seen))
		}
	}
	for i, e := range s {
		if e.Index != i {
			t.Fatalf("spec %d has index %d", i, e.Index)
		}
	}
}

// blockFirst blocks every first candidate and suggests the reference step
// it was told about.
type blockFirst struct {
	NoMemory
	suggest Action
}

func (m blockFirst) Guard(_ context.Context, _ string, _ []admem.Step, c []Action) ([]Verdict, error) {
	out := make([]Verdict, len(c))
	for i := range out {
		out[i] = Verdict{Decision: Block, Risk: 1, Suggestion: &m.suggest}
	}
	return out, nil
}

func TestAgentFollowsGuardSuggestion(t *testing.T) {
	w := testWorld()
	task, err := w.NewTask(EpisodeSpec{Index: 1, Family: "refunds", Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	first := task.Plan[0].Action
	sugg := Action{Tool: first.Tool, Args: map[string]string{}}
	for k := range first.Args {
		sugg.Args[k] = "{customer}"
	}
	ag := NewAgent(w, blockFirst{suggest: sugg}, DefaultAgentConfig())
	ep, err := ag.Run(context.Background(), task, agentRNG(EpisodeSpec{Seed: 4}), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := ActionFromStep(ep.Trajectory.Steps[0].Action, ep.Trajectory.Steps[0].Args); !got.Equal(first) {
		t.Fatalf("first step %s, want the grounded suggestion %s", got, first)
	}
	if ep.Guard.Blocked == 0 || ep.Guard.Suggested == 0 {
		t.Fatalf("guard stats %+v", ep.Guard)
	}
	// The suggestion is done now; the agent must not loop on it.
	if len(ep.Trajectory.Steps) > 1 && ep.Trajectory.Steps[1].Action == first.Tool && ep.Trajectory.Steps[1].Status == admem.StepOK {
		t.Fatalf("agent redid a finished step on advice: %v", ep.Trajectory.Steps[1])
	}
}

// tick is a clock that advances a millisecond per reading.
type tick struct{ t time.Time }

func (c *tick) now() time.Time { c.t = c.t.Add(time.Millisecond); return c.t }

func TestOverheadUsesTheClock(t *testing.T) {
	w := testWorld()
	c := &tick{}
	eps, err := Run(context.Background(), w, NoMemory{}, Schedule(2, 8, w.Families(), 0.3), RunConfig{Agent: DefaultAgentConfig(), Clock: c.now})
	if err != nil {
		t.Fatal(err)
	}
	m := ComputeMetrics(eps, MetricsConfig{})
	if m.Overhead.Guard.P50 != time.Millisecond || m.Overhead.Recall.Calls != 8 || m.Overhead.Guard.Calls != m.Guard.Calls {
		t.Fatalf("overhead %+v", m.Overhead)
	}
}

func TestNoMemoryDoesNotForget(t *testing.T) {
	w := testWorld()
	res, err := RunForgetting(context.Background(), w, NoMemory{}, DefaultAgentConfig(), ForgettingConfig{
		Seed: 9, Family: "refunds", Others: []string{"booking", "billing"}, LearnEpisodes: 4, EvalEpisodes: 6, UpdatesTarget: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Forgetting != 0 || res.Before != res.After || res.Updates != 5 || res.Intervening != 5 || !res.Proxy || len(res.EvalAfter) != 6 {
		t.Fatalf("forgetting %+v", res)
	}
}

// procMemory recalls one procedure: the reference plan of another task of
// the family, with its literal values.
type procMemory struct {
	NoMemory
	steps []Action
}

func (m procMemory) Recall(context.Context, string, admem.Scope) (RecallResult, error) {
	return RecallResult{Items: []RecallItem{{Kind: ItemProcedure, Steps: m.steps}}}, nil
}

// An agent that always skips aux steps and uses legacy tools stops doing so
// when a recalled procedure shows them.
func TestAgentFollowsRecalledProcedure(t *testing.T) {
	w := testWorld()
	cfg := DefaultAgentConfig()
	cfg.Noise = NoiseRates{Skip: 1, Legacy: 1}
	cfg.Heed = 1
	example, _ := w.NewTask(EpisodeSpec{Index: 2, Family: "deployments", Seed: 77})
	mem := procMemory{steps: actions(example.Plan)}
	spec := EpisodeSpec{Index: 3, Family: "deployments", Seed: 78}
	task, _ := w.NewTask(spec)
	for _, c := range []struct {
		mem  Memory
		want bool
	}{{NoMemory{}, false}, {mem, true}} {
		ep, err := NewAgent(w, c.mem, cfg).Run(context.Background(), task, agentRNG(spec), false)
		if err != nil {
			t.Fatal(err)
		}
		if clean := len(ep.Failures) == 0 && ep.Success; clean != c.want {
			t.Fatalf("%T: success=%v failures=%v", c.mem, ep.Success, ep.Failures)
		}
	}
}

// blockTool blocks every call of one tool, with no advice, and allows the
// rest; it counts the guard calls.
type blockTool struct {
	NoMemory
	tool  string
	calls *int
}

func (m blockTool) Guard(_ context.Context, _ string, _ []admem.Step, c []Action) ([]Verdict, error) {
	*m.calls++
	out := make([]Verdict, len(c))
	for i, a := range c {
		out[i] = Verdict{Decision: Allow}
		if a.Tool == m.tool {
			out[i] = Verdict{Decision: Block, Risk: 0.9}
		}
	}
	return out, nil
}

// An agent whose candidates are all blocked without advice drafts fresh
// ones before taking a blocked call: with Rethink it calls the blocked
// legacy tool far less often than without.
func TestAgentRethinksWhenEveryCandidateIsBlocked(t *testing.T) {
	w := testWorld()
	legacyCalls := func(rethink bool) (calls, guards, rethought int) {
		cfg := DefaultAgentConfig()
		cfg.Noise = NoiseRates{Legacy: 0.8}
		cfg.Rethink = rethink
		for seed := range uint64(20) {
			spec := EpisodeSpec{Index: int(seed), Family: "accounts", Seed: 100 + seed}
			task, err := w.NewTask(spec)
			if err != nil {
				t.Fatal(err)
			}
			ep, err := NewAgent(w, blockTool{tool: "add_user_to_group", calls: &guards}, cfg).Run(context.Background(), task, agentRNG(spec), false)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range ep.Trajectory.Steps {
				if s.Action == "add_user_to_group" {
					calls++
				}
			}
			rethought += ep.Guard.Rethought
		}
		return calls, guards, rethought
	}
	without, g0, r0 := legacyCalls(false)
	with, g1, r1 := legacyCalls(true)
	t.Logf("blocked legacy calls %d / %d, rethought %d / %d times, guard calls %d / %d", without, with, r0, r1, g0, g1)
	if r0 != 0 || r1 == 0 {
		t.Fatalf("rethought %d / %d times", r0, r1)
	}
	if with*2 > without {
		t.Fatalf("blocked legacy calls: %d with rethinking, %d without", with, without)
	}
}
