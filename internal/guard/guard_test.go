package guard

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner"
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
			v := judge(Candidate{Tool: "book", Args: c.args}, c.ctx, c.adapter, c.clusters, c.notes, c.th, seen{retried: c.retried})
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
		v := judge(Candidate{Tool: "book", Args: fast}, closer, nil, c.clusters, nil, def, seen{})
		if v.Suggestion == nil || v.Suggestion.Action != c.want {
			t.Errorf("%s: suggestion %+v, want %s", c.name, v.Suggestion, c.want)
		}
	}
	// A candidate that makes the older mistake for certain (the very call
	// just failed with it) gets that mistake's correction: the newer
	// cluster it only resembles is another mistake.
	stopped := cases[1].clusters
	v := judge(Candidate{Tool: "book", Args: fast}, closer, nil, stopped, nil, def, seen{retried: "s1"})
	if v.Suggestion == nil || v.Suggestion.Action != "book(mode=safe)" {
		t.Errorf("certain older mistake: suggestion %+v", v.Suggestion)
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

// A quota note (every failure repeated a call that had just worked) is about
// calling again: a candidate that repeats a call that succeeded in the
// context makes it, whatever its ids look like once masked; a first call
// does not, however alike its pattern.
func TestJudgeRepeatOnlyNote(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	quota := Note{ID: "n", SignatureID: "q", Tool: "get_price", Doing: "get_price(sku=<ID>)", Count: 1, RepeatedCall: true, RepeatOnly: true}
	cl := admem.FailureCluster{ID: "c", Tool: "get_price", SignatureID: "q", Count: 1, Actions: map[string]int{"get_price(sku=<ID>)": 1}, Centroid: []float32{1, 0}}
	bare := Candidate{Tool: "get_price", Args: map[string]any{"sku": "7638"}}
	prefixed := Candidate{Tool: "get_price", Args: map[string]any{"sku": "SKU-7638"}}
	cases := []struct {
		name     string
		c        Candidate
		clusters []admem.FailureCluster
		sn       seen
		want     Decision
		reasons  int
	}{
		{"a repeat matches though its id masks otherwise", bare, nil, seen{repeats: true}, Warn, 1},
		{"a repeat matches the cluster too", bare, []admem.FailureCluster{cl}, seen{repeats: true}, Warn, 1},
		{"a first call of the same pattern does not match the note", prefixed, nil, seen{}, Allow, 0},
		{"nor the note's cluster", prefixed, []admem.FailureCluster{cl}, seen{}, Allow, 0},
	}
	for _, c := range cases {
		v := judge(c.c, []float32{1, 0}, nil, c.clusters, []Note{quota}, def, c.sn)
		if v.Decision != c.want || len(v.Reasons) != c.reasons {
			t.Errorf("%s: %s with %d reasons (risk %v), want %s with %d", c.name, v.Decision, len(v.Reasons), v.Risk, c.want, c.reasons)
		}
	}
	// A note that also failed on first calls keeps matching by pattern.
	mixed := quota
	mixed.RepeatOnly = false
	if v := judge(prefixed, []float32{1, 0}, nil, []admem.FailureCluster{cl}, []Note{mixed}, def, seen{}); v.Decision != Warn {
		t.Errorf("a first call against a mixed note: %s (risk %v)", v.Decision, v.Risk)
	}
}

// Masking writes 20250105, 2025-01-05 and dt=2025-01-05 alike enough that a
// note's failing and correcting calls look the same; its format rules tell
// them apart.
func TestJudgeFormatRules(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	rules := map[string]learner.ArgRule{"partition": {Fail: []string{"9-9-9"}, Fix: []string{"a=9-9-9"}}}
	note := Note{ID: "n", SignatureID: "f", Tool: "run_transform", Doing: "run_transform(job_id=<ID>, partition=<DATE>)", Count: 1,
		Correction: "instead of run_transform(partition=2025-01-04, …), do run_transform(partition=dt=2025-01-04, …)", Do: "run_transform(job_id=JOB-1, partition=dt=2025-01-04)", Args: rules}
	// The cluster's context is unlike the request's: the format is wrong
	// in any context.
	cl := admem.FailureCluster{ID: "c", Tool: "run_transform", SignatureID: "f", Count: 1, Actions: map[string]int{"run_transform(job_id=<ID>, partition=<DATE>)": 1}, Centroid: []float32{0, 1}}
	cand := func(p string) Candidate {
		return Candidate{Tool: "run_transform", Args: map[string]any{"job_id": "JOB-87678", "partition": p}}
	}
	cases := []struct {
		name       string
		partition  string
		ctx        []float32
		want       Decision
		reasons    int
		suggestion bool
	}{
		{"the shape that failed matches fully", "2025-01-12", []float32{1, 0}, Warn, 1, true},
		{"another shape than the fix's matches on the action", "20250112", []float32{0.8, 0.6}, Warn, 1, true},
		{"the fix's shape does not match", "dt=2025-01-12", []float32{0, 1}, Allow, 0, false},
	}
	for _, c := range cases {
		for _, clusters := range [][]admem.FailureCluster{nil, {cl}} {
			v := judge(cand(c.partition), c.ctx, nil, clusters, []Note{note}, def, seen{})
			if v.Decision != c.want || len(v.Reasons) != c.reasons || (v.Suggestion != nil) != c.suggestion {
				t.Errorf("%s (%d clusters): %s with %d reasons (risk %v, suggestion %+v)", c.name, len(clusters), v.Decision, len(v.Reasons), v.Risk, v.Suggestion)
			}
		}
	}
}

// After a drift the tool wants what it used to reject: the newer note's
// failures are the older note's fix, so the older note no longer speaks.
func TestJudgeContradictedRulesGiveWay(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	before := Note{ID: "a", SignatureID: "a", Tool: "add_line_item", Doing: "add_line_item(unit_price=<NUM>)", Count: 4, Created: t0,
		Correction: "use decimals", Do: "add_line_item(unit_price=97.50)", Args: map[string]learner.ArgRule{"unit_price": {Fail: []string{"$9.9", "9"}, Fix: []string{"9.9"}}}}
	after := Note{ID: "b", SignatureID: "b", Tool: "add_line_item", Doing: "add_line_item(unit_price=<NUM>)", Count: 2, Created: t0.Add(time.Hour),
		Correction: "use minor units", Do: "add_line_item(unit_price=12650)", Args: map[string]learner.ArgRule{"unit_price": {Fail: []string{"9.9"}, Fix: []string{"9"}}}}
	notes := []Note{before, after}
	price := func(p string) Candidate {
		return Candidate{Tool: "add_line_item", Args: map[string]any{"unit_price": p}}
	}
	if v := judge(price("12650"), nil, nil, nil, notes, def, seen{}); v.Decision != Allow || len(v.Reasons) != 0 {
		t.Errorf("minor units after the drift: %s, reasons %+v", v.Decision, v.Reasons)
	}
	v := judge(price("128.75"), nil, nil, nil, notes, def, seen{})
	if v.Decision == Allow || v.Suggestion == nil || v.Suggestion.Action != after.Do || len(v.Reasons) != 1 || v.Reasons[0].NoteID != "b" {
		t.Errorf("decimals after the drift: %s, reasons %+v, suggestion %+v", v.Decision, v.Reasons, v.Suggestion)
	}
	// Before the drift only the older note exists, and it holds.
	if v := judge(price("12650"), nil, nil, nil, notes[:1], def, seen{}); v.Decision == Allow || v.Suggestion == nil || v.Suggestion.Action != before.Do {
		t.Errorf("minor units before the drift: %s, suggestion %+v", v.Decision, v.Suggestion)
	}
}

// A tool replaced by another is the mistake whatever its arguments, which
// mask unlike the note's (bare and prefixed ids).
func TestJudgeReplacedTool(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	gone := Note{ID: "n", SignatureID: "g", Tool: "refund_payment", Doing: "refund_payment(amount=<NUM>, order_id=<ID>, reason=late_delivery)", Count: 6,
		Correction: "instead of refund_payment(…), do issue_refund(amount=1.00, order_id=ORD-1, reason=late_delivery)", Do: "issue_refund(amount=1.00, order_id=ORD-1, reason=late_delivery)"}
	c := Candidate{Tool: "refund_payment", Args: map[string]any{"amount": "1549.33", "order_id": "27030", "reason": "changed_mind"}}
	if v := judge(c, nil, nil, nil, []Note{gone}, def, seen{}); v.Decision != Allow {
		t.Fatalf("without knowing the tool was replaced: %s (risk %v)", v.Decision, v.Risk)
	}
	gone.Replaced = true
	v := judge(c, nil, nil, nil, []Note{gone}, def, seen{})
	if v.Decision == Allow || v.Suggestion == nil || v.Suggestion.Action != gone.Do {
		t.Fatalf("replaced tool: %s (risk %v), suggestion %+v", v.Decision, v.Risk, v.Suggestion)
	}
}

// A replacement learnt before the replacing tool's own rule changed is a
// known mistake itself: the correction of the note that flags it is
// suggested instead.
func TestRecheckSuggestion(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	stale := learner.Action{Tool: "run_extract", Args: map[string]any{"since": "2025-10-01T00:00:00Z", "source_id": "SRC-3576"}}
	epoch := learner.Action{Tool: "run_extract", Args: map[string]any{"since": "1751328000", "source_id": "SRC-4115"}}
	gone := Note{ID: "g", SignatureID: "g", Tool: "trigger_job", Doing: "trigger_job(since=<TS>, source_id=<ID>)", Count: 5, Replaced: true, Created: t0,
		Correction: "instead of trigger_job(…), do " + stale.Text(), Do: stale.Text(), Fix: stale}
	since := Note{ID: "s", SignatureID: "s", Tool: "run_extract", Doing: "run_extract(since=<TS>, source_id=<ID>)", Count: 3, Created: t0.Add(time.Hour),
		Correction: "write since as epoch seconds", Do: epoch.Text(), Fix: epoch,
		Args: map[string]learner.ArgRule{"since": {Fail: []string{"9-9-9A9:9:9A"}, Fix: []string{"9"}}}}
	svc := &Service{}
	c := Candidate{Tool: "trigger_job", Args: map[string]any{"since": "1751328000", "source_id": "SRC-8053"}}
	v := judge(c, nil, nil, nil, []Note{gone}, def, seen{})
	if v.Suggestion == nil || v.Suggestion.Action != stale.Text() {
		t.Fatalf("suggestion %+v", v.Suggestion)
	}
	// The flagged argument is rewritten as the flagging note writes it;
	// the rest of the suggestion stands.
	patched := learner.Action{Tool: "run_extract", Args: map[string]any{"since": "1751328000", "source_id": "SRC-3576"}}
	sg, err := svc.recheck(context.Background(), "t", []Note{gone, since}, def, v.Suggestion)
	if err != nil || sg.Action != patched.Text() {
		t.Fatalf("rechecked suggestion %+v, %v; want %s", sg, err, patched.Text())
	}
	// Advice its tool's notes do not flag stands.
	fine := *v.Suggestion
	fine.do = epoch
	fine.Action = epoch.Text()
	if sg, err := svc.recheck(context.Background(), "t", []Note{gone, since}, def, &fine); err != nil || sg.Action != epoch.Text() {
		t.Fatalf("unflagged suggestion became %+v, %v", sg, err)
	}
}

// The tenant's note of a cluster's signature keeps corrections learnt after
// the cluster took its first one: its ranked correction is suggested.
func TestClusterTakesItsNotesCorrection(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	cl := admem.FailureCluster{ID: "c", Tool: "book", SignatureID: "s", Count: 3, Actions: map[string]int{"book(mode=fast)": 3}, Centroid: []float32{1, 0},
		Note: admem.FailureNote{Correction: "do slow", Do: "book(mode=slow)"}}
	n := Note{ID: "n", SignatureID: "s", Tool: "book", Doing: "book(mode=fast)", Count: 3, Correction: "do safe", Do: "book(mode=safe)",
		Fix: learner.Action{Tool: "book", Args: map[string]any{"mode": "safe"}}}
	v := judge(Candidate{Tool: "book", Args: map[string]any{"mode": "fast"}}, []float32{1, 0}, nil, []admem.FailureCluster{cl}, []Note{n}, def, seen{})
	if v.Suggestion == nil || v.Suggestion.Action != "book(mode=safe)" || v.Suggestion.ClusterID != "c" || v.Suggestion.do.Tool != "book" {
		t.Fatalf("suggestion %+v", v.Suggestion)
	}
}

// Check reads from the request's context whether a candidate calls again a
// call that worked, with its id written either way.
func TestCheckSeesRepeats(t *testing.T) {
	quota := Note{ID: "n", SignatureID: "q", Tool: "get_job_status", Doing: "get_job_status(job_id=<NUM>)", Count: 1, RepeatedCall: true, RepeatOnly: true}
	svc := New(fixedStore{gs: admem.DefaultGuardSettings()}, nil, nil, nil, fixedNotes{quota})
	req := Request{Task: "Poll job JOB-64532",
		Context:    []admem.Step{{Action: "get_job_status", Args: map[string]any{"job_id": "JOB-64532"}, Status: admem.StepOK}},
		Candidates: []Candidate{{Tool: "get_job_status", Args: map[string]any{"job_id": "64532"}}, {Tool: "get_job_status", Args: map[string]any{"job_id": "JOB-11111"}}}}
	resp, err := svc.Check(context.Background(), admem.Principal{TenantID: "t"}, req)
	if err != nil {
		t.Fatal(err)
	}
	if d := resp.Verdicts[0].Decision; d == Allow {
		t.Errorf("the repeat of JOB-64532 written bare: %s", d)
	}
	if d := resp.Verdicts[1].Decision; d != Allow {
		t.Errorf("a first call of another job: %s", d)
	}
}

// fixedStore and fixedNotes hand Check fixed inputs, so that what it reads
// from a request is tested without a database (judge's rules are tested on
// their own above; the HTTP tests run guard against Postgres).
type fixedStore struct{ gs admem.GuardSettings }

func (f fixedStore) GuardInputs(context.Context, string, []string) ([]admem.FailureCluster, admem.GuardSettings, error) {
	return nil, f.gs, nil
}

func (f fixedStore) SetGuardSettings(context.Context, string, string, admem.GuardSettings) error {
	return nil
}

type fixedNotes []Note

func (f fixedNotes) MistakeNotes(context.Context, string, []string) ([]Note, error) { return f, nil }

// A note learnt from a missing step flags a call of its tool, whatever the
// arguments, unless the context shows the step taken for the call's values;
// its suggestion is the step.
func TestJudgeMissingStep(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	health := learner.Action{Tool: "check_health", Args: map[string]any{"region": "us-east-2", "service": "payments-api"}}
	n := Note{ID: "n", SignatureID: "p", Tool: "promote_release", Doing: "promote_release(build_id=<ID>, region=ap-southeast-1, service=payments-api)", Count: 4,
		Correction: "before promote_release(…), do " + health.Text(), Do: health.Text(), Fix: health,
		Need: learner.Need{Tool: "check_health", Keys: []string{"region", "service"}}}
	c := Candidate{Tool: "promote_release", Args: map[string]any{"build_id": "BLD-3045", "region": "eu-west-3", "service": "ledger"}}
	other := learner.Action{Tool: "check_health", Args: map[string]any{"region": "sa-east-1", "service": "ledger"}}
	v := judge(c, nil, nil, nil, []Note{n}, def, seen{done: []learner.Action{other}})
	if v.Decision == Allow || v.Suggestion == nil || v.Suggestion.Action != health.Text() {
		t.Fatalf("step missing: %s (risk %v), suggestion %+v", v.Decision, v.Risk, v.Suggestion)
	}
	same := learner.Action{Tool: "check_health", Args: map[string]any{"region": "eu-west-3", "service": "ledger"}}
	if v := judge(c, nil, nil, nil, []Note{n}, def, seen{done: []learner.Action{other, same}}); v.Decision != Allow || len(v.Reasons) != 0 {
		t.Fatalf("step taken: %s (risk %v) %+v", v.Decision, v.Risk, v.Reasons)
	}
	// Without the need the unlike call is not matched at all.
	n.Need = learner.Need{}
	if v := judge(c, nil, nil, nil, []Note{n}, def, seen{}); v.Decision != Allow {
		t.Fatalf("plain note: %s (risk %v)", v.Decision, v.Risk)
	}
}

// A rule that knows only the failing shapes is followed by any other.
func TestShapeMatchWithoutFix(t *testing.T) {
	rules := map[string]learner.ArgRule{"unit_price": {Fail: []string{"$9.9", "9.9"}}}
	for v, want := range map[string]precondition{"111.75": preFull, "$1.50": preFull, "11175": preCleared} {
		if got := shapeMatch(Candidate{Tool: "add_line_item", Args: map[string]any{"unit_price": v}}, rules); got != want {
			t.Errorf("%s: %v, want %v", v, got, want)
		}
	}
}

// Once the newest note of a tool says it was replaced, a fix of the tool's
// own arguments learnt before is no advice: the replacement is.
func TestGoneToolSuggestsItsReplacement(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	format := Note{ID: "f", SignatureID: "fmt", Tool: "print_label", Doing: "print_label(order_id=<NUM>)", Count: 8,
		Correction: "instead of print_label(order_id=31269), do print_label(order_id=ORD-31269)", Do: "print_label(order_id=ORD-31269)",
		Fix: learner.Action{Tool: "print_label", Args: map[string]any{"order_id": "ORD-31269"}}, Created: t0}
	label := learner.Action{Tool: "generate_label", Args: map[string]any{"order_id": "ORD-34682"}}
	gone := Note{ID: "g", SignatureID: "gone", Tool: "print_label", Doing: "print_label(order_id=<ID>)", Count: 2, Replaced: true,
		Correction: "instead of print_label(…), do " + label.Text(), Do: label.Text(), Fix: label, Created: t0.Add(time.Hour)}
	c := Candidate{Tool: "print_label", Args: map[string]any{"order_id": "34682"}}
	v := judge(c, nil, nil, nil, []Note{format, gone}, def, seen{})
	if v.Decision == Allow || v.Suggestion == nil || v.Suggestion.Action != label.Text() {
		t.Fatalf("%s, suggestion %+v", v.Decision, v.Suggestion)
	}
	// The other way round (the format note is newer) the format fix stands.
	gone.Created, format.Created = t0, t0.Add(time.Hour)
	if v := judge(c, nil, nil, nil, []Note{format, gone}, def, seen{}); v.Suggestion == nil || v.Suggestion.Action == label.Text() {
		t.Fatalf("older replacement: suggestion %+v", v.Suggestion)
	}
}

// A tool that fails whatever its arguments (Gone) is matched on any call;
// a note saying a tool was replaced by one that a newer note says is gone
// has had its day (a migration the other way).
func TestJudgeGoneTools(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := Candidate{Tool: "add_user_to_group", Args: map[string]any{"group_id": "430", "user_id": "36933"}}
	n := Note{ID: "n", SignatureID: "g", Tool: "add_user_to_group", Doing: "add_user_to_group(group_id=GRP-<NUM>, user_id=uid-<NUM>)", Count: 3}
	if v := judge(c, nil, nil, nil, []Note{n}, def, seen{}); v.Decision != Allow {
		t.Fatalf("plain note: %s (risk %v)", v.Decision, v.Risk)
	}
	n.Gone = true
	if v := judge(c, nil, nil, nil, []Note{n}, def, seen{}); v.Decision == Allow {
		t.Fatalf("gone tool allowed (risk %v)", v.Risk)
	}
	label := Candidate{Tool: "generate_label", Args: map[string]any{"order_id": "ORD-1"}}
	unknown := Note{ID: "u", SignatureID: "u", Tool: "generate_label", Doing: "generate_label(order_id=<ID>)", Count: 9, Replaced: true, Gone: true,
		Correction: "instead of generate_label(…), do print_label(order_id=ORD-2)", Do: "print_label(order_id=ORD-2)",
		Fix: learner.Action{Tool: "print_label", Args: map[string]any{"order_id": "ORD-2"}}, Created: t0}
	if v := judge(label, nil, nil, nil, []Note{unknown}, def, seen{}); v.Decision == Allow {
		t.Fatalf("before the migration: %s", v.Decision)
	}
	retired := Note{ID: "r", SignatureID: "r", Tool: "print_label", Doing: "print_label(order_id=<ID>)", Count: 2, Gone: true, Created: t0.Add(time.Hour)}
	if v := judge(label, nil, nil, nil, []Note{unknown, retired}, def, seen{}); v.Decision != Allow {
		t.Fatalf("after the migration: %s (risk %v)", v.Decision, v.Risk)
	}
	// Before any note says so, the context can show the replacement gone:
	// the old note gives way, and the adapter, trained on the calls that
	// failed before the migration, does not overrule that.
	retiredHere := admem.Step{Action: "print_label", Args: map[string]any{"order_id": "ORD-1"}, Status: admem.StepError,
		Error: "print_label was retired in WMS 10 on 2025-06-01; order ORD-1 has no label"}
	high := 0.98
	if v := judge(label, nil, &high, nil, []Note{unknown}, def, seen{failed: []admem.Step{retiredHere}}); v.Decision != Allow {
		t.Fatalf("replacement retired in the context: %s (risk %v)", v.Decision, v.Risk)
	}
	otherErr := retiredHere
	otherErr.Error = "order ORD-1 not found"
	if v := judge(label, nil, nil, nil, []Note{unknown}, def, seen{failed: []admem.Step{otherErr}}); v.Decision == Allow {
		t.Fatal("an error not naming the replacement cleared the old note")
	}
	// A gone tool fails whatever the call and the context: the note
	// matches fully and its risk is certain, above any candidate matched
	// on a pattern.
	v := judge(label, nil, nil, nil, []Note{unknown}, def, seen{})
	if v.Risk != 1 {
		t.Fatalf("gone tool risk %v, want 1", v.Risk)
	}
}

// After a rule changed, the context can refute a note before any newer
// note says so: the note's fix (reason written as a word) has just failed
// with an error quoting it, so the shape the note says fails (an R-code)
// is no known mistake here.
func TestContextRefutesAStaleFix(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	refund := func(order, reason string) map[string]any {
		return map[string]any{"amount": "325.27", "order_id": order, "reason": reason}
	}
	old := Note{ID: "o", SignatureID: "o", Tool: "issue_refund", Doing: "issue_refund(amount=<NUM>, order_id=<ID>, reason=<ID>)", Count: 9,
		Args: map[string]learner.ArgRule{"reason": {Fail: []string{"A9"}, Fix: []string{"a_a"}}}}
	c := Candidate{Tool: "issue_refund", Args: refund("ORD-17820", "R05")}
	if v := judge(c, nil, nil, nil, []Note{old}, def, seen{}); v.Decision != Block {
		t.Fatalf("without context: %s (risk %v)", v.Decision, v.Risk)
	}
	step := func(reason, msg string) admem.Step {
		return admem.Step{Action: "issue_refund", Args: refund("ORD-17820", reason), Status: admem.StepError, Error: msg}
	}
	refuted := step("changed_mind", `reason "changed_mind" rejected: refund policy v7 uses reason codes R01-R05 (order ORD-17820)`)
	if v := judge(c, nil, nil, nil, []Note{old}, def, seen{failed: []admem.Step{refuted}}); v.Decision != Allow {
		t.Fatalf("fix refuted in the context: %s (risk %v)", v.Decision, v.Risk)
	}
	// A failure about something else leaves the note standing.
	other := step("changed_mind", `amount "325.27" is not a valid decimal for order ORD-17820`)
	if v := judge(c, nil, nil, nil, []Note{old}, def, seen{failed: []admem.Step{other}}); v.Decision != Block {
		t.Fatalf("unrelated failure: %s (risk %v)", v.Decision, v.Risk)
	}
}

// Two notes of one tool, each about one argument: a suggestion fixing one
// and writing the other as the second note says fails gets both fixed.
func TestRecheckComposesFixes(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	refund := func(amount, reason string) learner.Action {
		return learner.Action{Tool: "issue_refund", Args: map[string]any{"amount": amount, "order_id": "ORD-1", "reason": reason}}
	}
	amountFix, reasonFix := refund("1031.07", "late_delivery"), refund("491.17", "R01")
	amount := Note{ID: "a", SignatureID: "a", Tool: "issue_refund", Doing: "issue_refund(amount=<NUM>, order_id=<ID>, reason=late_delivery)", Count: 6,
		Correction: "write amount as a decimal", Do: amountFix.Text(), Fix: amountFix,
		Args: map[string]learner.ArgRule{"amount": {Fail: []string{"9", "$9.9"}, Fix: []string{"9.9"}}}}
	reason := Note{ID: "r", SignatureID: "r", Tool: "issue_refund", Doing: "issue_refund(amount=<NUM>, order_id=<ID>, reason=<STR>)", Count: 4,
		Correction: "write reason as a code", Do: reasonFix.Text(), Fix: reasonFix,
		Args: map[string]learner.ArgRule{"reason": {Fail: []string{"a_a"}, Fix: []string{"A9"}}}}
	sg := &Suggestion{Action: amountFix.Text(), Text: amount.Correction, Source: "mistake_note", do: amountFix}
	got, err := (&Service{}).recheck(context.Background(), "t", []Note{amount, reason}, def, sg)
	if want := refund("1031.07", "R01"); err != nil || got.Action != want.Text() {
		t.Fatalf("got %+v, %v; want %s", got, err, want.Text())
	}
}

// The adapter does not overrule notes that clear a candidate: one that
// writes the argument as the note's corrections do is allowed however high
// the adapter's risk; without that evidence the adapter's risk decides.
func TestClearedCandidateOverrulesAdapter(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	epoch := learner.Action{Tool: "run_extract", Args: map[string]any{"since": "1751328000", "source_id": "SRC-4115"}}
	since := Note{ID: "s", SignatureID: "s", Tool: "run_extract", Doing: "run_extract(since=<TS>, source_id=<ID>)", Count: 3,
		Correction: "write since as epoch seconds", Do: epoch.Text(), Fix: epoch,
		Args: map[string]learner.ArgRule{"since": {Fail: []string{"9-9-9A9:9:9A"}, Fix: []string{"9"}}}}
	high := 0.97
	c := Candidate{Tool: "run_extract", Args: map[string]any{"since": "1754006400", "source_id": "SRC-8450"}}
	if v := judge(c, nil, &high, nil, []Note{since}, def, seen{}); v.Decision != Allow || *v.AdapterRisk != high {
		t.Fatalf("cleared candidate: %s (risk %v)", v.Decision, v.Risk)
	}
	other := Candidate{Tool: "get_job_status", Args: map[string]any{"job_id": "JOB-1"}}
	if v := judge(other, nil, &high, nil, []Note{since}, def, seen{}); v.Decision != Block {
		t.Fatalf("no note speaks: %s (risk %v)", v.Decision, v.Risk)
	}
}

// Among several candidates the adapter flags by the risk one adds to the
// least risky: a young adapter rating every option of a step near 1 (after
// failures in the context) blocks none of them on its own, while one it
// tells apart, or a lone candidate, is flagged on its risk.
func TestAdapterFlagsByExcessRisk(t *testing.T) {
	def := Thresholds{Warn: 0.5, Block: 0.85}
	f := func(x float64) *float64 { return &x }
	role := Candidate{Tool: "assign_role", Args: map[string]any{"user_id": "UID-1", "role": "editor"}}
	cases := []struct {
		risks []*float64
		want  Decision
	}{
		{[]*float64{f(0.99), f(0.97), f(0.98)}, Allow},
		{[]*float64{f(0.99)}, Block},
		{[]*float64{f(0.95), f(0.05)}, Block},
		{[]*float64{f(0.7), f(0.1)}, Warn},
		{[]*float64{nil, nil}, Allow},
	}
	for i, c := range cases {
		v := judge(role, nil, c.risks[0], nil, nil, def, seen{adapterFloor: adapterFloor(c.risks)})
		if v.Decision != c.want {
			t.Errorf("case %d: %s (risk %v), want %s", i, v.Decision, v.Risk, c.want)
		}
		if c.risks[0] != nil && (v.AdapterRisk == nil || *v.AdapterRisk != *c.risks[0]) {
			t.Errorf("case %d: adapter risk reported %v", i, v.AdapterRisk)
		}
	}
}
