// Package guard answers "is this action about to repeat a known mistake?"
// before an agent acts. Each candidate action gets a failure risk from the
// tenant's active adapter (when it has one) and from the failure clusters
// and mistake notes it matches, a decision (allow / warn / block by the
// tenant's thresholds), the matching notes and clusters as reasons, and a
// suggested alternative where a note's correction or a procedure knows
// better. Every answer names the adapter version it used, or none: a tenant
// without a trained adapter still gets answers from its mistake notes.
package guard

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/vecmath"
)

// Decision is what guard advises for one candidate.
type Decision string

// Decisions.
const (
	Allow Decision = "allow"
	Warn  Decision = "warn"
	Block Decision = "block"
)

// Limits on a request.
const (
	MaxCandidates = 50
	MaxContext    = 50
	MaxTaskLen    = 20000
)

// Candidate is one action the agent considers.
type Candidate struct {
	Tool string
	Args map[string]any
}

// Request asks guard about candidate actions in a context.
type Request struct {
	Task       string
	Context    []admem.Step // recent steps, oldest first
	Candidates []Candidate
}

// Reason is a known mistake a candidate matches.
type Reason struct {
	Kind      string // "failure_cluster" or "mistake_note"
	ClusterID string // for failure_cluster
	NoteID    string // for mistake_note
	Signature string
	Label     string
	Note      string
	Count     int
	Match     float64 // 0..1: how closely the candidate and its context match
}

// Suggestion is an alternative to a risky candidate.
type Suggestion struct {
	Action    string // canonical action text to take instead
	Text      string // "instead of A, do B"
	Source    string // "mistake_note" or "procedure"
	ClusterID string
	do        learner.Action // Action as data, when a note's correction gave it
}

// Verdict is guard's answer for one candidate.
type Verdict struct {
	Tool        string
	Action      string // canonical action text
	Risk        float64
	AdapterRisk *float64 // nil without an adapter
	NoteRisk    float64
	Decision    Decision
	Reasons     []Reason
	Suggestion  *Suggestion
}

// Thresholds turn risks into decisions.
type Thresholds struct{ Warn, Block float64 }

// Response is guard's answer.
type Response struct {
	AdapterVersion int // 0: no adapter was used
	Thresholds     Thresholds
	Verdicts       []Verdict
}

// Store is what guard reads per request, and where thresholds are set.
type Store interface {
	GuardInputs(ctx context.Context, tenantID string, tools []string) ([]admem.FailureCluster, admem.GuardSettings, error)
	SetGuardSettings(ctx context.Context, tenantID, actorKeyID string, gs admem.GuardSettings) error
}

// Models gives the tenant's active adapter (nil: none).
type Models interface {
	Get(ctx context.Context, tenantID string) (*adapters.Active, error)
}

// Procedures suggests an action from the tenant's procedures for a task,
// where one knows how tasks like it call tool differently from the flagged
// action (its canonical text); it may be nil.
type Procedures interface {
	SuggestAlternative(ctx context.Context, tenantID, task, tool, flagged string) (action, text string, ok bool, err error)
}

// Note is a mistake note learnt from trajectories (at append time, before
// the worker clusters the failure), as guard matches it.
type Note struct {
	ID          string
	SignatureID string
	Signature   string
	Tool        string
	Doing       string // the failed action pattern
	Text        string
	Count       int
	Correction  string
	Do          string
	// RepeatedCall: some failure repeated a call that had succeeded
	// earlier in its run; RepeatOnly: every failure did (a quota, a
	// one-time operation), so only a repeat makes this mistake.
	RepeatedCall bool
	RepeatOnly   bool
	// Replaced: the note's correction is another tool taking the same
	// arguments, so any call of this tool makes the mistake; Gone: any
	// call makes it, replaced or not (learner.MistakeNote.ToolGone).
	Replaced bool
	Gone     bool
	// Args are the note's format rules by argument: the shapes that
	// failed and the shapes its corrections use (learner.ArgRules).
	Args map[string]learner.ArgRule
	// Need: the note's failures lacked a step of another tool (a
	// precondition); a call made after that step does not make the
	// mistake, one made without it does, whatever its arguments.
	Need learner.Need
	// Created is when the note was first learnt.
	Created time.Time
	// Fix is Do as data (zero when the note has no correction).
	Fix learner.Action
}

