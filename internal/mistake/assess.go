package mistake

import (
	"fmt"
	"slices"
	"strings"

	"github.com/admem/admem/internal/signature"
)

// Match is a mistake whose rule a call meets.
type Match struct {
	Mistake *Mistake
	P       float64 // p(the call fails with this mistake)
	Here    bool    // the identical call already failed with it in the situation
}

// Assessment is what the mistake model says about a candidate call: the
// evidence, named, that guard's decision (and the tenant's adapter) weigh.
type Assessment struct {
	Call    Call
	Facts   Facts
	Matches []Match // riskiest first
	// Transient is set when the call retries a call that just failed with
	// a transient fault: retry with backoff.
	Transient *Mistake
	// TransientHere: the identical call just failed with an error that
	// reads as transient, of a signature the book does not know yet.
	TransientHere bool
	// HereFailures counts deterministic failures of the identical call in
	// the situation.
	HereFailures int
	// Risk is the evidence's own p(fail): the answer without an adapter.
	Risk float64
	// Kind is the kind of failure the risk is about ("" when none).
	Kind Kind
}

// Probabilities the situation alone gives: the identical call failing
// here already, once or more often. A deterministic failure repeats; an
// agent that retries it a third time wastes a step.
const (
	pHereOnce  = 0.85
	pHereTwice = 0.95
)

// Assess returns the evidence about a candidate call in a situation.
func (b *Book) Assess(sit *Situation, c Call) Assessment {
	a := Assessment{Call: c, Facts: Describe(sit, c)}
	f := &a.Facts
	here := map[string]int{}
	for _, s := range f.FailedHere {
		here[s]++
	}
	for _, m := range b.ToolMistakes(f.Tool) {
		if m.Retired || m.superseded() {
			continue
		}
		if m.Kind == KindTransient || m.Rule.Level == LevelNone {
			if here[m.SignatureID] > 0 {
				a.Transient = m
			}
			continue
		}
		p := 0.0
		if f.Meets(&m.Rule) {
			p = m.Rule.P
			if f.Partial && m.Rule.absence(f) {
				// The rule asks for something missing (a step, a value's
				// source) that may lie before the situation begins.
				p *= m.Rule.unseen(f, len(sit.Steps))
			}
		}
		for _, in := range m.Instances {
			if in.P > p && f.HasValues(in.V) && (!in.Task || f.Meets(&m.Rule)) {
				p = in.P
			}
		}
		if i := slices.Index(m.Calls, f.Hash); i >= 0 && i < len(m.CallP) && m.CallP[i] > p {
			p = m.CallP[i]
		}
		if p < 1e-9 {
			continue
		}
		a.Matches = append(a.Matches, Match{Mistake: m, P: p, Here: here[m.SignatureID] > 0})
	}
	// The identical call failed here: unless the failure was transient,
	// or a tool its mistake asks for worked since, that is the strongest
	// evidence there is.
	if n := len(f.FailedHere); n > 0 {
		last := f.FailedHere[n-1]
		m := b.Mistakes[last]
		switch {
		case m != nil && m.wantsAny(f.WorkedSince):
			for i := range a.Matches {
				a.Matches[i].Here = false
			}
		case m != nil && m.Kind == KindTransient && n < 3:
			a.Transient = m
		case m == nil && n < 2 && transientCue(signature.Normalize(f.Tool, "", f.FailedHereText), f.FailedHereText):
			a.TransientHere = true
		default:
			a.Transient = nil
			a.HereFailures = n
		}
	}
	slices.SortStableFunc(a.Matches, func(x, y Match) int {
		switch {
		case x.P > y.P:
			return -1
		case x.P < y.P:
			return 1
		}
		return y.Mistake.Failures - x.Mistake.Failures
	})
	a.settle()
	return a
}

// settle sets the assessment's risk and kind from its evidence.
func (a *Assessment) settle() {
	switch {
	case a.HereFailures > 0:
		a.Risk, a.Kind = pHereOnce, KindDeterministic
		if a.HereFailures > 1 {
			a.Risk = pHereTwice
		}
		if len(a.Matches) > 0 && a.Matches[0].P > a.Risk {
			a.Risk, a.Kind = a.Matches[0].P, a.Matches[0].Mistake.Kind
		}
	case len(a.Matches) > 0:
		a.Risk, a.Kind = a.Matches[0].P, a.Matches[0].Mistake.Kind
	case a.Transient != nil || a.TransientHere:
		a.Kind = KindTransient
	}
}

