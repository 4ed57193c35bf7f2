package sim

import (
	"context"
	"strings"
	"testing"

	"github.com/admem/admem"
)

func judged(step int, tool string, d Decision, fails bool, errText string) Judged {
	return Judged{Step: step, Tool: tool, Decision: d, Fails: fails, Error: errText}
}

func TestGuardFPR(t *testing.T) {
	eps := []EpisodeResult{{Judged: []Judged{
		judged(0, "a", Allow, false, ""),
		judged(0, "b", Warn, false, ""),
		judged(1, "a", Block, false, ""),
		judged(1, "c", Allow, false, ""),
		judged(2, "d", Block, true, "bad id 12"), // would fail: not in the FPR
		judged(2, "e", "", false, ""),            // no verdict is no flag
	}}}
	q := ComputeQuality(eps, nil)
	if q.GuardFPR.N != 5 || q.GuardFPR.Hits != 2 {
		t.Fatalf("FPR %+v, want 2 of 5", q.GuardFPR)
	}
}

func TestGuardTPRRepeat(t *testing.T) {
	eps := []EpisodeResult{
		{Recorded: true, Failures: []FailedStep{{Step: 3, Tool: "a", Error: "bad id 12"}, {Step: 4, Tool: "z", Error: "503 down", Transient: true}}},
		{Recorded: false, Failures: []FailedStep{{Step: 0, Tool: "b", Error: "quota 1"}}},
		{
			Recorded: true,
			Failures: []FailedStep{{Step: 2, Tool: "c", Error: "locked 7"}},
			Judged: []Judged{
				judged(0, "a", Warn, true, "bad id 99"),    // seen in a recorded episode (digits masked): flagged
				judged(0, "b", Warn, true, "quota 2"),      // seen only in an unrecorded episode: not a repeat
				judged(1, "c", Warn, true, "locked 8"),     // fails at step 2 of this episode: not yet seen
				judged(3, "c", Allow, true, "locked 9"),    // after it: a repeat the guard missed
				judged(3, "z", Warn, true, "503 down"),     // a transient fault is never seen as a mistake
				judged(4, "a", Allow, false, ""),           // would work: not a repeat
				judged(4, "a", Block, true, "bad thing 1"), // another signature
			},
		},
	}
	q := ComputeQuality(eps, nil)
	if q.GuardTPRRepeat.N != 2 || q.GuardTPRRepeat.Hits != 1 {
		t.Fatalf("TPR on repeats %+v, want 1 of 2", q.GuardTPRRepeat)
	}
}

func TestTransientWarned(t *testing.T) {
	r := func(d Decision) Judged { j := judged(1, "a", d, false, ""); j.Retry = true; return j }
	eps := []EpisodeResult{{Judged: []Judged{r(Allow), r(Warn), r(Block), r(Allow), judged(2, "a", Warn, false, "")}}}
	q := ComputeQuality(eps, nil)
	if q.TransientWarned.N != 4 || q.TransientWarned.Hits != 2 {
		t.Fatalf("transient warned %+v, want 2 of 4", q.TransientWarned)
	}
}

func TestBadSuggestions(t *testing.T) {
	eps := []EpisodeResult{{Taken: []TakenStep{
		{Pick: PickSuggested},                                 // good
		{Pick: PickSuggested, Failed: true},                   // failed: bad
		{Pick: PickSuggested, Failed: true, Transient: true},  // a transient fault is not the suggestion's fault
		{Pick: PickSuggested, Needless: true},                 // a side effect nobody needed: bad
		{Pick: PickSuggested, Foreign: true},                  // another task's value: bad
		{Pick: PickAllowed, Failed: true},                     // no suggestion
		{Pick: PickLeastRisky, Needless: true, Foreign: true}, // no suggestion
		{Pick: PickSuggested, Failed: true, Needless: true},   // bad once
		{Pick: PickSuggested, Transient: true, Failed: true},  // good
		{Pick: PickSwitched},                                  // no suggestion
	}}}
	q := ComputeQuality(eps, nil)
	if q.BadSuggestions.N != 7 || q.BadSuggestions.Hits != 4 {
		t.Fatalf("bad suggestions %+v, want 4 of 7", q.BadSuggestions)
	}
}

func TestForeignLiteralsCount(t *testing.T) {
	s := func(foreign bool) Judged {
		j := judged(0, "a", Warn, true, "x")
		j.Suggested, j.Foreign = true, foreign
		return j
	}
	eps := []EpisodeResult{{Judged: []Judged{s(true), s(false), s(true), judged(0, "a", Allow, false, "")}}, {Judged: []Judged{s(true)}}}
	q := ComputeQuality(eps, nil)
	if q.ForeignLiterals != 3 || q.Suggestions != 4 {
		t.Fatalf("foreign %d of %d suggestions, want 3 of 4", q.ForeignLiterals, q.Suggestions)
	}
}