// Notes gives the tenant's mistake notes of the given tools; it may be nil.
type Notes interface {
	MistakeNotes(ctx context.Context, tenantID string, tools []string) ([]Note, error)
}

// Service answers guard requests.
type Service struct {
	store  Store
	models Models
	emb    failures.Embedder
	procs  Procedures
	notes  Notes
}

// New returns the guard. emb and models may be nil (notes only); procs and
// notes may be nil.
func New(store Store, models Models, emb failures.Embedder, procs Procedures, notes Notes) *Service {
	return &Service{store: store, models: models, emb: emb, procs: procs, notes: notes}
}

// Match scoring: a cluster matches a candidate of its tool by how alike the
// action patterns are (weight 0.6) and how alike the contexts are (0.4).
// A cluster counts as a reason at MinMatch and its risk is the match times
// the confidence count/(count+0.5): one failure of the very same action in
// the same context is already a warning; blocking takes repeated failures.
const (
	MinMatch      = 0.5
	patternWeight = 0.6
	contextWeight = 0.4
	neutralCtxSim = 0.5 // when no context embedding is available
	maxReasons    = 3
)

// Check answers a guard request for the principal's tenant.
func (s *Service) Check(ctx context.Context, p admem.Principal, req Request) (Response, error) {
	if err := validate(req); err != nil {
		return Response{}, err
	}
	tools := make([]string, 0, len(req.Candidates))
	for _, c := range req.Candidates {
		if !slices.Contains(tools, c.Tool) {
			tools = append(tools, c.Tool)
		}
	}
	clusters, gs, err := s.store.GuardInputs(ctx, p.TenantID, tools)
	if err != nil {
		return Response{}, err
	}
	embedderID := ""
	if s.emb != nil {
		embedderID = s.emb.ID()
	}
	clusters = inSpace(clusters, embedderID)
	var notes []Note
	if s.notes != nil {
		if notes, err = s.notes.MistakeNotes(ctx, p.TenantID, tools); err != nil {
			return Response{}, err
		}
		// The notes of the tools the candidates' tools were replaced by:
		// one of them may say the replacement is gone in turn.
		var more []string
		for _, n := range notes {
			if n.Replaced && n.Fix.Tool != "" && !slices.Contains(tools, n.Fix.Tool) && !slices.Contains(more, n.Fix.Tool) {
				more = append(more, n.Fix.Tool)
			}
		}
		if len(more) > 0 {
			extra, err := s.notes.MistakeNotes(ctx, p.TenantID, more)
			if err != nil {
				return Response{}, err
			}
			notes = append(notes, extra...)
		}
	}
	th := Thresholds{Warn: gs.Warn, Block: gs.Block}
	resp := Response{Thresholds: th, Verdicts: make([]Verdict, len(req.Candidates))}

	// Embeddings: the context once, each candidate's action.
	var ctxVec []float32
	var actVecs [][]float32
	if s.emb != nil {
		texts := []string{failures.ContextText(req.Task, req.Context)}
		for _, c := range req.Candidates {
			texts = append(texts, failures.ActionText(c.Tool, c.Args))
		}
		vecs, err := s.emb.Embed(ctx, texts)
		if err != nil {
			return Response{}, fmt.Errorf("guard: embed: %w", err)
		}
		ctxVec, actVecs = vecs[0], vecs[1:]
	}
	var active *adapters.Active
	if s.models != nil && ctxVec != nil && gs.UseAdapter {
		a, err := s.models.Get(ctx, p.TenantID)
		if err != nil {
			return Response{}, err
		}
		if a != nil && a.EmbedderID == s.emb.ID() && a.Model.Dim() == len(ctxVec) {
			active = a
			resp.AdapterVersion = a.Version
		}
	}
	// Calls that just failed in the context, by their exact text: a
	// candidate that is one of them repeats that failure verbatim. Calls
	// that succeeded: a candidate that is one of them calls again.
	failedCalls := map[string]string{}
	var succeeded []learner.Action // calls that worked in the context
	var failed []admem.Step
	for _, st := range req.Context {
		if st.Failed() {
			failedCalls[canonical(Candidate{Tool: st.Action, Args: st.Args})] = signature.FromStep(st).ID()
			failed = append(failed, st)
		} else {
			succeeded = append(succeeded, learner.Action{Tool: st.Action, Args: st.Args})
		}
	}
	var scorer *scorerFor
	if active != nil {
		sc := active.Model.ForContext(to64(ctxVec))
		scorer = &scorerFor{risk: func(x []float64) float64 { return active.Probability(sc.Risk(x)) }}
	}

	// The adapter's risks of all candidates first: the least of them is
	// the risk it sees in the situation whatever the agent does (floor).
	adapterRisks := make([]*float64, len(req.Candidates))
	if scorer != nil {
		for i := range req.Candidates {
			r := scorer.risk(to64(actVecs[i]))
			adapterRisks[i] = &r
		}
	}
	floor := adapterFloor(adapterRisks)
	for i, c := range req.Candidates {
		text := canonical(c)
		repeats := slices.ContainsFunc(succeeded, func(a learner.Action) bool { return learner.Repeats(learner.Action{Tool: c.Tool, Args: c.Args}, a) })
		v := judge(c, ctxVec, adapterRisks[i], clusters, notes, th,
			seen{retried: failedCalls[text], repeats: repeats, done: succeeded, failed: failed, adapterFloor: floor})
		if v.Decision != Allow && v.Suggestion == nil && s.procs != nil {
			action, text, ok, err := s.procs.SuggestAlternative(ctx, p.TenantID, req.Task, c.Tool, v.Action)
			if err != nil {
				return Response{}, err
			}
			if ok {
				v.Suggestion = &Suggestion{Action: action, Text: text, Source: "procedure"}
			}
		}
		if v.Suggestion != nil && v.Suggestion.do.Tool != "" {
			if v.Suggestion, err = s.recheck(ctx, p.TenantID, notes, th, v.Suggestion); err != nil {
				return Response{}, err
			}
		}
		resp.Verdicts[i] = v
	}
	return resp, nil
}

