package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/admem/admem"
)

// flaggingMemory warns about candidates at random, suggesting the plan's
// next call for some of them, and blocks every call of one tool.
type flaggingMemory struct {
	NoMemory
	env     *Env
	rng     *rand.Rand
	p       float64 // share of candidates flagged
	suggest float64 // share of flagged candidates given the plan's call
}

func (m *flaggingMemory) Begin(env *Env) { m.env = env }

func (m *flaggingMemory) Guard(_ context.Context, _ string, _ []admem.Step, cands []Action) ([]Verdict, error) {
	out := make([]Verdict, len(cands))
	for i := range cands {
		out[i] = Verdict{Decision: Allow, Risk: 0.1}
		if m.rng.Float64() >= m.p {
			continue
		}
		out[i] = Verdict{Decision: Warn, Risk: 0.2 + 0.7*m.rng.Float64()}
		if m.rng.Float64() < m.suggest {
			if next, ok := m.env.NextCall(); ok {
				out[i].Suggestion = &next
			}
		}
	}
	return out, nil
}

func cautiousWorld() (*World, []EpisodeSpec) {
	seed := testSeeds(1)[0]
	w := Generate(seed, GenConfig{DriftAt: 10})
	return w, Schedule(seed, 24, w.Families(), 0.35)
}

// The cautious agent takes only calls guard allowed or guard's own
// suggestions; the default agent also takes flagged calls.
func TestCautiousAgentTakesOnlyAllowedCallsOrSuggestions(t *testing.T) {
	w, sched := cautiousWorld()
	for _, cautious := range []bool{false, true} {
		cfg := DefaultAgentConfig()
		cfg.Cautious = cautious
		mem := &flaggingMemory{rng: rand.New(rand.NewPCG(1, 2)), p: 0.5, suggest: 0.5}
		eps, err := Run(context.Background(), w, mem, sched, RunConfig{Agent: cfg})
		if err != nil {
			t.Fatal(err)
		}
		flaggedTaken, stops := 0, 0
		for _, e := range eps {
			for i, tk := range e.Taken {
				switch tk.Pick {
				case PickAllowed, PickSwitched:
					if tk.Verdict.Decision != Allow {
						t.Fatalf("step %d picked %s with decision %s", i, tk.Pick, tk.Verdict.Decision)
					}
				case PickSuggested:
				default:
					flaggedTaken++
				}
			}
			if e.End == EndCautious {
				stops++
				if e.Success {
					t.Fatal("a cautious stop counted as success")
				}
			}
		}
		switch {
		case cautious && (flaggedTaken > 0 || stops == 0):
			t.Errorf("cautious agent took %d flagged calls and stopped %d times: want none and some", flaggedTaken, stops)
		case !cautious && (flaggedTaken == 0 || stops > 0):
			t.Errorf("default agent took %d flagged calls and stopped %d times: want some and none", flaggedTaken, stops)
		}
	}
}

// With a guard that flags everything and suggests nothing, the cautious
// agent gives up at once; with one that suggests the plan's call, it takes
// the suggestion.
func TestCautiousAgentGivesUpOnlyWithoutUsableSuggestion(t *testing.T) {
	w, sched := cautiousWorld()
	for _, c := range []struct {
		suggest float64
		end     string
	}{{0, EndCautious}, {1, EndGoal}} {
		t.Run(fmt.Sprint("suggest=", c.suggest), func(t *testing.T) {
			mem := &flaggingMemory{rng: rand.New(rand.NewPCG(3, 4)), p: 1, suggest: c.suggest}
			task, err := w.NewTask(sched[0])
			if err != nil {
				t.Fatal(err)
			}
			ep, err := NewAgent(w, mem, CautiousAgentConfig()).Run(context.Background(), task, agentRNG(sched[0]), false)
			if err != nil {
				t.Fatal(err)
			}
			if ep.End != c.end && !(c.end == EndGoal && ep.End == EndBudget) {
				t.Fatalf("ended %s after %d steps, want %s", ep.End, len(ep.Trajectory.Steps), c.end)
			}
			if c.suggest == 0 && len(ep.Trajectory.Steps) != 0 {
				t.Fatalf("took %d steps before giving up", len(ep.Trajectory.Steps))
			}
			if c.suggest == 1 && ep.Guard.Suggested == 0 {
				t.Fatal("took no suggestion")
			}
		})
	}
}

// Without flags the cautious agent is the default agent.
func TestCautiousAgentWithoutFlagsIsTheDefault(t *testing.T) {
	w, sched := cautiousWorld()
	a, err := Run(context.Background(), w, NoMemory{}, sched, RunConfig{Agent: DefaultAgentConfig()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), w, NoMemory{}, sched, RunConfig{Agent: CautiousAgentConfig()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if fmt.Sprint(a[i].Trajectory.Steps) != fmt.Sprint(b[i].Trajectory.Steps) {
			t.Fatalf("episode %d differs", i)
		}
	}
}
