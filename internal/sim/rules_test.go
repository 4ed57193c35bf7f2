package sim

import (
	"strings"
	"testing"
)

// script is a sequence of actions with, at one point, the mistake a rule
// punishes; fix is what the agent does after the error before it carries on.
type script struct {
	before []Action
	bad    Action
	fix    []Action // run after the error
	after  []Action
}

func actions(steps []PlanStep) []Action {
	out := make([]Action, len(steps))
	for i, s := range steps {
		out[i] = s.Action
	}
	return out
}

// mistakeScript writes the rule's mistake into the reference plan of task,
// or reports that the task gives the rule no chance.
func mistakeScript(w *World, r Rule, task *Task) (script, bool) {
	plan := task.Plan
	ref := actions(plan)
	toolIs := func(i int, tool string) bool {
		return plan[i].Action.Tool == tool || w.tools[plan[i].Action.Tool].Alt == tool
	}
	for i := range plan {
		switch r.Mistake.Op {
		case OpFormat:
			if !toolIs(i, r.Tool) {
				continue
			}
			as, _ := w.tools[r.Tool].Arg(r.Mistake.Arg)
			kind := kinds[as.Kind]
			bad := plan[i].Action.Clone()
			bad.Args[as.Name] = kind.Render(otherIndex(kind, bad.Args[as.Name], r), plan[i].Natural[as.Name])
			return script{before: ref[:i], bad: bad, after: ref[i:]}, true
		case OpLegacy:
			alt := w.tools[plan[i].Action.Tool].Alt
			if alt == "" || (r.Tool != alt && r.Tool != plan[i].Action.Tool) {
				continue
			}
			bad := plan[i].Action.Clone()
			bad.Tool = alt
			return script{before: ref[:i], bad: bad, after: ref[i:]}, true
		case OpSkip:
			if plan[i].Rule != r.ID {
				continue
			}
			// Leave the aux step out and carry on until a step fails.
			rest := append(append([]Action{}, ref[:i]...), ref[i+1:]...)
			return script{before: rest, fix: []Action{ref[i]}}, true
		case OpSwap:
			if i+1 >= len(plan) || !toolIs(i, r.Mistake.Tool) || !toolIs(i+1, r.Tool) {
				continue
			}
			return script{before: ref[:i], bad: ref[i+1], fix: []Action{ref[i]}, after: ref[i+1:]}, true
		case OpRepeat:
			if !toolIs(i, r.Tool) {
				continue
			}
			return script{before: ref[:i+1], bad: ref[i], after: ref[i+1:]}, true
		case OpContext:
			as, _ := w.tools[r.Tool].Arg(r.Mistake.Arg)
			if !toolIs(i, r.Tool) || plan[i].Action.Args[as.Name] == as.Default {
				continue
			}
			bad := plan[i].Action.Clone()
			bad.Args[as.Name] = as.Default
			return script{before: ref[:i], bad: bad, after: ref[i:]}, true
		}
	}
	return script{}, false
}

// otherIndex picks a wrong format: the pre-drift one after a drift, the
// post-drift one before it, else the first non-canonical one.
func otherIndex(k *Kind, canonical string, r Rule) int {
	c := k.Detect(canonical)
	if r.Kind == RuleDrift {
		if c == 0 {
			return 1
		}
		return 0
	}
	if c == 0 {
		return 1
	}
	return 0
}

// play runs a script. It returns the first error, and whether the task was
// solved once the fix was applied.
func play(w *World, task *Task, s script) (*StepError, bool) {
	env := w.NewEnv(task)
	var first *StepError
	var failedAt Action
	for _, a := range s.before {
		if _, err := env.Step(a); err != nil {
			first, failedAt = err, a
			break
		}
	}
	if first == nil && s.bad.Tool != "" {
		_, first = env.Step(s.bad)
	}
	if first == nil || first.Fatal {
		return first, false
	}
	for _, a := range s.fix {
		if _, err := env.Step(a); err != nil {
			return first, false
		}
	}
	if failedAt.Tool != "" {
		// A skipped precondition: retry the failed step and finish the plan.
		for i, a := range task.Plan {
			if !env.StepDone(i) {
				if _, err := env.Step(a.Action); err != nil {
					return first, false
				}
			}
		}
		return first, env.Done()
	}
	for _, a := range s.after {
		if _, err := env.Step(a); err != nil {
			return first, false
		}
	}
	return first, env.Done()
}

// Every hidden rule fires on the mistake it punishes, answers with a message
// that carries numbers (so signatures need normalising), and has a fix: the
// same task succeeds once the agent writes the right format, uses the
// current tool, does the missing step or keeps the order. Drift rules must
// fire, with different messages, both before and after the drift.
func TestEveryRuleFiresAndHasAFix(t *testing.T) {
	w := testWorld()
	for _, r := range w.Rules() {
		t.Run(r.ID, func(t *testing.T) {
			phases := []int{3}
			if r.Kind == RuleDrift {
				phases = []int{3, testDriftAt + 3}
			}
			var msgs []string
			for _, ep := range phases {
				fired, fixed := false, false
				for seed := uint64(0); seed < 200 && !(fired && fixed); seed++ {
					task, err := w.NewTask(EpisodeSpec{Index: ep, Family: r.Family, Long: seed%3 == 0, Seed: seed})
					if err != nil {
						t.Fatal(err)
					}
					s, ok := mistakeScript(w, r, task)
					if !ok {
						continue
					}
					got, solved := play(w, task, s)
					if got == nil || got.Rule != r.ID {
						continue
					}
					if !fired {
						msgs = append(msgs, got.Message)
					}
					fired = true
					if !strings.ContainsAny(got.Message, "0123456789") {
						t.Errorf("message has no number to normalise: %q", got.Message)
					}
					if r.Fatal {
						fixed = got.Fatal
					} else {
						fixed = solved
					}
				}
				if !fired {
					t.Fatalf("episode %d: rule never fired", ep)
				}
				if !fixed {
					t.Fatalf("episode %d: the fix never solved the task", ep)
				}
			}
			if len(msgs) == 2 && DefaultSignature(r.Tool, msgs[0]) == DefaultSignature(r.Tool, msgs[1]) {
				t.Errorf("drift did not change the error: %q", msgs[0])
			}
			t.Logf("%s (%s): %s", r.ID, r.Kind, strings.Join(msgs, " | "))
		})
	}
}