// adapterFloor is the least of the adapter's risks of several candidates,
// 0 for one candidate or without an adapter.
func adapterFloor(risks []*float64) float64 {
	if len(risks) < 2 || risks[0] == nil {
		return 0
	}
	floor := 1.0
	for _, r := range risks {
		floor = min(floor, *r)
	}
	return floor
}

// recheck judges a suggested call against the notes of its tool: advice
// learnt before a rule of the suggested tool changed (another tool's
// replacement, written as a run before the change wrote it), or a fix of one
// argument that writes another the way a second note says fails, is a known
// mistake itself. Then the arguments the flagging note's format rules say
// are wrong are rewritten as its correction writes them (a note without
// such rules gives its whole correction instead, when it calls the same
// tool), up to maxRecheck times; otherwise the suggestion stands.
func (s *Service) recheck(ctx context.Context, tenantID string, notes []Note, th Thresholds, sg *Suggestion) (*Suggestion, error) {
	tool := sg.do.Tool
	var mine []Note
	known := false
	for _, n := range notes {
		if n.Tool == tool {
			mine = append(mine, n)
			known = true
		}
	}
	if !known && s.notes != nil {
		var err error
		if mine, err = s.notes.MistakeNotes(ctx, tenantID, []string{tool}); err != nil {
			return nil, err
		}
	}
	if len(mine) == 0 {
		return sg, nil
	}
	do, text := sg.do, sg.Text
	for range maxRecheck {
		w := judge(Candidate{Tool: tool, Args: do.Args}, nil, nil, nil, mine, th, seen{})
		if w.Decision == Allow || w.Suggestion == nil || w.Suggestion.do.Tool != tool || w.Suggestion.Action == do.Text() {
			break
		}
		next, ok := patch(do, w.Suggestion, mine)
		if !ok {
			next, text = w.Suggestion.do, w.Suggestion.Text
		} else {
			text += "; " + w.Suggestion.Text
		}
		do = next
	}
	if do.Text() == sg.do.Text() {
		return sg, nil
	}
	return &Suggestion{Action: do.Text(), Text: text, Source: sg.Source, ClusterID: sg.ClusterID, do: do}, nil
}

// maxRecheck bounds how many notes may amend one suggestion.
const maxRecheck = 3

