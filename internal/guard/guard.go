// Package guard answers "is this call about to repeat a known mistake?"
// before an agent acts. It reads the tenant's mistake model
// (internal/mistake) for the candidates' tools, asks it about each
// candidate in the request's situation, and turns the evidence into a
// risk, a decision (allow / warn / block by the tenant's thresholds), the
// mistakes as reasons, and a suggestion: the candidate's own call fixed,
// made from the request's values only. A transient fault is never a
// reason to avoid a call: guard says so and allows it.
//
// With an active adapter (and the tenant's use_adapter setting) its risk,
// the model trained on the tenant's own calls, is the decision's risk;
// without one the evidence's own estimate is. Every answer names the
// adapter version it used, or none.
package guard

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/riskmodel"
	"github.com/admem/admem/internal/toolclass"
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

// Candidate is one call the agent considers.
type Candidate struct {
	Tool string
	Args map[string]any
}

// Request asks guard about candidate calls in a situation.
type Request struct {
	Task       string
	Context    []admem.Step // recent steps, oldest first
	Candidates []Candidate
}

// Reason kinds.
const (
	ReasonMistake   = "mistake_note" // a known mistake the candidate makes
	ReasonHere      = "failed_here"  // the identical call already failed in the context
	ReasonTransient = "transient"    // the identical call just failed with a transient fault
)

// Reason is a piece of evidence about a candidate.
type Reason struct {
	Kind        string
	MistakeID   string // the mistake's id (its learned item), when one is known
	Signature   string
	Note        string
	Rule        string // when the mistake happens, in words
	MistakeKind mistake.Kind
	Count       int
	Match       float64 // p(the candidate fails with it)
	// Sources are the independent sources (distinct keys and agents)
	// that reported the mistake's failures; Trusted: a key trusted for
	// learning did. Caveat says how the evidence was weighed less ("" when
	// it counts in full).
	Sources int
	Trusted bool
	Caveat  string
}

// Suggestion is what to do instead of a flagged candidate.
type Suggestion struct {
	Call      *mistake.Call // the call to make; nil when it cannot be made from the request's values
	Action    string        // Call as canonical text ("" without a call)
	Text      string        // what to do, in words
	Fix       mistake.FixKind
	MistakeID string
	// Withheld says why the fix is said in words and not made a call: its
	// tool writes or destroys, is not the candidate's, the agent has not
	// called it in this run and no admin confirmed it as a replacement.
	Withheld string
}

