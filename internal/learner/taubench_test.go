package learner

import (
	"strings"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/taubench"
	"github.com/admem/admem/internal/testenv"
)

func loadAirline(t *testing.T) []taubench.Episode {
	t.Helper()
	eps, err := taubench.Load(testenv.SharedData(t, "TAUBENCH_FILE", "taubench/airline-dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// TestTaubenchMistakes replays the airline log trial by trial, as the memory
// would see it: notes distilled from trials before k must cover every error
// of trial k whose signature those trials already showed on the same task.
func TestTaubenchMistakes(t *testing.T) {
	t.Parallel()
	eps := loadAirline(t)
	maxTrial := 0
	for _, e := range eps {
		maxTrial = max(maxTrial, e.Trial)
	}
	var later, repeats, covered, withFix int
	for k := 1; k <= maxTrial; k++ {
		var past []admem.Trajectory
		pastSigs := map[string]map[string]bool{} // task → signature id
		for _, e := range eps {
			if e.Trial < k {
				past = append(past, e.Trajectory)
				for _, s := range e.Trajectory.FailedSteps() {
					if pastSigs[e.TaskID] == nil {
						pastSigs[e.TaskID] = map[string]bool{}
					}
					pastSigs[e.TaskID][signature.FromStep(s).ID()] = true
				}
			}
		}
		notes := DistillMistakes(past, MistakeOptions{})
		byID := map[string]MistakeNote{}
		for _, n := range notes {
			byID[n.ID] = n
		}
		for _, e := range eps {
			if e.Trial != k {
				continue
			}
			for _, s := range e.Trajectory.FailedSteps() {
				later++
				id := signature.FromStep(s).ID()
				if !pastSigs[e.TaskID][id] {
					continue
				}
				repeats++
				n, ok := byID[id]
				if !ok {
					t.Errorf("trial %d task %s: repeated %s has no note", k, e.TaskID, id)
					continue
				}
				sameTask := false
				for _, tid := range n.TrajectoryIDs {
					sameTask = sameTask || strings.HasPrefix(tid, "taubench-"+e.TaskID+"-")
				}
				if !sameTask {
					t.Errorf("note %s does not link the earlier trial of task %s: %v", id, e.TaskID, n.TrajectoryIDs)
				}
				covered++
				if len(n.Corrections) > 0 {
					withFix++
				}
			}
		}
	}
	t.Logf("errors in trials 2..%d: %d; repeating a signature seen earlier on the same task: %d (%.1f%%); covered by a note: %d; note has a correction: %d",
		maxTrial+1, later, repeats, 100*float64(repeats)/float64(max(later, 1)), covered, withFix)
	if repeats == 0 || covered != repeats {
		t.Errorf("covered %d of %d repeats", covered, repeats)
	}

	all := make([]admem.Trajectory, len(eps))
	for i, e := range eps {
		all[i] = e.Trajectory
	}
	notes := DistillMistakes(all, MistakeOptions{})
	var failed int
	for _, e := range eps {
		failed += len(e.Trajectory.FailedSteps())
	}
	sum := 0
	for _, n := range notes {
		sum += n.Count
		if n.Count != countIn(all, n.ID) {
			t.Errorf("note %s count %d, want %d", n.ID, n.Count, countIn(all, n.ID))
		}
		t.Log(n.Render())
		for _, c := range n.Corrections {
			t.Logf("   %s [%s, %d, from %s]", c.Text, c.Kind, c.Support, c.From)
		}
	}
	if sum != failed {
		t.Errorf("notes count %d failed steps, the log has %d", sum, failed)
	}
}

func countIn(trajs []admem.Trajectory, id string) int {
	n := 0
	for _, t := range trajs {
		for _, s := range t.FailedSteps() {
			if signature.FromStep(s).ID() == id {
				n++
			}
		}
	}
	return n
}

func TestTaubenchProcedures(t *testing.T) {
	t.Parallel()
	eps := loadAirline(t)
	all := make([]admem.Trajectory, len(eps))
	successTasks := map[string]bool{}
	for i, e := range eps {
		all[i] = e.Trajectory
		if e.Trajectory.Outcome == admem.OutcomeSuccess {
			successTasks[e.TaskID] = true
		}
	}
	procs := DistillProcedures(all, ProcedureOptions{})
	t.Logf("%d procedures from %d tasks with a success", len(procs), len(successTasks))
	if len(procs) == 0 || len(procs) > len(successTasks) {
		t.Errorf("%d procedures for %d solved tasks", len(procs), len(successTasks))
	}
	for _, p := range procs {
		if len(p.Script) == 0 || len(p.Script) != len(p.Steps) || p.Version != 1 {
			t.Errorf("%s: %d script steps, %d verbatim steps, version %d", p.ID, len(p.Script), len(p.Steps), p.Version)
		}
		for _, s := range p.Script {
			if s.Tool == "think" || s.Support < 1 || s.Support > p.Successes() {
				t.Errorf("%s: step %s support %d of %d", p.ID, s.Tool, s.Support, p.Successes())
			}
		}
		text := p.Render()
		for _, name := range p.Params {
			if !strings.Contains(text, "{"+name+"}") {
				t.Errorf("%s: param %s not in rendering", p.ID, name)
			}
		}
		t.Logf("%s sources %v\n%s", p.ID, p.Sources, text)
	}
}