// patch rewrites the arguments of do that the format rules of the note
// whose correction is fix say are written wrong, as fix writes them. It
// reports false when that note has no rule do breaks.
func patch(do learner.Action, fix *Suggestion, notes []Note) (learner.Action, bool) {
	k := slices.IndexFunc(notes, func(n Note) bool { return n.Do == fix.Action && len(n.Args) > 0 })
	if k < 0 {
		return do, false
	}
	out := learner.Action{Tool: do.Tool, Args: maps.Clone(do.Args)}
	patched := false
	for arg, r := range notes[k].Args {
		sh := learner.Shape(do.Args[arg])
		v, ok := fix.do.Args[arg]
		if ok && (slices.Contains(r.Fail, sh) || len(r.Fix) > 0 && !slices.Contains(r.Fix, sh)) {
			out.Args[arg] = v
			patched = true
		}
	}
	return out, patched
}

// inSpace drops the context centroids of clusters made in another vector
// space than embedderID's (or with no embedder): two models of the same
// dimension still make incomparable vectors, so such a cluster matches on
// its actions alone until the worker re-clusters it.
func inSpace(clusters []admem.FailureCluster, embedderID string) []admem.FailureCluster {
	for i := range clusters {
		if clusters[i].EmbedderID != embedderID {
			clusters[i].Centroid = nil
		}
	}
	return clusters
}

// seen is what the request's context says about a candidate.
type seen struct {
	// retried is the error signature id of the context step the candidate
	// repeats call for call, "" when it repeats no failed step: a known
	// mistake of that signature then matches fully, since the very same
	// call has just failed with it here.
	retried string
	// repeats: the candidate makes a call that succeeded in the context
	// again (learner.Repeats: ids may be written another way).
	repeats bool
	// done: the calls that succeeded in the context; failed: the steps
	// that failed there.
	done   []learner.Action
	failed []admem.Step
	// adapterFloor is the adapter's least risk among the request's
	// candidates (0 for a single candidate).
	adapterFloor float64
}