// Verdict is guard's answer for one candidate.
type Verdict struct {
	Tool        string
	Action      string // canonical action text
	Risk        float64
	AdapterRisk *float64 // nil without an adapter
	NoteRisk    float64  // the evidence's own estimate
	Decision    Decision
	Kind        mistake.Kind // what kind of failure the risk is about ("" for none)
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

// Knowledge is what guard reads for one request, in one transaction.
type Knowledge struct {
	// Mistakes are the tenant's active mistakes about the candidates'
	// tools, each with its Backing and its fixes' Backing.
	Mistakes []*mistake.Mistake
	Settings admem.GuardSettings
	// Quorum is how many independent sources make evidence count on its
	// own (the tenant's learning_quorum).
	Quorum int
	// Tools holds the declared classes of the tools the mistakes' fixes
	// call and the replacements confirmed for the candidates' tools.
	Tools toolclass.Policy
}

// Store is what guard reads per request, and where thresholds are set.
type Store interface {
	GuardKnowledge(ctx context.Context, tenantID string, tools []string) (Knowledge, error)
	// GuardHistories returns the tools' recent calls (only read when a
	// claim from too few sources must be weighed against them).
	GuardHistories(ctx context.Context, tenantID string, tools []string) ([]*mistake.Tool, error)
	GuardSettings(ctx context.Context, tenantID string) (admem.GuardSettings, error)
	SetGuardSettings(ctx context.Context, tenantID, actorKeyID string, gs admem.GuardSettings) error
}

// Scorer is the tenant's active adapter, as guard uses it: the version,
// and the risk of each candidate in the request's situation given what the
// mistake model says about it.
type Scorer interface {
	Version() int
	Risks(ctx context.Context, sit *mistake.Situation, as []mistake.Assessment) ([]float64, error)
}

// Models gives the tenant's active adapter (nil: none).
type Models interface {
	Scorer(ctx context.Context, tenantID string) (Scorer, error)
}

// Service answers guard requests.
type Service struct {
	store  Store
	models Models
}

// New returns the guard; models may be nil (the evidence alone decides).
func New(store Store, models Models) *Service {
	return &Service{store: store, models: models}
}

// maxReasons bounds the reasons a verdict lists.
const maxReasons = 3

// Check answers a guard request for the principal's tenant.
func (s *Service) Check(ctx context.Context, p admem.Principal, req Request) (Response, error) {
	if err := validate(req); err != nil {
		return Response{}, err
	}
	var tools []string
	for _, c := range req.Candidates {
		if !slices.Contains(tools, c.Tool) {
			tools = append(tools, c.Tool)
		}
	}
	k, err := s.store.GuardKnowledge(ctx, p.TenantID, tools)
	if err != nil {
		return Response{}, err
	}
	gs := k.Settings
	book := mistake.NewBook()
	book.Add(nil, k.Mistakes)
	th := Thresholds{Warn: gs.Warn, Block: gs.Block}
	resp := Response{Thresholds: th, Verdicts: make([]Verdict, len(req.Candidates))}
	sit := &mistake.Situation{Task: req.Task, Steps: req.Context}
	w := weigher{quorum: max(k.Quorum, 1)}
	as := make([]mistake.Assessment, len(req.Candidates))
	for i, c := range req.Candidates {
		as[i] = book.Assess(sit, mistake.Call{Tool: c.Tool, Args: c.Args})
	}
	discounted, err := s.againstHistory(ctx, p.TenantID, &w, as)
	if err != nil {
		return Response{}, err
	}
	var adapterRisks []float64
	if s.models != nil && gs.UseAdapter {
		sc, err := s.models.Scorer(ctx, p.TenantID)
		if err != nil {
			return Response{}, err
		}
		if sc != nil {
			if adapterRisks, err = sc.Risks(ctx, sit, as); err != nil {
				return Response{}, err
			}
			if adapterRisks != nil {
				resp.AdapterVersion = sc.Version()
			}
		}
	}
	gate := w.gate(&k.Tools, req.Context)
	for i, c := range req.Candidates {
		call := mistake.Call{Tool: c.Tool, Args: c.Args}
		a := &as[i]
		v := Verdict{Tool: c.Tool, Action: call.Text(), NoteRisk: round4(a.Risk), Risk: a.Risk, Kind: a.Kind}
		if adapterRisks != nil {
			// The adapter weighs the evidence; it does not make a call
			// risky that no evidence speaks of (a warning must say what
			// to avoid), nor a transient retry.
			r := round4(adapterRisks[i])
			v.AdapterRisk, v.Risk = &r, riskmodel.Risk(a, r)
			if len(discounted[i]) > 0 && !w.backed(a) {
				// The identical call worked in the tenant's own history and
				// only claims without enough sources say otherwise: what
				// the adapter learnt from those claims is no more evidence
				// than they are (the note risk is without them).
				v.Risk = math.Min(v.Risk, a.Risk)
			}
		}
		if a.Kind == mistake.KindTransient && a.HereFailures == 0 && len(a.Matches) == 0 {
			// A transient fault is no reason to avoid a call: retry it.
			v.Risk = 0
		}
		v.Risk = round4(v.Risk)
		v.Decision = decide(v.Risk, th)
		if v.Decision == Block && !w.backed(a) {
			// Too few sources to block: they may warn.
			v.Decision, v.Risk = Warn, math.Min(v.Risk, math.Max(th.Warn, round4(th.Block-0.0001)))
		}
		v.Reasons = w.reasons(a, discounted[i])
		if v.Decision != Allow {
			v.Suggestion = suggest(book, sit, call, a, th.Warn, gate)
		}
		resp.Verdicts[i] = v
	}
	return resp, nil
}

// againstHistory takes out of each assessment the claims of mistakes
// whose evidence does not count on its own when the identical call worked
// in the tenant's own recent history: one source alone cannot turn a call
// that works into a warning. It returns what it took out, per candidate.
// The tools' histories are read only when some candidate needs them.
func (s *Service) againstHistory(ctx context.Context, tenantID string, w *weigher, as []mistake.Assessment) ([][]mistake.Match, error) {
	out := make([][]mistake.Match, len(as))
	var tools []string
	for i := range as {
		if slices.ContainsFunc(as[i].Matches, func(m mistake.Match) bool { return !w.vouched(m.Mistake) }) && !slices.Contains(tools, as[i].Call.Tool) {
			tools = append(tools, as[i].Call.Tool)
		}
	}
	if len(tools) == 0 {
		return out, nil
	}
	hs, err := s.store.GuardHistories(ctx, tenantID, tools)
	if err != nil {
		return nil, err
	}
	for i := range as {
		for _, t := range hs {
			if t.Name == as[i].Call.Tool && t.WorkedIdentical(as[i].Facts.Hash) {
				as[i], out[i] = as[i].Without(func(m *mistake.Mistake) bool { return !w.vouched(m) })
			}
		}
	}
	return out, nil
}

// weigher weighs evidence by its sources.
type weigher struct{ quorum int }

func (w *weigher) vouched(m *mistake.Mistake) bool { return m.Backing.Vouched(w.quorum) }

// backed reports whether the evidence may block the call: the identical
// call already failed in the agent's own run, or a mistake it makes has
// independent (or trusted) evidence.
func (w *weigher) backed(a *mistake.Assessment) bool {
	return a.HereFailures > 0 || slices.ContainsFunc(a.Matches, func(m mistake.Match) bool { return w.vouched(m.Mistake) })
}

// gate is what learning may suggest in this request: fixes whose
// recoveries count on their own (the rule's own fixes with their
// mistake), and calls of other tools only where the tenant's policy
// allows them to an agent that called the context's tools.
func (w *weigher) gate(policy *toolclass.Policy, steps []admem.Step) *mistake.Gate {
	called := func(tool string) bool {
		return slices.ContainsFunc(steps, func(st admem.Step) bool { return st.Action == tool })
	}
	return &mistake.Gate{
		Vouched: func(m *mistake.Mistake, f *mistake.Fix) bool {
			if f != nil {
				return f.Backing.Vouched(w.quorum)
			}
			return w.vouched(m)
		},
		Refusal: func(candidate, tool string) string { return policy.Refusal(candidate, tool, called) },
	}
}

func decide(risk float64, th Thresholds) Decision {
	switch {
	case risk >= th.Block:
		return Block
	case risk >= th.Warn:
		return Warn
	}
	return Allow
}

// reasons lists the evidence: the identical call failing here, the known
// mistakes the candidate makes (riskiest first), those not counted against
// the call's own history, or a transient fault.
func (w *weigher) reasons(a *mistake.Assessment, discounted []mistake.Match) []Reason {
	var out []Reason
	if a.HereFailures > 0 {
		r := Reason{Kind: ReasonHere, Count: a.HereFailures, Match: round3(a.Risk), MistakeKind: mistake.KindDeterministic,
			Note: fmt.Sprintf("the identical call already failed %d× in this context", a.HereFailures)}
		if n := len(a.Facts.FailedHere); n > 0 {
			r.Signature = a.Facts.FailedHereText
		}
		out = append(out, r)
	}
	mistakeReason := func(m mistake.Match, caveat string) Reason {
		return Reason{Kind: ReasonMistake, MistakeID: m.Mistake.ID, Signature: m.Mistake.Signature.String(),
			Note: m.Mistake.Render(), Rule: m.Mistake.Rule.Describe(), MistakeKind: m.Mistake.Kind, Count: m.Mistake.Failures,
			Match: round3(m.P), Sources: m.Mistake.Backing.Sources, Trusted: m.Mistake.Backing.Trusted, Caveat: caveat}
	}
	for _, m := range a.Matches {
		if len(out) >= maxReasons {
			break
		}
		caveat := ""
		if !w.vouched(m.Mistake) {
			caveat = fmt.Sprintf("%s only (%d needed, or a key trusted for learning): it may warn, not block, and suggests no fix",
				sources(m.Mistake.Backing.Sources), w.quorum)
		}
		out = append(out, mistakeReason(m, caveat))
	}
	for _, m := range discounted {
		if len(out) >= maxReasons {
			break
		}
		out = append(out, mistakeReason(m, fmt.Sprintf("%s only, against the tenant's own history: the identical call worked before, so it is not counted (%d sources needed, or a key trusted for learning)",
			sources(m.Mistake.Backing.Sources), w.quorum)))
	}
	if len(out) == 0 && (a.Transient != nil || a.TransientHere) {
		r := Reason{Kind: ReasonTransient, MistakeKind: mistake.KindTransient,
			Note: "the identical call just failed with a transient fault: retry it with backoff"}
		if m := a.Transient; m != nil {
			r.MistakeID, r.Signature, r.Count = m.ID, m.Signature.String(), m.Failures
		}
		out = append(out, r)
	}
	return out
}

func sources(n int) string {
	switch n {
	case 0:
		return "no known source"
	case 1:
		return "one source"
	}
	return fmt.Sprintf("%d independent sources", n)
}

// suggest returns the fix of the candidate's mistake made for this request,
// or the fix (or the rule) in words when no call can be made from the
// request's own values or the gate withholds it.
func suggest(book *mistake.Book, sit *mistake.Situation, c mistake.Call, a *mistake.Assessment, warn float64, g *mistake.Gate) *Suggestion {
	s := book.Suggest(sit, c, a, warn, g)
	if s == nil {
		if a.HereFailures > 0 {
			return &Suggestion{Text: "do not make the identical call again: change what the error is about, or take another step first"}
		}
		return nil
	}
	out := &Suggestion{Text: s.Text, MistakeID: s.Mistake.ID, Withheld: s.Refused}
	if s.Fix != nil {
		out.Fix = s.Fix.Kind
	}
	if s.Call != nil {
		out.Call, out.Action = s.Call, s.Call.Text()
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

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// Settings returns the tenant's effective guard settings.
func (s *Service) Settings(ctx context.Context, p admem.Principal) (admem.GuardSettings, error) {
	return s.store.GuardSettings(ctx, p.TenantID)
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
