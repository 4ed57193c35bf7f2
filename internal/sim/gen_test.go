package sim

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// testSeeds derives n world seeds from a base, as the benchmark does: no
// test names a world.
func testSeeds(n int) []uint64 { return WorldSeeds(0x5eed, n) }

// genTasks calls fn for short and long tasks of every family of w, before
// and after its drift.
func genTasks(t *testing.T, w *World, perCase int, fn func(t *testing.T, task *Task)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(w.Seed(), 1))
	for _, fam := range w.Families() {
		for _, long := range []bool{false, true} {
			for _, ep := range []int{3, testDriftAt + 3} {
				for range perCase {
					spec := EpisodeSpec{Index: ep, Family: fam, Long: long, Seed: rng.Uint64()}
					task, err := w.NewTask(spec)
					if err != nil {
						t.Fatalf("%s: %v", w, err)
					}
					t.Run(fmt.Sprintf("%s/long=%v/ep=%d", fam, long, ep), func(t *testing.T) { fn(t, task) })
				}
			}
		}
	}
}

func TestGeneratedReferencePlansWork(t *testing.T) {
	for _, seed := range testSeeds(20) {
		w := Generate(seed, GenConfig{DriftAt: testDriftAt, Transient: -1})
		genTasks(t, w, 3, func(t *testing.T, task *Task) {
			env := w.NewEnv(task)
			seen := map[string]bool{}
			for i, st := range task.Plan {
				if seen[st.Action.String()] {
					t.Fatalf("%s: step %d %s twice in the plan", w, i, st.Action)
				}
				seen[st.Action.String()] = true
				if _, err := env.Step(st.Action); err != nil {
					t.Fatalf("%s: step %d %s: %v\nplan: %v", w, i, st.Action, err, planText(task))
				}
				if !env.StepDone(i) {
					t.Fatalf("%s: step %d %s did not complete", w, i, st.Action)
				}
			}
			if !env.Done() {
				t.Fatal("plan done but goal not reached")
			}
		})
	}
}

func planText(task *Task) string {
	s := ""
	for i, st := range task.Plan {
		s += fmt.Sprintf("\n  %d %s aux=%v", i, st.Action, st.Aux)
	}
	return s
}