// judge decides about one candidate from what is known: the adapter's risk
// (nil without an adapter), the clusters and notes of the tenant, the
// context embedding (nil without an embedder), the thresholds and what the
// context says about the candidate. It is pure, so the decision rules are
// table-tested.
func judge(c Candidate, ctxVec []float32, adapterRisk *float64, clusters []admem.FailureCluster, notes []Note, th Thresholds, sn seen) Verdict {
	retried := sn.retried
	pattern := failures.ActionPattern(c.Tool, c.Args)
	pre := preconditions(c, notes, sn)
	v := Verdict{Tool: c.Tool, Action: canonical(c), AdapterRisk: adapterRisk}
	var best *admem.FailureCluster
	var bestNote *Note
	cited := map[string]bool{}
	// A cluster keeps the first correction it was given and gets none when
	// its failures were clustered before any recovery was seen (a replaced
	// tool never recovers in the failing run itself); the tenant's mistake
	// note of the same signature is where corrections learnt later, from
	// aligning failures with successes, are kept and ranked. A cluster
	// takes its note's correction when the note has one (the cluster's
	// first one may be long stale: run_extract's pre-drift since format
	// was still suggested after the drift).
	var fixes []*admem.FailureCluster // cited clusters with a correction
	fixOf := map[string]*Note{}       // cluster id -> the note whose correction it took
	noteFix := map[string]*Note{}
	goneSig := map[string]bool{} // signatures of notes saying the tool is gone, in force here
	for k := range notes {
		n := &notes[k]
		if n.Tool != c.Tool {
			continue
		}
		if n.Correction != "" {
			noteFix[n.SignatureID] = n
		}
		if n.Gone && !pre[n.SignatureID].excludes() {
			goneSig[n.SignatureID] = true
		}
	}
	// A tool removed for good fails whatever the call: its note's risk is
	// certain, not the confidence a few failures give a pattern.
	riskOf := func(sig string, m float64, count int) float64 {
		if goneSig[sig] {
			return m
		}
		return m * float64(count) / (float64(count) + 0.5)
	}
	certain := map[string]bool{} // clusters whose mistake the candidate makes for certain
	for k := range clusters {
		cl := &clusters[k]
		if cl.Tool != c.Tool {
			continue
		}
		m := match(pattern, ctxVec, cl)
		switch p := pre[cl.SignatureID]; {
		case retried != "" && cl.SignatureID == retried, p == preFull:
			m = 1
			certain[cl.ID] = true
		case p.excludes():
			continue
		case p == preShape:
			m = max(m, patternWeight+contextWeight*contextSim(ctxVec, cl))
		}
		if m < MinMatch {
			continue
		}
		risk := riskOf(cl.SignatureID, m, cl.Count)
		if risk > v.NoteRisk {
			v.NoteRisk = risk
		}
		cited[cl.SignatureID] = true
		v.Reasons = append(v.Reasons, Reason{Kind: "failure_cluster", ClusterID: cl.ID, Signature: cl.Signature, Label: cl.Label,
			Note: cl.Note.Text, Count: cl.Count, Match: round3(m)})
		if n := noteFix[cl.SignatureID]; n != nil && n.Correction != cl.Note.Correction {
			borrowed := *cl
			borrowed.Note.Correction, borrowed.Note.Do = n.Correction, n.Do
			cl = &borrowed
			fixOf[cl.ID] = n
		}
		if cl.Note.Correction != "" {
			fixes = append(fixes, cl)
			if best == nil || m > bestMatch(v.Reasons, best.ID) {
				best = cl
			}
		}
	}
	best = newest(best, fixes, func(cl *admem.FailureCluster) bool { return certain[cl.ID] })
	// Notes whose failures no cluster holds yet (the worker has not
	// caught up): matched on the action alone.
	for k := range notes {
		n := &notes[k]
		if n.Tool != c.Tool || cited[n.SignatureID] {
			continue
		}
		ps := ActionJaccard(pattern, n.Doing)
		if ps == 1 || pattern == n.Doing {
			ps = 1
		}
		m := patternWeight*ps + contextWeight*neutralCtxSim
		switch p := pre[n.SignatureID]; {
		case retried != "" && n.SignatureID == retried, p == preFull:
			m = 1
		case p.excludes():
			continue
		case p == preShape:
			m = max(m, patternWeight+contextWeight*neutralCtxSim)
		}
		if m < MinMatch {
			continue
		}
		if risk := riskOf(n.SignatureID, m, n.Count); risk > v.NoteRisk {
			v.NoteRisk = risk
		}
		v.Reasons = append(v.Reasons, Reason{Kind: "mistake_note", NoteID: n.ID, Signature: n.Signature, Note: n.Text, Count: n.Count, Match: round3(m)})
		if n.Correction != "" && (bestNote == nil || m > bestMatchNote(v.Reasons, bestNote.ID)) {
			bestNote = n
		}
	}
	slices.SortStableFunc(v.Reasons, func(a, b Reason) int {
		switch {
		case a.Match > b.Match:
			return -1
		case a.Match < b.Match:
			return 1
		}
		return b.Count - a.Count
	})
	if len(v.Reasons) > maxReasons {
		v.Reasons = v.Reasons[:maxReasons]
	}
	v.Risk = v.NoteRisk
	// A candidate that follows a note's fix (writes the arguments as its
	// corrections do, or comes after the step it lacked) and that no note
	// flags is cleared by what the tenant verified: the adapter, which
	// generalises over the tool's calls, does not overrule that.
	cleared := false
	for _, p := range pre {
		cleared = cleared || p == preCleared
	}
	// Among several candidates the adapter flags one by the risk it adds
	// to the least risky of them: a risk it sees in every option (a
	// context where calls failed, to a young adapter) does not tell the
	// agent which to take, and blocking them all blocked the missing step
	// too.
	if v.AdapterRisk != nil && !(cleared && v.NoteRisk < th.Warn) {
		if a := *v.AdapterRisk - sn.adapterFloor; a > v.Risk {
			v.Risk = a
		}
	}
	v.Risk, v.NoteRisk = round4(v.Risk), round4(v.NoteRisk)
	switch {
	case v.Risk >= th.Block:
		v.Decision = Block
	case v.Risk >= th.Warn:
		v.Decision = Warn
	default:
		v.Decision = Allow
	}
	if v.Decision != Allow {
		if n := gone(c.Tool, notes, pre); n != nil {
			v.Suggestion = &Suggestion{Action: n.Do, Text: n.Correction, Source: "mistake_note", do: n.Fix}
			return v
		}
		if best != nil {
			v.Suggestion = &Suggestion{Action: best.Note.Do, Text: best.Note.Correction, Source: "mistake_note", ClusterID: best.ID}
			if n := fixOf[best.ID]; n != nil {
				v.Suggestion.do = n.Fix
			}
		} else if bestNote != nil {
			v.Suggestion = &Suggestion{Action: bestNote.Do, Text: bestNote.Correction, Source: "mistake_note", do: bestNote.Fix}
		}
	}
	return v
}

