package sim

import (
	"fmt"
	"testing"
)

const testDriftAt = 50

func testWorld() *World { return NewWorld(Config{Seed: 7, DriftAt: testDriftAt}) }

// eachTask calls fn for tasks of every family, short and long, before and
// after the drift.
func eachTask(t *testing.T, w *World, perCase int, fn func(t *testing.T, task *Task)) {
	t.Helper()
	for _, fam := range w.Families() {
		for _, long := range []bool{false, true} {
			for _, ep := range []int{3, testDriftAt + 3} {
				for s := range perCase {
					spec := EpisodeSpec{Index: ep + s, Family: fam, Long: long, Seed: uint64(1000*s + ep)}
					task, err := w.NewTask(spec)
					if err != nil {
						t.Fatal(err)
					}
					t.Run(fmt.Sprintf("%s/long=%v/ep=%d", fam, long, spec.Index), func(t *testing.T) { fn(t, task) })
				}
			}
		}
	}
}

func TestReferencePlanSolvesTask(t *testing.T) {
	w := testWorld()
	eachTask(t, w, 4, func(t *testing.T, task *Task) {
		env := w.NewEnv(task)
		for i, st := range task.Plan {
			if _, err := env.Step(st.Action); err != nil {
				t.Fatalf("step %d %s: %v", i, st.Action, err)
			}
			if !env.StepDone(i) {
				t.Fatalf("step %d %s did not complete", i, st.Action)
			}
		}
		if !env.Done() {
			t.Fatal("plan done but goal not reached")
		}
	})
}

func TestTaskLengthBands(t *testing.T) {
	w := testWorld()
	eachTask(t, w, 4, func(t *testing.T, task *Task) {
		n := len(task.Plan)
		if n < MinSteps || n > MaxSteps {
			t.Fatalf("plan has %d steps", n)
		}
		if task.Long != (n >= LongMinSteps) {
			t.Fatalf("Long=%v with %d steps", task.Long, n)
		}
	})
}

// Every step of the reference plan is needed: dropping any one of them
// leaves the goal unreached or makes a later step fail, so the plan is a
// shortest solution.
func TestReferencePlanIsMinimal(t *testing.T) {
	w := testWorld()
	eachTask(t, w, 1, func(t *testing.T, task *Task) {
		for drop := range task.Plan {
			env := w.NewEnv(task)
			failed := false
			for i, st := range task.Plan {
				if i == drop {
					continue
				}
				if _, err := env.Step(st.Action); err != nil {
					failed = true
					break
				}
			}
			if !failed && env.Done() {
				t.Fatalf("plan still succeeds without step %d %s", drop, task.Plan[drop].Action)
			}
		}
	})
}

func TestWorldIsDeterministic(t *testing.T) {
	a, b := testWorld(), testWorld()
	spec := EpisodeSpec{Index: 12, Family: "booking", Long: true, Seed: 99}
	ta, _ := a.NewTask(spec)
	tb, _ := b.NewTask(spec)
	if ta.Text != tb.Text || len(ta.Plan) != len(tb.Plan) {
		t.Fatalf("tasks differ: %q vs %q", ta.Text, tb.Text)
	}
	for i := range ta.Plan {
		if !ta.Plan[i].Action.Equal(tb.Plan[i].Action) {
			t.Fatalf("step %d differs: %s vs %s", i, ta.Plan[i].Action, tb.Plan[i].Action)
		}
	}
}

func TestFamiliesAndRulesCoverTheIssue(t *testing.T) {
	w := testWorld()
	if n := len(w.Families()); n < 8 {
		t.Fatalf("%d families, want >= 8", n)
	}
	rules := w.Rules()
	if len(rules) < 30 {
		t.Fatalf("%d rules, want >= 30", len(rules))
	}
	kinds := map[RuleKind]int{}
	ids := map[string]bool{}
	for _, r := range rules {
		kinds[r.Kind]++
		if ids[r.ID] {
			t.Fatalf("duplicate rule id %s", r.ID)
		}
		ids[r.ID] = true
	}
	for _, k := range []RuleKind{RulePrecondition, RuleFormat, RuleDeprecated, RuleOrdering, RuleQuota, RuleContext, RuleDrift} {
		if kinds[k] == 0 {
			t.Errorf("no %s rule", k)
		}
	}
	for _, tool := range w.Tools() {
		for _, a := range tool.Args {
			if KindOf(a.Kind) == nil {
				t.Errorf("%s.%s has unknown kind %s", tool.Name, a.Name, a.Kind)
			}
		}
		if tool.Alt != "" {
			if _, ok := w.Tool(tool.Alt); !ok {
				t.Errorf("%s names unknown alt %s", tool.Name, tool.Alt)
			}
		}
	}
}
