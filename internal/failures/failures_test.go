package failures

import (
	"math"
	"testing"
	"time"

	"github.com/admem/admem"
)

func vec(xs ...float32) []float32 { return unit(xs) }

func TestAssign(t *testing.T) {
	s := New(nil, nil, Options{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := func(ctx []float32, pattern, traj string) admem.LabelledStep {
		return admem.LabelledStep{TrajectoryID: traj, EmbedderID: "e", Context: ctx, ActionPattern: pattern, Failed: true,
			SignatureID: "sig", Signature: "book: Error: x", Tool: "book", ErrorClass: "Error", Template: "x", SeenAt: t0,
			Note: admem.FailureNote{Doing: pattern}}
	}
	near := admem.FailureCluster{ID: "near", EmbedderID: "e", Centroid: vec(1, 0.1, 0), Count: 3, FirstSeenAt: t0, LastSeenAt: t0,
		Actions: map[string]int{"book(a)": 3}, Exemplars: []string{"t1"}}
	far := admem.FailureCluster{ID: "far", EmbedderID: "e", Centroid: vec(0, 0, 1), Count: 1, FirstSeenAt: t0, LastSeenAt: t0}
	other := admem.FailureCluster{ID: "other-space", EmbedderID: "f", Centroid: vec(1, 0, 0), Count: 9}

	cases := []struct {
		name   string
		step   admem.LabelledStep
		same   []admem.FailureCluster
		wantID string
		count  int
	}{
		{"first failure of a signature starts a cluster", step(vec(1, 0, 0), "book(a)", "t2"), nil, "", 1},
		{"close context joins the nearest cluster", step(vec(1, 0, 0), "book(b)", "t2"), []admem.FailureCluster{far, near}, "near", 4},
		{"distant context starts a new cluster", step(vec(0, 1, 0), "book(a)", "t2"), []admem.FailureCluster{near}, "", 1},
		{"clusters of another embedding space are skipped", step(vec(1, 0, 0), "book(a)", "t2"), []admem.FailureCluster{other}, "", 1},
		{"no context: the signature decides", step(make([]float32, 3), "book(a)", "t2"), []admem.FailureCluster{near}, "near", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := s.assign(c.step, c.same)
			if got.ID != c.wantID || got.Count != c.count {
				t.Fatalf("assigned to %q with count %d, want %q with %d", got.ID, got.Count, c.wantID, c.count)
			}
			if got.Actions[c.step.ActionPattern] == 0 || got.Exemplars[len(got.Exemplars)-1] != c.step.TrajectoryID {
				t.Fatalf("step not counted: actions %v exemplars %v", got.Actions, got.Exemplars)
			}
			if got.Note.Text == "" {
				t.Fatal("no rendered note")
			}
			var n float64
			for _, x := range got.Centroid {
				n += float64(x) * float64(x)
			}
			if math.Abs(n-1) > 1e-5 {
				t.Fatalf("centroid norm² %v, want 1", n)
			}
		})
	}
	// The input cluster is not mutated (the store may retry the transaction).
	if near.Count != 3 || near.Actions["book(b)"] != 0 {
		t.Fatalf("assign mutated its input: %+v", near)
	}
}

func TestCoherenceAndTwoMeans(t *testing.T) {
	tight := [][]float32{vec(1, 0.05, 0), vec(1, 0, 0.05), vec(1, 0.02, 0.02)}
	if c := Coherence(tight); c < 0.99 {
		t.Fatalf("coherence of near-identical contexts = %v", c)
	}
	mixed := [][]float32{vec(1, 0, 0), vec(1, 0.1, 0), vec(0.95, 0, 0.1), vec(0, 1, 0), vec(0.1, 1, 0)}
	if c := Coherence(mixed); c > DefaultSplitCoherence+0.2 {
		t.Fatalf("coherence of two directions = %v", c)
	}
	g := TwoMeans(mixed)
	want := []bool{false, false, false, true, true}
	for i := range g {
		if g[i] != want[i] {
			t.Fatalf("groups %v, want %v (the smaller group marked)", g, want)
		}
	}
	if !math.IsNaN(Coherence(nil)) {
		t.Fatal("coherence of nothing should be NaN")
	}
}

func TestLabel(t *testing.T) {
	steps := []admem.Step{{Action: "a", Status: admem.StepOK}, {Action: "b", Status: admem.StepError}, {Action: "c", Status: admem.StepOK}}
	cases := []struct {
		outcome admem.Outcome
		open    bool
		want    []int
	}{
		{admem.OutcomeSuccess, false, []int{0, 1, 2}},
		{admem.OutcomeFailure, false, []int{1}},
		{admem.OutcomePartial, false, []int{1}},
		{admem.OutcomeSuccess, true, []int{1}},
		{admem.OutcomeUnknown, false, []int{1}},
	}
	for _, c := range cases {
		got := Label(admem.Trajectory{Steps: steps, Outcome: c.outcome, Open: c.open})
		if len(got) != len(c.want) {
			t.Fatalf("%q open=%v: %v, want %v", c.outcome, c.open, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("%q open=%v: %v, want %v", c.outcome, c.open, got, c.want)
			}
		}
	}
}

func TestContextTextKeepsRecentSteps(t *testing.T) {
	var steps []admem.Step
	for _, a := range []string{"one", "two", "three", "four", "five"} {
		steps = append(steps, admem.Step{Action: a, Status: admem.StepOK})
	}
	steps[4].Status, steps[4].Error = admem.StepError, "Error: order 123 not found"
	got := ContextText("refund the order", steps)
	want := "refund the order. three(). four(). five() failed: order <NUM> not found"
	if got != want {
		t.Fatalf("ContextText = %q, want %q", got, want)
	}
}