// Args returns the assessed call's arguments.
func (a *Assessment) Args() map[string]any { return a.Call.Args }

// Suggestion is a fix of a flagged call, instantiated for the request.
type Suggestion struct {
	Mistake *Mistake
	Fix     *Fix  // nil when the advice comes from the rule alone
	Call    *Call // the call to make instead; nil when it cannot be made from the request's values
	Text    string
	// Refused says why the fix's call was not made: its tool may not be
	// volunteered (Gate.Refusal).
	Refused string
}

// Gate is what a tenant lets learning suggest. Vouched says whether a
// mistake's evidence, or a fix's (f non-nil), counts on its own: a fix
// that does not is never suggested, a mistake that does not gives no
// advice. Refusal says why a call of tool may not be volunteered to an
// agent whose candidate calls candidate ("" when it may): such a fix is
// said in words, without values. A nil field allows everything.
type Gate struct {
	Vouched func(m *Mistake, f *Fix) bool
	Refusal func(candidate, tool string) string
}

func (g *Gate) vouched(m *Mistake, f *Fix) bool {
	return g == nil || g.Vouched == nil || g.Vouched(m, f)
}

func (g *Gate) refusal(candidate, tool string) string {
	if g == nil || g.Refusal == nil {
		return ""
	}
	return g.Refusal(candidate, tool)
}

// Suggest returns the best advice for a flagged call: the fix of its
// riskiest mistake (then the next) that can be made from the request's
// own values, that no known mistake flags at or above warn and that the
// gate lets through; failing that, the fix or the rule in words.
func (b *Book) Suggest(sit *Situation, c Call, a *Assessment, warn float64, g *Gate) *Suggestion {
	var words *Suggestion
	for _, mt := range a.Matches {
		m := mt.Mistake
		if !g.vouched(m, nil) {
			continue
		}
		fixes := m.allFixes()
		for k := range fixes {
			fx := &fixes[k]
			// What the rule itself states is the mistake's evidence; a
			// recovery's fix needs its own.
			if k < len(m.Fixes) && !g.vouched(m, fx) {
				continue
			}
			fixed, ok := fx.Apply(c, sit)
			if ok && fx.dropsOnly() && fx.Support < 2 {
				// Leaving an argument out worked once: the call may need
				// it another way, so it is advice, not a call to make.
				ok = false
			}
			tool := c.Tool
			if fx.Tool != "" {
				tool = fx.Tool // prior, replace: another tool's call
			}
			refused := g.refusal(c.Tool, tool)
			if !ok || refused != "" {
				if words == nil {
					words = &Suggestion{Mistake: m, Fix: fx, Text: fx.Text(c.Tool), Refused: refused}
				}
				continue
			}
			text := fx.Text(c.Tool)
			if fa := b.Assess(sit, fixed); fa.Risk >= warn {
				// The fixed call still makes a known mistake: a call may
				// make several at once (one argument's format, another's
				// case); their edits together are the correction.
				more, texts, ok := b.repair(sit, fixed, &fa, warn, g, maxRepairs)
				if !ok {
					continue
				}
				fixed, text = more, strings.Join(append([]string{text}, texts...), "; then ")
			}
			return &Suggestion{Mistake: m, Fix: fx, Call: &fixed, Text: text}
		}
		if words == nil {
			if t := m.Rule.Advice(); t != "" {
				words = &Suggestion{Mistake: m, Text: t}
			}
		}
	}
	return words
}

// allFixes returns the mistake's recoveries' fixes followed by those its
// rule states (a copy when there are any of the latter, so the mistake's
// own list is never appended to).
func (m *Mistake) allFixes() []Fix {
	derived := m.ruleFixes()
	if len(derived) == 0 {
		return m.Fixes
	}
	return append(slices.Clone(m.Fixes), derived...)
}

