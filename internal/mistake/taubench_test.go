package mistake

import (
	"testing"
	"time"

	"github.com/admem/admem/internal/datafile"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/taubench"
)

// TestTaubenchReplay learns real agents' logs trial by trial and asks the
// model about every tool call of the next trial, in its situation, before
// it is made: the errors that repeat a signature earlier trials of the same
// task showed must be flagged (p ≥ 0.5), and few calls that worked may be.
// It is the in-process twin of make bench-taureplay ARGS=--guard (whose
// figures are measured through the API), run on every trial in turn.
func TestTaubenchReplay(t *testing.T) {
	t.Parallel()
	eps, err := taubench.Load(datafile.Path(t, "TAUBENCH_FILE", "taubench/airline-dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	maxTrial := 0
	for _, e := range eps {
		maxTrial = max(maxTrial, e.Trial)
	}
	var repeats, flaggedRepeats, oks, flaggedOKs int
	var lastRepeats, lastFlagged, lastOKs, lastFP int
	for k := 0; k <= maxTrial; k++ {
		b := NewBook()
		seen := map[string]map[string]bool{} // task → signature ids of the other trials
		for _, e := range eps {
			if e.Trial == k {
				continue
			}
			b.LearnClosed(e.Trajectory, nil, time.Unix(0, 0))
			b.Reset()
			for _, s := range e.Trajectory.FailedSteps() {
				if seen[e.TaskID] == nil {
					seen[e.TaskID] = map[string]bool{}
				}
				seen[e.TaskID][signature.FromStep(s).ID()] = true
			}
		}
		for _, e := range eps {
			if e.Trial != k {
				continue
			}
			tr := e.Trajectory
			for i, st := range tr.Steps {
				a := b.Assess(&Situation{Task: tr.Task, Steps: tr.Steps[:i]}, CallOf(st))
				flagged := a.Risk >= 0.5
				last := k == maxTrial
				switch {
				case st.Failed() && seen[e.TaskID][signature.FromStep(st).ID()]:
					repeats++
					if flagged {
						flaggedRepeats++
					}
					if last {
						lastRepeats++
						if flagged {
							lastFlagged++
						}
					}
				case !st.Failed():
					oks++
					if flagged {
						flaggedOKs++
					}
					if last {
						lastOKs++
						if flagged {
							lastFP++
						}
					}
				}
			}
		}
	}
	recall := float64(flaggedRepeats) / float64(max(repeats, 1))
	fpr := float64(flaggedOKs) / float64(max(oks, 1))
	t.Logf("every trial held out in turn: repeat errors flagged %d/%d (%.3f), successful calls flagged %d/%d (%.3f)",
		flaggedRepeats, repeats, recall, flaggedOKs, oks, fpr)
	t.Logf("the last trial held out: repeat errors flagged %d/%d, successful calls flagged %d/%d", lastFlagged, lastRepeats, lastFP, lastOKs)
	// A regression guard, below the target for the notes alone:
	// the benchmark (with the adapter) is where the target is measured.
	if repeats == 0 || recall < 0.7 || fpr > 0.05 {
		t.Fatalf("recall on repeat errors %.3f (want ≥ 0.7), false-positive rate %.3f (want ≤ 0.05)", recall, fpr)
	}
}