// gone returns the note saying tool was replaced by another (Replaced)
// when it is the tenant's newest note of the tool: no fix of the tool's own
// calls, learnt before it was removed (another format of its arguments),
// helps then; its replacement does.
func gone(tool string, notes []Note, pre map[string]precondition) *Note {
	var newest *Note
	for k := range notes {
		if n := &notes[k]; n.Tool == tool && (newest == nil || n.Created.After(newest.Created)) {
			newest = n
		}
	}
	if newest == nil || !newest.Replaced || newest.Fix.Tool == "" || newest.Fix.Tool == tool || pre[newest.SignatureID].excludes() {
		return nil
	}
	return newest
}

// newest returns the cited cluster whose correction to suggest: best, the
// closest match, unless the candidate also matches a cluster whose first
// failure came after best's last one. Then the tool's rules changed in
// between (best's failures stopped as the other's began), and best's
// correction, learnt before the change, is stale: the newest such cluster's
// correction wins. Not when the candidate makes best's mistake for certain
// (full: the very call failed here, or it writes an argument as best's
// failures did) and only resembles the newer one's: that is another
// mistake, whose correction does not mend this one (a region's value for a
// call whose email is written wrong).
func newest(best *admem.FailureCluster, fixes []*admem.FailureCluster, full func(*admem.FailureCluster) bool) *admem.FailureCluster {
	if best == nil || best.LastSeenAt.IsZero() {
		return best
	}
	out := best
	certain := full(best)
	for _, cl := range fixes {
		if cl.FirstSeenAt.After(best.LastSeenAt) && cl.FirstSeenAt.After(out.FirstSeenAt) && (!certain || full(cl)) {
			out = cl
		}
	}
	return out
}

type scorerFor struct{ risk func([]float64) float64 }

func bestMatchNote(rs []Reason, id string) float64 {
	for _, r := range rs {
		if r.NoteID == id {
			return r.Match
		}
	}
	return 0
}

func bestMatch(rs []Reason, id string) float64 {
	for _, r := range rs {
		if r.ClusterID == id {
			return r.Match
		}
	}
	return 0
}

// match scores how closely a candidate (its action pattern, in the request's
// context) matches a cluster of the same tool.
func match(pattern string, ctxVec []float32, cl *admem.FailureCluster) float64 {
	ps := 0.0
	if _, ok := cl.Actions[pattern]; ok {
		ps = 1
	} else {
		for a := range cl.Actions {
			ps = math.Max(ps, ActionJaccard(pattern, a))
		}
		if cl.Note.Doing != "" {
			ps = math.Max(ps, ActionJaccard(pattern, cl.Note.Doing))
		}
	}
	return patternWeight*ps + contextWeight*contextSim(ctxVec, cl)
}

func contextSim(ctxVec []float32, cl *admem.FailureCluster) float64 {
	if ctxVec != nil && len(cl.Centroid) == len(ctxVec) {
		return math.Max(0, vecmath.Cosine(ctxVec, cl.Centroid))
	}
	return neutralCtxSim
}

// How a note's preconditions bear on a candidate (by its signature).
type precondition int

const (
	preUnknown precondition = iota // the note says nothing more: match as usual
	preFull                        // the candidate meets the note's conditions exactly: full match
	preShape                       // the action matches: a ruled argument in a shape no correction uses, or a replaced tool
	preNone                        // it does not make this mistake (the note is stale, or the candidate is no repeat)
	preCleared                     // it does not make this mistake: it follows the note's fix (format rules, the missing step taken)
)

// excludes reports whether the candidate does not make the note's mistake.
func (p precondition) excludes() bool { return p == preNone || p == preCleared }