// maxRepairs bounds the further edits a suggestion makes to a fixed call
// that still makes a known mistake.
const maxRepairs = 2

// repair edits call c, which assessment a says still makes a known
// mistake, with the fixes of the mistakes it makes (riskiest first), each
// an edit of c itself (no other tool's call), until no known mistake flags
// it at or above warn; at most depth edits. It returns the repaired call
// and the edits in words.
func (b *Book) repair(sit *Situation, c Call, a *Assessment, warn float64, g *Gate, depth int) (Call, []string, bool) {
	if depth == 0 || a.HereFailures > 0 {
		return c, nil, false
	}
	for i, mt := range a.Matches {
		if i >= 2 {
			break
		}
		m := mt.Mistake
		if !g.vouched(m, nil) {
			continue
		}
		fixes := m.allFixes()
		for k := range fixes {
			fx := &fixes[k]
			if fx.Tool != "" && fx.Tool != c.Tool || k < len(m.Fixes) && !g.vouched(m, fx) || fx.dropsOnly() && fx.Support < 2 {
				continue
			}
			fixed, ok := fx.Apply(c, sit)
			if !ok || fixed.Tool != c.Tool || fixed.Text() == c.Text() {
				continue
			}
			fa := b.Assess(sit, fixed)
			if fa.Risk < warn {
				return fixed, []string{fx.Text(c.Tool)}, true
			}
			if more, texts, ok := b.repair(sit, fixed, &fa, warn, g, depth-1); ok {
				return more, append([]string{fx.Text(c.Tool)}, texts...), true
			}
		}
	}
	return c, nil, false
}

// Advice says in words what the rule asks of a call, without values.
func (r Rule) Advice() string {
	var parts []string
	for _, f := range r.Features {
		switch {
		case strings.HasPrefix(f, "np:"):
			parts = append(parts, "call "+f[3:]+" about the same values first")
		case f == "r":
			parts = append(parts, "do not repeat a call that already worked")
		case strings.HasPrefix(f, "u:"):
			parts = append(parts, "take "+f[2:]+" from the task or an earlier result, not a default or a guess")
		case strings.HasPrefix(f, "s:"):
			if i := strings.IndexByte(f, '='); i > 2 {
				parts = append(parts, fmt.Sprintf("write %s another way than %s", f[2:i], f[i+1:]))
			}
		case strings.HasPrefix(f, "a:"):
			parts = append(parts, "check whether "+f[2:]+" is a valid argument")
		case strings.HasPrefix(f, "m:"):
			if i := strings.IndexByte(f, '='); i > 2 {
				parts = append(parts, "use a smaller "+f[2:i])
			}
		case strings.HasPrefix(f, "gt:"), strings.HasPrefix(f, "gtl:"):
			if i := strings.LastIndexByte(f, '='); i > 0 {
				what, path := "", f[strings.IndexByte(f, ':')+1:i]
				if f[2] == 'l' {
					what = " long"
				}
				parts = append(parts, fmt.Sprintf("keep %s at most %s%s (split the request if needed)", path, f[i+1:], what))
			}
		}
	}
	return strings.Join(parts, "; ")
}