// Literals tells another task's or user's values, in any format, from the
// task's own and from what the request holds.
func TestLiteralsCarries(t *testing.T) {
	w := Generate(testSeeds(1)[0], GenConfig{})
	fam := w.Families()[0]
	var tasks []*Task
	for i := range 2 {
		task, err := w.NewTask(EpisodeSpec{Index: i, Family: fam, Seed: uint64(100 + i)})
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, task)
	}
	mine, other := tasks[0], tasks[1]
	lits := NewLiterals(w)
	lits.Add(mine)
	lits.Add(other)
	// an id of each task: the main entity's, the first key of the plan
	idOf := func(task *Task) (string, string) {
		for k, v := range task.Plan[0].Natural {
			if as, _ := w.tools[task.Plan[0].Action.Tool].Arg(k); as.Key {
				return k, v
			}
		}
		t.Fatal("no key")
		return "", ""
	}
	arg, myID := idOf(mine)
	_, otherID := idOf(other)
	var otherUser string
	for _, u := range w.Users() {
		if u.ID != mine.User.ID && u.ID != other.User.ID {
			otherUser = u.ID
			break
		}
	}
	_, bare, _ := strings.Cut(otherID, "-")
	tool := mine.Plan[0].Action.Tool
	for _, c := range []struct {
		name    string
		v       string
		request string
		want    bool
	}{
		{"own id", myID, "", false},
		{"other task's id", otherID, "", true},
		{"other task's id, another format", bare, "", true},
		{"other task's id in the request", otherID, "earlier step: x(" + arg + "=" + otherID + ")", false},
		{"in the request in another format", otherID, "x(" + arg + "=" + strings.ToLower(otherID) + ")", false},
		{"another user's id", otherUser, "", true},
		{"own user's id", mine.User.ID, "", false},
		{"placeholder", "{order}", "", false},
		{"unknown value", "XYZ-000001", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Action{Tool: tool, Args: map[string]string{arg: c.v}}
			if got := lits.Carries(s, Action{Tool: tool}, mine, c.request); got != c.want {
				t.Fatalf("Carries(%s) = %v, want %v", s, got, c.want)
			}
		})
	}
}

// alwaysWarn flags every candidate and suggests a call of another task.
type alwaysWarn struct {
	NoMemory
	suggestion *Action
}

func (m alwaysWarn) Guard(_ context.Context, _ string, _ []admem.Step, cands []Action) ([]Verdict, error) {
	out := make([]Verdict, len(cands))
	for i := range out {
		out[i] = Verdict{Decision: Warn, Risk: 0.5, Suggestion: m.suggestion}
	}
	return out, nil
}

// Played end to end, a guard that flags everything has FPR 1 and warns
// every transient retry; the oracle has FPR 0 and warns none; a guard that
// suggests another task's call leaks its values and its followed
// suggestions are bad.
func TestQualityOfKnownGuards(t *testing.T) {
	seed := testSeeds(2)[1]
	w := Generate(seed, GenConfig{Transient: 0.2})
	sched := Schedule(seed, 12, w.Families(), 0.35)
	foreignTask, err := w.NewTask(EpisodeSpec{Index: 999, Family: sched[0].Family, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	lits := NewLiterals(w)
	lits.Add(foreignTask)
	leak := foreignTask.Plan[len(foreignTask.Plan)-1].Action.Clone()
	for _, c := range []struct {
		name         string
		mem          Memory
		fpr, warned  float64
		foreign, bad bool
	}{
		{"always warn", alwaysWarn{}, 1, 1, false, false},
		{"oracle", &OracleMemory{}, 0, 0, false, false},
		{"leaky", alwaysWarn{suggestion: &leak}, 1, 1, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			eps, err := Run(context.Background(), w, c.mem, sched, RunConfig{Agent: DefaultAgentConfig(), Literals: lits})
			if err != nil {
				t.Fatal(err)
			}
			q := ComputeMetrics(eps, MetricsConfig{}).Quality
			if q.GuardFPR.N == 0 || q.GuardFPR.Rate != c.fpr {
				t.Errorf("FPR %+v, want %v", q.GuardFPR, c.fpr)
			}
			if q.TransientWarned.N == 0 || q.TransientWarned.Rate != c.warned {
				t.Errorf("transient warned %+v, want %v", q.TransientWarned, c.warned)
			}
			if (q.ForeignLiterals > 0) != c.foreign {
				t.Errorf("%d foreign literals", q.ForeignLiterals)
			}
			if (q.BadSuggestions.Hits > 0) != c.bad {
				t.Errorf("bad suggestions %+v", q.BadSuggestions)
			}
		})
	}
}

// Transient faults are no mistakes: RMR leaves them out.
func TestRMRLeavesTransientFaultsOut(t *testing.T) {
	eps := []EpisodeResult{
		{Recorded: true, Failures: []FailedStep{{Tool: "a", Error: "503", Transient: true}, {Tool: "b", Error: "bad 1"}}},
		{Recorded: true, Failures: []FailedStep{{Tool: "a", Error: "503", Transient: true}, {Tool: "b", Error: "bad 2"}, {Tool: "c", Error: "x"}}},
	}
	AnnotateHeld(eps, nil)
	m := ComputeMetrics(eps, MetricsConfig{})
	if m.RMR.N != 3 || m.RMR.Hits != 1 || m.TransientSteps != 2 || m.FailedSteps != 5 {
		t.Fatalf("RMR %+v, transient %d, failed %d: want 1 of 3, 2, 5", m.RMR, m.TransientSteps, m.FailedSteps)
	}
}

func TestPartOf(t *testing.T) {
	for _, c := range []struct {
		part, whole string
		want        bool
	}{
		{"825", "5776", true},        // 5776 in 7 parts, rounded down
		{"614.10", "1228.21", true},  // in 2 parts, to the cent
		{"614.10", "1228.20", true},  // exactly
		{"600", "1228", false},       // not a part to the last digit
		{"1228", "1228", false},      // the whole is no part
		{"12.5", "abc", false},       // not a number
		{"0", "10", false},           // no part is zero
		{"333.33", "1000.00", true},  // thirds
		{"333.30", "1000.00", false}, // off by more than the unit per part
	} {
		if got := partOf(c.part, c.whole); got != c.want {
			t.Errorf("partOf(%s, %s) = %v, want %v", c.part, c.whole, got, c.want)
		}
	}
}