// preconditions reads, for each of the tenant's notes of the candidate's
// tool, whether the candidate meets the conditions under which the note's
// failures happened, which the masked action pattern and the context
// embedding cannot see:
//   - a note whose failures all repeated a call that had succeeded before
//     (a quota) is this candidate's mistake if, and only if, the candidate
//     repeats a call that succeeded in the context;
//   - a note with format rules (an argument that failed written one way and
//     worked written another) is matched on those arguments' shapes: a
//     shape that failed matches fully, the corrections' shapes not at all,
//     since masking writes both as the same placeholder;
//   - a note whose correction replaces the tool by another taking the same
//     arguments matches any call of the tool on the action, and one whose
//     tool fails whatever its arguments (Gone) matches it fully; one whose
//     replacement a newer note says is gone, or the context shows failing
//     with an error naming it, has had its day, and clears the candidate;
//   - a note whose failures lacked a step (learner.Need) does not match a
//     candidate the context shows that step taken for, and matches any
//     other call of the tool on the action: the step is missing (or was
//     taken before the context's window, which the guard cannot tell);
//   - of two notes whose format rules contradict (one's fix is the other's
//     failure), the older is stale: the tool's rule changed in between;
//   - so is a note whose fix the context shows failing: a call of its tool
//     writing a ruled argument as the corrections do failed with an error
//     quoting that value (the rule changed, and no note says so yet).
func preconditions(c Candidate, notes []Note, sn seen) map[string]precondition {
	var mine []*Note
	for k := range notes {
		if notes[k].Tool == c.Tool {
			mine = append(mine, &notes[k])
		}
	}
	if len(mine) == 0 {
		return nil
	}
	out := map[string]precondition{}
	for _, n := range mine {
		switch {
		case replacedByGone(n, notes, sn.failed):
			// The rule flipped: the tool n warned about is the way now,
			// so the adapter, trained before, does not overrule that.
			out[n.SignatureID] = preCleared
		case stale(n, mine), refutedHere(n, sn.failed):
			out[n.SignatureID] = preNone
		case n.Gone:
			out[n.SignatureID] = preFull
		case n.RepeatOnly && !sn.repeats:
			out[n.SignatureID] = preNone
		case n.RepeatedCall && sn.repeats:
			out[n.SignatureID] = preFull
		case n.Need.Tool != "":
			out[n.SignatureID] = preShape
			if n.Need.Met(learner.Action{Tool: c.Tool, Args: c.Args}, sn.done) {
				out[n.SignatureID] = preCleared
			}
		case len(n.Args) > 0:
			out[n.SignatureID] = shapeMatch(c, n.Args)
		case n.Replaced:
			out[n.SignatureID] = preShape
		}
	}
	return out
}

// shapeMatch compares a candidate's ruled arguments with a note's rules.
func shapeMatch(c Candidate, rules map[string]learner.ArgRule) precondition {
	follows, failed := true, false
	for k, r := range rules {
		sh := learner.Shape(c.Args[k])
		// A rule with no fix yet is followed by any shape that never
		// failed.
		if len(r.Fix) > 0 && !slices.Contains(r.Fix, sh) || len(r.Fix) == 0 && slices.Contains(r.Fail, sh) {
			follows = false
		}
		if slices.Contains(r.Fail, sh) {
			failed = true
		}
	}
	switch {
	case failed:
		return preFull
	case follows:
		return preCleared
	}
	return preShape
}

// replacedByGone reports whether n says its tool was replaced by one that a
// newer note says is gone itself, or that failed in the context with an
// error naming it: the rule changed (a migration that retired the old tool
// in favour of the one n warned about).
func replacedByGone(n *Note, notes []Note, failed []admem.Step) bool {
	if !n.Replaced || n.Fix.Tool == "" {
		return false
	}
	for k := range notes {
		if o := &notes[k]; o.Tool == n.Fix.Tool && o.Gone && o.Created.After(n.Created) {
			return true
		}
	}
	return slices.ContainsFunc(failed, func(st admem.Step) bool {
		return st.Action == n.Fix.Tool && strings.Contains(st.Error, n.Fix.Tool)
	})
}

// stale reports whether a newer note of the same tool failed with a shape
// n's corrections write an argument in.
func stale(n *Note, mine []*Note) bool {
	for _, o := range mine {
		if o == n || !o.Created.After(n.Created) {
			continue
		}
		for k, r := range n.Args {
			if or, ok := o.Args[k]; ok && slices.ContainsFunc(r.Fix, func(s string) bool { return slices.Contains(or.Fail, s) }) {
				return true
			}
		}
	}
	return false
}