// Describe renders the rule for people, e.g. "when date is written
// 9/9/9". The empty rule is "whatever the call".
func (r Rule) Describe() string {
	if r.Level == LevelNone {
		return ""
	}
	var parts []string
	for _, f := range r.Features {
		switch {
		case strings.HasPrefix(f, "np:"):
			parts = append(parts, "without a "+f[3:]+" step before")
		case strings.HasPrefix(f, "p:"):
			parts = append(parts, "after "+f[2:])
		case f == "r":
			parts = append(parts, "when it repeats a call that worked")
		case strings.HasPrefix(f, "u:"):
			parts = append(parts, f[2:]+" is not from the task or a result")
		case strings.HasPrefix(f, "s:"), strings.HasPrefix(f, "m:"), strings.HasPrefix(f, "l:"):
			if i := strings.IndexByte(f, '='); i > 2 {
				what := map[byte]string{'s': "written", 'm': "of magnitude class", 'l': "of length class"}[f[0]]
				parts = append(parts, fmt.Sprintf("%s %s %s", f[2:i], what, f[i+1:]))
			}
		case strings.HasPrefix(f, "a:"):
			parts = append(parts, "with "+f[2:])
		case strings.HasPrefix(f, "gt:"), strings.HasPrefix(f, "gtl:"):
			if i := strings.LastIndexByte(f, '='); i > 0 {
				what, path := "above", f[strings.IndexByte(f, ':')+1:i]
				if f[2] == 'l' {
					what = "longer than"
				}
				parts = append(parts, fmt.Sprintf("%s %s %s", path, what, f[i+1:]))
			}
		case strings.HasPrefix(f, "e:"):
			if i := strings.IndexByte(f, '='); i > 2 {
				parts = append(parts, fmt.Sprintf("%s is %s", f[2:i], f[i+1:]))
			}
		case strings.HasPrefix(f, "nt:"):
			parts = append(parts, "without a "+f[3:]+" step before")
		case strings.HasPrefix(f, "ns:"):
			parts = append(parts, f[3:]+" written as failing calls wrote it")
		case strings.HasPrefix(f, "t:"):
			parts = append(parts, "after a "+f[2:]+" step")
		case strings.HasPrefix(f, "o:"):
			parts = append(parts, "when a result said "+f[2:])
		}
	}
	if r.Level == LevelInstance {
		parts = append(parts, "for the same values")
	}
	if len(parts) == 0 {
		return "whatever the call"
	}
	return strings.Join(parts, ", ")
}

// wantsAny reports whether the mistake names one of the tools as what its
// calls lacked: its rule asks for a step of it first, its messages name
// it, or an agent recovered by calling it.
func (m *Mistake) wantsAny(tools []string) bool {
	for _, t := range tools {
		if slices.Contains(m.Rule.Features, "np:"+t) || slices.Contains(m.Rule.Features, "nt:"+t) ||
			slices.Contains(m.Said, normName(t)) {
			return true
		}
		for i := range m.Fixes {
			if m.Fixes[i].Kind == FixPrior && m.Fixes[i].Tool == t {
				return true
			}
		}
	}
	return false
}

// partialDiscount scales a rule's probability when the rule is met by an
// absence a partial situation cannot confirm.
const partialDiscount = 0.5

// unseen is the share of a rule's probability that stands when a
// situation of only the latest span steps meets it by an absence. When
// what is missing is a step whose reach the rule knows, it is the chance
// that a call without the step in sight lacks it: of the recent calls
// that met the rule and those that had the step further back than span,
// the first. Otherwise (a value's source, a step of any kind) it is
// partialDiscount.
func (r *Rule) unseen(f *Facts, span int) float64 {
	n := r.Fails + r.OKs
	if n == 0 {
		return partialDiscount
	}
	far := 0.0
	for _, x := range r.Features {
		if strings.HasPrefix(x, "nt:") {
			return partialDiscount
		}
		if path, ok := strings.CutPrefix(x, "u:"); ok && !slices.Contains(f.Sourced, path) {
			return partialDiscount
		}
		tool, ok := strings.CutPrefix(x, "np:")
		if !ok {
			continue
		}
		gaps, known := r.Reach[tool]
		if !known {
			return partialDiscount
		}
		// Of the calls that had the step, the share that had it further
		// back than span, with a uniform prior (a few short reaches do
		// not prove it is never further).
		i, _ := slices.BinarySearch(gaps, int32(span)+1)
		s := float64(len(gaps))
		far = max(far, s*(s-float64(i)+1)/(s+2))
	}
	return float64(n) / (float64(n) + far)
}

// absence reports whether the rule asks for something earlier to be
// missing that the facts' situation may not show: no step of a tool, or a
// value from neither the task nor a result when no result in the situation
// shows the argument (the value's source may lie before it).
func (r *Rule) absence(f *Facts) bool {
	for _, x := range r.Features {
		if strings.HasPrefix(x, "np:") || strings.HasPrefix(x, "nt:") {
			return true
		}
		if path, ok := strings.CutPrefix(x, "u:"); ok && !slices.Contains(f.Sourced, path) {
			return true
		}
	}
	return false
}
