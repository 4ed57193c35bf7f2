package guard

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem"
)

func TestJaccard(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"book(mode=fast)", "book(mode=fast)", 1},
		{"book(mode=fast, seat=<N>)", "book(mode=fast, seat=<N>)", 1},
		{"book(mode=fast, seat=<N>)", "book(mode=safe, seat=<N>)", 1.0 / 3},
		{"book(mode=fast)", "book(cabin=economy)", 0},
		{"book()", "book()", 1},
		{"book(items=[a, b])", "book(items=[a, c])", 0.5},
	}
	for _, c := range cases {
		if got := ActionJaccard(c.a, c.b); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("jaccard(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestMatch(t *testing.T) {
	cl := &admem.FailureCluster{Actions: map[string]int{"book(mode=fast)": 2}, Centroid: []float32{1, 0}, Note: admem.FailureNote{Doing: "book(mode=fast)"}}
	cases := []struct {
		name    string
		pattern string
		ctx     []float32
		want    float64
	}{
		{"same action, same context", "book(mode=fast)", []float32{1, 0}, 1},
		{"same action, orthogonal context", "book(mode=fast)", []float32{0, 1}, 0.6},
		{"same action, opposite context counts as none", "book(mode=fast)", []float32{-1, 0}, 0.6},
		{"same action, no context embedding", "book(mode=fast)", nil, 0.8},
		{"other arguments, same context", "book(mode=safe)", []float32{1, 0}, 0.4},
	}
	for _, c := range cases {
		if got := match(c.pattern, c.ctx, cl); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: match = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestJudgeDecisions(t *testing.T) {
	cluster := func(count int, correction string) admem.FailureCluster {
		return admem.FailureCluster{ID: "c1", Tool: "book", SignatureID: "s", Count: count, Actions: map[string]int{"book(mode=fast)": count},
			Centroid: []float32{1, 0}, Note: admem.FailureNote{Text: "note", Correction: correction, Do: "book(mode=safe)"}}
	}
	note := Note{ID: "n1", SignatureID: "s2", Tool: "book", Doing: "book(mode=fast)", Count: 1, Correction: "do safe", Do: "book(mode=safe)"}
	def := Thresholds{Warn: 0.5, Block: 0.85}
	f := func(x float64) *float64 { return &x }
	fast, safe := map[string]any{"mode": "fast"}, map[string]any{"mode": "safe"}
	same, other := []float32{1, 0}, []float32{0, 1}
	cases := []struct {
		name       string
		args       map[string]any
		ctx        []float32
		adapter    *float64
		clusters   []admem.FailureCluster
		notes      []Note
		th         Thresholds
		want       Decision
		suggestion bool
		reasons    int
		retried    string
	}{
		{"nothing known", fast, same, nil, nil, nil, def, Allow, false, 0, ""},
		{"one failure of the same action in the same context warns", fast, same, nil, []admem.FailureCluster{cluster(1, "do safe")}, nil, def, Warn, true, 1, ""},
		{"many failures in the same context block", fast, same, nil, []admem.FailureCluster{cluster(20, "")}, nil, def, Block, false, 1, ""},
		{"same action in another context only warns", fast, other, nil, []admem.FailureCluster{cluster(20, "")}, nil, def, Warn, false, 1, ""},
		{"tenant thresholds block earlier", fast, other, nil, []admem.FailureCluster{cluster(20, "")}, nil, Thresholds{Warn: 0.3, Block: 0.55}, Block, false, 1, ""},
		{"other arguments are allowed", safe, same, nil, []admem.FailureCluster{cluster(20, "do safe")}, nil, def, Allow, false, 0, ""},
		{"a note not yet clustered warns", fast, same, nil, nil, []Note{note}, def, Warn, true, 1, ""},
		{"a note of a cited signature is not cited twice", fast, same, nil, []admem.FailureCluster{cluster(2, "")}, []Note{{ID: "n2", SignatureID: "s", Tool: "book", Doing: "book(mode=fast)", Count: 2}}, def, Warn, false, 1, ""},
		{"the adapter alone can block", safe, same, f(0.9), nil, nil, def, Block, false, 0, ""},
		{"a low adapter risk does not hide a known mistake", fast, same, f(0.05), []admem.FailureCluster{cluster(1, "do safe")}, nil, def, Warn, true, 1, ""},
		{"one known failure in another context is allowed", fast, other, nil, []admem.FailureCluster{cluster(1, "")}, nil, def, Allow, false, 1, ""},
		{"the call that just failed with it, repeated, matches fully", fast, other, nil, []admem.FailureCluster{cluster(1, "")}, nil, def, Warn, false, 1, "s"},
		{"a repeat of a call that failed with another signature does not", fast, other, nil, []admem.FailureCluster{cluster(1, "")}, nil, def, Allow, false, 1, "s9"},
		{"a note of the repeated call's failure matches fully", safe, same, nil, nil, []Note{note}, def, Warn, true, 1, "s2"},
		{"a cluster without a correction borrows its note's", fast, same, nil, []admem.FailureCluster{cluster(1, "")}, []Note{{ID: "n3", SignatureID: "s", Tool: "book", Doing: "book(mode=fast)", Count: 1, Correction: "do safe", Do: "book(mode=safe)"}}, def, Warn, true, 1, ""},
		{"a note of another tool lends nothing", fast, same, nil, []admem.FailureCluster{cluster(1, "")}, []Note{{ID: "n4", SignatureID: "s", Tool: "hotel", Doing: "hotel(mode=fast)", Count: 1, Correction: "do safe", Do: "hotel(mode=safe)"}}, def, Warn, false, 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := judge(Candidate{Tool: "book", Args: c.args}, c.ctx, c.adapter, c.clusters, c.notes, c.th, c.retried)
			if v.Decision != c.want || (v.Suggestion != nil) != c.suggestion || len(v.Reasons) != c.reasons {
				t.Fatalf("verdict %+v (suggestion %+v), want %s, suggestion=%v, %d reasons", v, v.Suggestion, c.want, c.suggestion, c.reasons)
			}
			if v.Risk < 0 || v.Risk > 1 || (c.adapter != nil && v.Risk < *c.adapter) {
				t.Fatalf("risk %v", v.Risk)
			}
		})
	}
}

func TestStaleCorrectionGivesWay(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cl := func(id, sig string, first, last time.Time, ctx []float32, do string) admem.FailureCluster {
		return admem.FailureCluster{ID: id, Tool: "book", SignatureID: sig, Count: 5, Actions: map[string]int{"book(mode=fast)": 5},
			Centroid: ctx, FirstSeenAt: first, LastSeenAt: last, Note: admem.FailureNote{Correction: "do " + do, Do: do}}
	}
	def := Thresholds{Warn: 0.5, Block: 0.85}
	fast := map[string]any{"mode": "fast"}
	closer, farther := []float32{1, 0}, []float32{0.8, 0.6}
	cases := []struct {
		name     string
		clusters []admem.FailureCluster
		want     string
	}{
		{"the closer match wins while both keep failing", []admem.FailureCluster{
			cl("old", "s1", t0, t0.Add(10*time.Hour), closer, "book(mode=safe)"),
			cl("new", "s2", t0.Add(5*time.Hour), t0.Add(10*time.Hour), farther, "book(mode=slow)")}, "book(mode=safe)"},
		{"failures that stopped before another's began give way", []admem.FailureCluster{
			cl("old", "s1", t0, t0.Add(time.Hour), closer, "book(mode=safe)"),
			cl("new", "s2", t0.Add(5*time.Hour), t0.Add(10*time.Hour), farther, "book(mode=slow)")}, "book(mode=slow)"},
	}
	for _, c := range cases {
		v := judge(Candidate{Tool: "book", Args: fast}, closer, nil, c.clusters, nil, def, "")
		if v.Suggestion == nil || v.Suggestion.Action != c.want {
			t.Errorf("%s: suggestion %+v, want %s", c.name, v.Suggestion, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Request{Task: "t", Candidates: []Candidate{{Tool: "a"}}}
	many := make([]Candidate, MaxCandidates+1)
	for i := range many {
		many[i].Tool = "a"
	}
	cases := []struct {
		name  string
		req   Request
		field string
	}{
		{"valid", ok, ""},
		{"no task", Request{Candidates: ok.Candidates}, "task"},
		{"blank task", Request{Task: "  ", Candidates: ok.Candidates}, "task"},
		{"huge task", Request{Task: strings.Repeat("x", MaxTaskLen+1), Candidates: ok.Candidates}, "task"},
		{"no candidates", Request{Task: "t"}, "candidates"},
		{"too many candidates", Request{Task: "t", Candidates: many}, "candidates"},
		{"candidate without tool", Request{Task: "t", Candidates: []Candidate{{Tool: ""}}}, "candidates[0].tool"},
		{"context step without tool", Request{Task: "t", Candidates: ok.Candidates, Context: []admem.Step{{}}}, "context[0].tool"},
	}
	for _, c := range cases {
		err := validate(c.req)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var e *admem.Error
		if err == nil || !asError(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != c.field {
			t.Errorf("%s: %v, want an invalid %s", c.name, err, c.field)
		}
	}
}

func asError(err error, target **admem.Error) bool {
	e, ok := err.(*admem.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestInSpaceDropsOtherSpacesCentroids(t *testing.T) {
	cs := []admem.FailureCluster{
		{ID: "same", EmbedderID: "glove-sif-100d", Centroid: []float32{1, 0}},
		{ID: "other", EmbedderID: "openai-x-100d", Centroid: []float32{0, 1}},
	}
	got := inSpace(cs, "glove-sif-100d")
	if got[0].Centroid == nil || got[1].Centroid != nil {
		t.Fatalf("centroids kept: same %v, other %v", got[0].Centroid, got[1].Centroid)
	}
	// Without a context vector in the other space, the cluster matches on its
	// action alone, with the neutral context similarity.
	if m := match("book(mode=fast)", []float32{0, 1}, &admem.FailureCluster{Actions: map[string]int{"book(mode=fast)": 1}}); m != patternWeight+contextWeight*neutralCtxSim {
		t.Fatalf("match without a centroid = %v", m)
	}
	if inSpace(cs, "")[0].Centroid != nil {
		t.Fatal("without an embedder no centroid is comparable")
	}
}