// refutedHere reports whether a failed step of the context called n's tool
// with an argument n's format rules rule written as its corrections write
// it, and the error quotes that value: the fix itself fails now.
func refutedHere(n *Note, failed []admem.Step) bool {
	for _, st := range failed {
		if st.Action != n.Tool {
			continue
		}
		for k, r := range n.Args {
			v, ok := st.Args[k].(string)
			if ok && v != "" && slices.Contains(r.Fix, learner.Shape(v)) && strings.Contains(st.Error, v) {
				return true
			}
		}
	}
	return false
}

// ActionJaccard compares two canonical actions by their argument tokens
// (key=value pairs), so that calls differing in one argument score high.
func ActionJaccard(a, b string) float64 {
	ta, tb := argTokens(a), argTokens(b)
	if len(ta) == 0 && len(tb) == 0 {
		return 1
	}
	inter := 0
	for t := range ta {
		if tb[t] {
			inter++
		}
	}
	union := len(ta) + len(tb) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

func argTokens(s string) map[string]bool {
	if i := strings.IndexByte(s, '('); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSuffix(s, ")")
	out := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '{' || r == '}' || r == '[' || r == ']' || r == ' ' }) {
		out[f] = true
	}
	return out
}

func validate(req Request) error {
	if strings.TrimSpace(req.Task) == "" {
		return admem.Invalid("task", "required")
	}
	if len(req.Task) > MaxTaskLen {
		return admem.Invalid("task", fmt.Sprintf("at most %d bytes", MaxTaskLen))
	}
	if len(req.Candidates) == 0 {
		return admem.Invalid("candidates", "at least one candidate action")
	}
	if len(req.Candidates) > MaxCandidates {
		return admem.Invalid("candidates", fmt.Sprintf("at most %d", MaxCandidates))
	}
	if len(req.Context) > MaxContext {
		return admem.Invalid("context", fmt.Sprintf("at most %d steps", MaxContext))
	}
	for i, c := range req.Candidates {
		if strings.TrimSpace(c.Tool) == "" {
			return admem.Invalid(fmt.Sprintf("candidates[%d].tool", i), "required")
		}
	}
	for i, st := range req.Context {
		if strings.TrimSpace(st.Action) == "" {
			return admem.Invalid(fmt.Sprintf("context[%d].tool", i), "required")
		}
	}
	return nil
}

func canonical(c Candidate) string {
	return failures.CanonicalText(c.Tool, c.Args)
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// Settings returns the tenant's effective guard settings.
func (s *Service) Settings(ctx context.Context, p admem.Principal) (admem.GuardSettings, error) {
	_, gs, err := s.store.GuardInputs(ctx, p.TenantID, nil)
	return gs, err
}

// SetSettings sets the tenant's thresholds (admin, audited): a risk at or
// above Warn warns, at or above Block blocks; 0 < Warn ≤ Block ≤ 1.
// useAdapter nil keeps the tenant's current choice.
func (s *Service) SetSettings(ctx context.Context, p admem.Principal, th Thresholds, useAdapter *bool) (admem.GuardSettings, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.GuardSettings{}, admem.ErrForbidden
	}
	switch {
	case !(th.Warn > 0 && th.Warn <= 1):
		return admem.GuardSettings{}, admem.Invalid("warn", "a risk in (0, 1]")
	case !(th.Block > 0 && th.Block <= 1):
		return admem.GuardSettings{}, admem.Invalid("block", "a risk in (0, 1]")
	case th.Block < th.Warn:
		return admem.GuardSettings{}, admem.Invalid("block", "at least warn")
	}
	gs, err := s.Settings(ctx, p)
	if err != nil {
		return admem.GuardSettings{}, err
	}
	gs.Warn, gs.Block = th.Warn, th.Block
	if useAdapter != nil {
		gs.UseAdapter = *useAdapter
	}
	if err := s.store.SetGuardSettings(ctx, p.TenantID, p.KeyID, gs); err != nil {
		return admem.GuardSettings{}, err
	}
	return gs, nil
}
