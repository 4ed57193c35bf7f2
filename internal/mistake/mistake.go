package mistake

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/admem/admem/internal/signature"
)

// Kind says what kind of failure a mistake is, as the evidence shows it.
type Kind string

// Kinds.
const (
	// KindDeterministic: calls written this way (or in this situation)
	// fail, whichever entity they are about.
	KindDeterministic Kind = "deterministic"
	// KindState: this instance fails (an entity in some state); the same
	// call about other entities works.
	KindState Kind = "state"
	// KindTransient: the identical call later worked unchanged (5xx,
	// timeouts, rate limits). It is never a reason to avoid a call.
	KindTransient Kind = "transient"
)

// Level says what a rule is written in.
type Level string

// Levels.
const (
	LevelNone     Level = "none"     // no rule: the mistake makes no call risky
	LevelForm     Level = "form"     // features of the call and its situation
	LevelInstance Level = "instance" // those and the failing calls' values
)

// Rule is a mistake's fitted hypothesis: a call that meets every feature
// (and, at instance level, carries every value) makes the mistake with
// probability P.
type Rule struct {
	Level    Level
	Features []string
	// Shapes holds, for each "ns:PATH" feature, the shapes failing calls
	// wrote PATH in that no recent successful call used: the rule holds for
	// those shapes.
	Shapes map[string][]string `json:",omitempty"`
	// Working holds, for each "ns:PATH" feature, the few shapes recent
	// successful calls wrote PATH in: a shape none of them used is not
	// the format either, though no failure wrote it yet.
	Working map[string][]string `json:",omitempty"`
	Values  []uint32
	P       float64
	Fails   int // recent matching calls that failed with the mistake
	OKs     int // recent matching calls that worked
	// Reach holds, for each step the rule asks to be missing ("np:TOOL"),
	// how many steps back the recent calls that met the rule's other
	// features and worked had that step, sorted: how far a situation that
	// shows only the latest steps must see to know the step is missing.
	Reach map[string][]int32 `json:",omitempty"`
}

// Instance is an entity a mistake's failures were about: the values of a
// failing call that its error message named ("flight HAT030 not available
// on date 2024-05-13"). A call carrying all of them is about that entity.
type Instance struct {
	V  []uint32 // value hashes (path and value) the error named
	N  int      // failures about it
	At int64    // the tool's clock at its last failure
	P  float64  // fitted: p(a call carrying V fails with the mistake)
	// Task: the error named an entity of the task that the call does not
	// carry (the customer whose settings a value must match): the
	// mistake's rule holds for calls about it, not for every call.
	Task bool `json:",omitempty"`
}

// Mistake is what the tenant knows about one error signature: the
// evidence of its failures, its kind, its rule and its fixes.
type Mistake struct {
	ID          string // assigned by the store
	SignatureID string
	Signature   signature.Signature
	Kind        Kind
	Failures    int
	// Began is the tool's clock (Tool.Clock) at the mistake's first
	// failure: the regime its rule is about started then.
	Began     int64
	FirstSeen time.Time
	LastSeen  time.Time
	// Superseded is when a newer error contradicted the mistake (see
	// supersede.go); it counts until the mistake fails again.
	Superseded time.Time `json:",omitempty"`
	// Common are the features every failing call had; PriorUnion the
	// linked prior tools any of them had; Named the argument paths the
	// error messages name; Instances the entities they were about.
	Common     []string
	PriorUnion []string
	TookUnion  []string // tools any failing call's situation had worked earlier (t:)
	Named      []string
	// NamedStems are paths the messages name by their stem only;
	// NamesTool: the message names the tool itself (removed, renamed);
	// Said are identifiers the messages use (another tool's name: "call
	// verify_account first"); SaysRepeat: they speak of a repeat.
	NamedStems []string
	NamesTool  bool
	Said       []string
	SaysRepeat bool
	// Quoted are the named paths whose value the messages quoted: the
	// error is about the value ("total too large: 767 > 700"), not about
	// the argument being there at all ("x is not a valid parameter").
	Quoted []string `json:",omitempty"`
	// States are the entity states ("o:KEY=WORD") a result showed before
	// a failing call whose message names that WORD ("cannot process X:
	// current status cleaning"): the state the error is about.
	States []string `json:",omitempty"`
	// Limits are the bounds the messages stated on named arguments.
	Limits []Limit `json:",omitempty"`
	// FailShapes are the shapes each argument path had in failing calls.
	FailShapes map[string][]string
	Instances  []Instance
	// Calls are the identities of the most recent failing calls; CallP,
	// fitted, p(the identical call fails with the mistake) for each: an
	// agent that resends a call that failed, unchanged, in another run
	// repeats the mistake unless what it was about has changed since.
	Calls []uint32
	CallP []float64 `json:",omitempty"`
	// Retried counts failures whose identical call was made again later in
	// the same trajectory with nothing in between that could have fixed
	// it; RetryOK how many of those retries worked.
	Retried int
	RetryOK int
	// Cue: the error reads as a transient fault (5xx, timeout, rate limit).
	Cue   bool
	Rule  Rule
	Fixes []Fix
	// Example is a failing call with its literals masked, for notes.
	Example string
	// Tasks are the most recent distinct tasks it happened in (what recall
	// matches a new task against); Trajectories the most recent failing
	// trajectories; Sources the distinct sources (agent and session) that
	// reported a failure.
	Tasks        []string
	Trajectories []string
	Sources      []string
	// Version counts the changes the store saved.
	Version int
	// Retired: recall feedback retired the mistake (it keeps learning but
	// neither guard nor recall uses it). Stored is the Meaning it was
	// stored with. Both belong to the store's row, not the state.
	Retired bool   `json:"-"`
	Stored  string `json:"-"`
	// Backing is who reported its failures (read per request, not state).
	Backing Backing `json:"-"`
}

// Bounds on a mistake's evidence lists.
const (
	maxCalls        = 16
	maxTrajectories = 20
	maxTasks        = 8
	maxTaskText     = 300
	maxSources      = 32
	maxFixes        = 6
	maxFailShapes   = 8
	maxFailPaths    = 24
	maxInstances    = 32
	maxSaid         = 24
	maxStates       = 8
)

// identifierRE finds identifiers in prose: snake_case, kebab-case,
// dotted.names and camelCase words (a tool's or an argument's name).
var identifierRE = regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9]*(?:[_.\-][A-Za-z0-9]+)+\b|\b[a-z]+[A-Z][A-Za-z0-9]*\b`)

// identifiers returns the identifiers a message uses, normalised (lower
// case, separators as _), at most maxSaid.
func identifiers(message string) []string {
	var out []string
	for _, w := range identifierRE.FindAllString(clip(message, 2048), 4*maxSaid) {
		if !nameLike(w) {
			continue // an id, not a name
		}
		out = append(out, normName(w))
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxSaid {
		out = out[:maxSaid]
	}
	return out
}

// nameLike reports whether a word of a message may be a name (a tool's,
// an argument's) rather than an id: no digits, or a word of letters with a
// digit or two in it (describe2_order, s3_upload), where an id is mostly
// digits (ord_350932, REQ-63056).
func nameLike(w string) bool {
	if !instance(w) {
		return true
	}
	letters, digits := 0, 0
	for _, r := range w {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsDigit(r):
			digits++
		case r == '@':
			return false
		}
	}
	return letters >= 4 && letters >= 3*digits
}

// normName writes a name the one way: lower case, separators as _.
func normName(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}

// repeatWords are how errors say a call was made once too often.
var repeatWords = regexp.MustCompile(`\b(already|again|duplicate[sd]?|once|twice|only one|one per|per session|repeated)\b`)

// supported reports whether the error messages say what the rule is about:
// a feature of an argument they name, the absence (or presence) of a step
// of a tool they name, a repeat when they speak of one.
func (m *Mistake) supported(rule []string) bool {
	if len(rule) == 0 && m.NamesTool {
		return true // "unknown operation X": every call of the tool
	}
	for _, f := range rule {
		if strings.HasPrefix(f, "gt:") || strings.HasPrefix(f, "gtl:") || m.namesBoth(f) {
			return true // a bound or an order the message stated
		}
		if path := featurePath(f); path != "" && slices.Contains(m.Named, path) {
			return true
		}
		for _, pre := range []string{"np:", "nt:", "p:", "t:"} {
			if tool, ok := strings.CutPrefix(f, pre); ok && slices.Contains(m.Said, normName(tool)) {
				return true
			}
		}
		if f == "r" && m.SaysRepeat {
			return true
		}
		if strings.HasPrefix(f, "o:") && slices.Contains(m.States, f) {
			return true // the message names the state a result showed
		}
	}
	return false
}

// addInstance records the entity a failure was about: the call's values
// (linkable ones: ids, dates, codes) that its message quotes, or the task's
// entity it names, with the words of the call it quotes too.
func (m *Mistake) addInstance(f *Facts, message string, at int64) {
	msg := strings.ToLower(message)
	var vs []uint32
	for _, l := range f.Leaves {
		if linkable(l.Text) && indexWord(msg, strings.ToLower(l.Text)) >= 0 {
			vs = append(vs, valueHash(l.Path, l.Text))
		}
	}
	task := false
	if len(vs) == 0 && len(f.TaskIDs) > 0 {
		for _, id := range taskIDs(message) {
			if slices.Contains(f.TaskIDs, id) {
				vs, task = append(vs, valueHash(taskPath, id)), true
			}
		}
	}
	if len(vs) == 0 {
		return
	}
	// A word the message quotes as well ("currency USD does not match the
	// settings of C-1") is what failed for that entity: the instance is
	// the entity with that word, not every call about the entity.
	for _, l := range f.Leaves {
		if !linkable(l.Text) && len(l.Text) >= 2 && indexWord(msg, strings.ToLower(l.Text)) >= 0 {
			vs = append(vs, valueHash(l.Path, l.Text))
		}
	}
	slices.Sort(vs)
	vs = slices.Compact(vs)
	for i := range m.Instances {
		if slices.Equal(m.Instances[i].V, vs) {
			m.Instances[i].N++
			m.Instances[i].At = at
			return
		}
	}
	m.Instances = append(m.Instances, Instance{V: vs, N: 1, At: at, Task: task})
	if len(m.Instances) > maxInstances {
		oldest := 0
		for i := range m.Instances {
			if m.Instances[i].At < m.Instances[oldest].At {
				oldest = i
			}
		}
		m.Instances = slices.Delete(m.Instances, oldest, oldest+1)
	}
}

// observe adds one failure's evidence.
func (m *Mistake) observe(f *Facts, c Call, sig signature.Signature, message, task, trajectoryID, source string, at time.Time) {
	m.Failures++
	if m.FirstSeen.IsZero() || at.Before(m.FirstSeen) {
		m.FirstSeen = at
	}
	if at.After(m.LastSeen) {
		m.LastSeen = at
	}
	var priors, took []string
	for _, x := range f.Features {
		if tool, ok := strings.CutPrefix(x, "p:"); ok {
			priors = append(priors, tool)
		}
		if tool, ok := strings.CutPrefix(x, "t:"); ok {
			took = append(took, tool)
		}
	}
	// Argument names quoted in the message are masked in its template.
	named, stems := namedPaths(f.Leaves, sig.Template+" "+clip(message, 2048))
	m.NamedStems = union(m.NamedStems, stems)
	said := strings.ToLower(sig.Template + " " + clip(message, 2048))
	m.NamesTool = wordIn(said, strings.ToLower(f.Tool)) ||
		wordIn(said, strings.ToLower(strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(f.Tool)))
	if m.FailShapes == nil {
		m.FailShapes = map[string][]string{}
	}
	for _, l := range f.Leaves {
		ss := m.FailShapes[l.Path]
		sh := Shape(l.Text)
		if slices.Contains(ss, sh) || len(ss) >= maxFailShapes || len(ss) == 0 && len(m.FailShapes) >= maxFailPaths {
			continue
		}
		m.FailShapes[l.Path] = append(ss, sh)
		slices.Sort(m.FailShapes[l.Path])
	}
	if m.Failures == 1 {
		m.Common = slices.Clone(f.Features)
		m.Named = named
		m.Example = clip(signature.CanonicalAction(c.Tool, c.Args, signature.ActionOptions{Literals: signature.MaskLiterals}), maxValueText)
	} else {
		m.Common = intersect(m.Common, f.Features)
		switch {
		case len(m.Named) == 0:
			m.Named = named
		case len(named) > 0:
			if both := intersect(m.Named, named); len(both) > 0 {
				m.Named = both
			}
		}
	}
	m.addLimits(readLimits(f.Leaves, named, message))
	low := strings.ToLower(clip(message, 2048))
	for _, l := range f.Leaves {
		if slices.Contains(named, l.Path) && !slices.Contains(m.Quoted, l.Path) && len(l.Text) > 0 && indexWord(low, strings.ToLower(l.Text)) >= 0 {
			m.Quoted = append(m.Quoted, l.Path)
			slices.Sort(m.Quoted)
		}
	}
	for _, x := range f.Features {
		st, ok := strings.CutPrefix(x, "o:")
		if !ok || len(m.States) >= maxStates || slices.Contains(m.States, x) {
			continue
		}
		if i := strings.IndexByte(st, '='); i > 0 && indexWord(low, st[i+1:]) >= 0 {
			m.States = append(m.States, x)
			slices.Sort(m.States)
		}
	}
	m.PriorUnion = union(m.PriorUnion, priors)
	m.TookUnion = union(m.TookUnion, took)
	if said := identifiers(message); len(m.Said) < maxSaid {
		m.Said = union(m.Said, said)
		if len(m.Said) > maxSaid {
			m.Said = m.Said[:maxSaid]
		}
	}
	m.SaysRepeat = m.SaysRepeat || repeatWords.MatchString(strings.ToLower(message))
	m.Calls = appendCapped(m.Calls, f.Hash, maxCalls)
	m.Cue = transientCue(sig, message)
	if task = clip(strings.TrimSpace(task), maxTaskText); task != "" && !slices.Contains(m.Tasks, task) {
		m.Tasks = appendCapped(m.Tasks, task, maxTasks)
	}
	if trajectoryID != "" && !slices.Contains(m.Trajectories, trajectoryID) {
		m.Trajectories = appendCapped(m.Trajectories, trajectoryID, maxTrajectories)
	}
	if source != "" && !slices.Contains(m.Sources, source) && len(m.Sources) < maxSources {
		m.Sources = append(m.Sources, source)
		slices.Sort(m.Sources)
	}
}

// Fit refits the mistake's kind and rule on its evidence and the tool's
// recent calls. It is what makes a mistake generalise, and what retires it
// when the tool's calls stop failing.
func (m *Mistake) Fit(t *Tool) {
	if m.transient() {
		m.Kind = KindTransient
		m.Rule = Rule{Level: LevelNone}
		return
	}
	from := t.since(m.Began)
	okShapes := t.okShapes(from)
	rule := Rule{Level: LevelForm, Shapes: map[string][]string{}}
	n := t.successesMeeting(&rule, from)
	// A bound the message states is the rule, unless calls over it worked.
	if lim := m.limitRule(); len(lim) > 0 {
		r := Rule{Level: LevelForm, Features: lim, Shapes: map[string][]string{}}
		if t.successesMeeting(&r, from) == 0 {
			rule, n = r, 0
		}
	}
	if n == 0 && len(rule.Features) == 0 {
		// Nothing to contrast the failures with yet: start from what the
		// error says it is about.
		rule.Features = m.seed()
	}
	// Most general first: add, one at a time, the feature every failure
	// had that excludes the most successful calls still meeting the rule,
	// until none does (or none is left).
	for n > 0 {
		best, bestN := "", n
		for _, f := range m.candidates(t, &rule, okShapes, from) {
			try := rule.with(f, m.FailShapes)
			if k := t.successesMeeting(&try, from); k < bestN {
				best, bestN = f, k
			}
		}
		if best == "" {
			break
		}
		rule, n = rule.with(best, m.FailShapes), bestN
	}
	// Successful calls still meet the rule: nothing in the calls tells the
	// failures apart. The error may still say what it is about: the
	// argument it names, written as every failure wrote it, or the tool
	// itself (removed, renamed), when no call that met that worked since
	// the mistake began (calls that worked so before were under another
	// regime: a drift).
	explained := n == 0
	if !explained {
		if said := m.saidRule(); said != nil {
			r := Rule{Level: LevelForm, Features: said, Shapes: map[string][]string{}}
			if t.successesMeeting(&r, t.after(m.Began)) == 0 {
				rule, explained = r, true
			}
		}
	}
	slices.Sort(rule.Features)
	if len(rule.Shapes) == 0 {
		rule.Shapes = nil
	}
	for path := range rule.Shapes {
		if ws := okShapes[path]; len(ws) > 0 && explained {
			if rule.Working == nil {
				rule.Working = map[string][]string{}
			}
			rule.Working[path] = ws
		}
	}
	e := t.estimate(&rule, nil, m.SignatureID, from)
	if e.Fails+e.OKs == 0 {
		// The failures left the tool's recent history and no call has met
		// the rule since: what was learnt still stands.
		e.P = (1 + priorFail) / (1 + priorFail + priorOK)
	}
	// An error that names an entity of the task the call does not carry
	// says the rule depends on that entity (its settings, its state): the
	// calls' features alone do not explain it.
	taskScoped := slices.ContainsFunc(m.Instances, func(in Instance) bool { return in.Task })
	// Failures about several entities, every recent call that met the
	// rule among them: the rule holds beyond the one entity an error
	// named, and is no longer a guess for the next.
	general := len(m.Instances) >= 2 && e.OKs == 0
	switch {
	case taskScoped:
		// For another entity the rule is a guess: its settings may differ.
		e.P = e.lower
		if !general {
			e.P *= unconfirmed
		}
	case !explained:
		// An unexplained rule says "calls like this often fail": only a
		// clear majority of recent failures makes it a warning.
		e.P = e.lower
		if len(m.Instances) > 0 && !general && !slices.ContainsFunc(rule.Features, func(f string) bool { return strings.HasPrefix(f, "o:") }) {
			// The error names the entity the call was about: its state
			// (unseen unless a result shows it) decides, so for another
			// entity the rule is a guess.
			e.P *= unconfirmed
		}
	case len(m.Trajectories) < 2 && !m.supported(rule.Features):
		// One run's failure and a rule its message does not speak of:
		// one guess among the facts that told it from calls that worked.
		// A second run's failure confirms it (or narrows it down).
		e.P *= unconfirmed
	}
	rule.P, rule.Fails, rule.OKs = e.P, e.Fails, e.OKs
	rule.Reach = t.reach(&rule, from)
	m.Kind, m.Rule = KindDeterministic, rule
	// The entities the failures were about: calls carrying one's values
	// fail while it stays in that state.
	for i := range m.Instances {
		in := &m.Instances[i]
		r := &Rule{Level: LevelForm}
		if in.Task {
			r = &m.Rule // the task's entity and the rule together
		}
		ei := t.estimate(r, in.V, m.SignatureID, 0)
		if ei.Fails+ei.OKs == 0 {
			k := float64(min(in.N, 2))
			ei.P = (k + priorFail) / (k + priorFail + priorOK)
		}
		in.P = ei.P
	}
	m.CallP = m.CallP[:0]
	for _, h := range m.Calls {
		m.CallP = append(m.CallP, t.identical(h, m.SignatureID, m.Calls))
	}
	if (!explained || taskScoped) && len(m.Instances) > 0 {
		m.Kind, m.Rule.Level = KindState, LevelInstance
	}
}

// unconfirmed scales the probability of a rule one run taught and its
// message does not name: the rule is one of several the facts allowed.
const unconfirmed = 0.5

// saidRule is the rule the error message states, when it names an
// argument whose shape every failure shared, or the tool itself; nil
// otherwise.
func (m *Mistake) saidRule() []string {
	out := m.limitRule()
	for _, f := range m.Common {
		if m.namesBoth(f) {
			out = append(out, f)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, f := range m.Common {
		if strings.HasPrefix(f, "s:") && slices.Contains(m.Named, featurePath(f)) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		// The named argument written in various ways: its presence is what
		// the message is about ("x is not a valid parameter").
		for _, f := range m.Common {
			if p := featurePath(f); strings.HasPrefix(f, "a:") && slices.Contains(m.Named, p) && !slices.Contains(m.Quoted, p) {
				out = append(out, f)
			}
		}
	}
	if len(out) == 0 && m.NamesTool {
		return []string{}
	}
	return out
}

// limitRule is the rule the bounds the messages stated on named arguments
// make; nil when they stated none.
func (m *Mistake) limitRule() []string {
	var out []string
	for _, l := range m.Limits {
		if slices.Contains(m.Named, l.Path) {
			out = append(out, l.feature())
		}
	}
	return out
}

// with returns the rule with one more feature; fails gives, for "ns:PATH",
// the shapes PATH failed in.
func (r Rule) with(f string, fails map[string][]string) Rule {
	out := r
	out.Features = append(slices.Clone(r.Features), f)
	if path, ok := strings.CutPrefix(f, "ns:"); ok {
		out.Shapes = maps.Clone(r.Shapes)
		if out.Shapes == nil {
			out.Shapes = map[string][]string{}
		}
		out.Shapes[path] = fails[path]
	}
	return out
}

// transient reports whether the evidence says the failure goes away by
// itself: retries of the identical call worked at least as often as they
// failed again, or the error reads as a transient fault and no retry
// contradicted it.
func (m *Mistake) transient() bool {
	failedAgain := m.Retried - m.RetryOK
	if m.RetryOK > 0 && m.RetryOK >= failedAgain {
		return true
	}
	return m.Cue && failedAgain <= m.RetryOK
}

// candidates returns the features the rule may be specialised with: those
// every failure had; for a path with a format, a shape no successful call
// used when every failure used such a shape; and the absence of a prior
// step that most successful calls still meeting the rule had and no
// failure had. Most likely cause first (see priority).
func (m *Mistake) candidates(t *Tool, r *Rule, okShapes map[string][]string, from int) []string {
	var out []string
	for _, f := range m.Common {
		if !slices.Contains(r.Features, f) && !valueFeature(f) {
			out = append(out, f)
		}
	}
	for path, fails := range m.FailShapes {
		oks, formatted := okShapes[path]
		if !formatted || slices.Contains(r.Features, "ns:"+path) || !slices.Contains(m.Common, "a:"+path) {
			continue
		}
		if !slices.ContainsFunc(fails, func(s string) bool { return slices.Contains(oks, s) }) {
			out = append(out, "ns:"+path)
		}
	}
	// Magnitudes, lengths and states are rules only where the message
	// speaks of them: an id's magnitude or a note's length is incidental.
	out = slices.DeleteFunc(out, func(f string) bool {
		incidental := strings.HasPrefix(f, "m:") || strings.HasPrefix(f, "l:") || strings.HasPrefix(f, "o:") || strings.HasPrefix(f, "lt:")
		return incidental && !m.supported([]string{f})
	})
	// A step of a tool the message names ("call verify_account first")
	// that no failure had taken may be the one missing.
	for _, tool := range m.Said {
		if !slices.Contains(r.Features, "nt:"+tool) && !slices.ContainsFunc(m.TookUnion, func(x string) bool { return normName(x) == tool }) {
			for name := range t.knownTools(from) {
				if normName(name) == tool && !slices.Contains(out, "nt:"+name) {
					out = append(out, "nt:"+name)
				}
			}
		}
	}
	for _, x := range t.usual(r, from) {
		tool := x[2:]
		union := m.PriorUnion
		if x[0] == 't' {
			union = m.TookUnion
		}
		if !slices.Contains(union, tool) && !slices.Contains(r.Features, "n"+x) {
			out = append(out, "n"+x)
		}
	}
	slices.Sort(out)
	slices.SortStableFunc(out, func(a, b string) int { return m.priority(a) - m.priority(b) })
	return out
}

// priority orders candidate features, most likely cause first: the
// arguments the error names, then how arguments are written, which ones
// are there, a missing prior step, a repeat, made-up values, magnitudes,
// prior steps taken, and an entity's state last.
func (m *Mistake) priority(f string) int {
	if m.namesBoth(f) {
		return 0 // "valid_until is before valid_from"
	}
	for _, pre := range []string{"np:", "nt:"} {
		if tool, ok := strings.CutPrefix(f, pre); ok && slices.Contains(m.Said, normName(tool)) {
			return 0 // the message names the step: "call verify_account first"
		}
	}
	if path := featurePath(f); path != "" && slices.Contains(m.Named, path) {
		switch {
		case strings.HasPrefix(f, "s:"), strings.HasPrefix(f, "ns:"):
			return 0
		case strings.HasPrefix(f, "a:") && !slices.Contains(m.Quoted, path):
			return 0 // "x is not a valid parameter": its presence
		case strings.HasPrefix(f, "u:"):
			return 1 // a made-up value is a commoner cause than one word of many
		}
		return 2
	}
	if path := featurePath(f); path != "" && slices.Contains(m.NamedStems, path) && !strings.HasPrefix(f, "e:") {
		return 2
	}
	switch {
	case strings.HasPrefix(f, "s:"), strings.HasPrefix(f, "ns:"):
		return 3
	case strings.HasPrefix(f, "e:"):
		return 4
	case strings.HasPrefix(f, "a:"), strings.HasPrefix(f, "np:"):
		return 5
	case strings.HasPrefix(f, "nt:"), f == "r":
		return 6
	case strings.HasPrefix(f, "u:"):
		return 7
	case strings.HasPrefix(f, "m:"), strings.HasPrefix(f, "l:"):
		return 8
	case strings.HasPrefix(f, "p:"), strings.HasPrefix(f, "t:"):
		return 9
	}
	return 10
}

// seed is where the search for a rule starts: how the arguments the error
// names are written (the error says what it is about), and a repeat when
// every failure repeated a call that had worked.
func (m *Mistake) seed() []string {
	out := slices.Clone(m.saidRule())
	if slices.Contains(m.Common, "r") {
		out = append(out, "r")
	}
	return out
}

// featurePath returns the argument path a feature is about, "" for
// features about the situation.
func featurePath(f string) string {
	if p, ok := strings.CutPrefix(f, "ns:"); ok {
		return p
	}
	if len(f) < 2 || f[1] != ':' {
		return ""
	}
	switch f[0] {
	case 'a', 'u':
		return f[2:]
	case 's', 'm', 'l', 'e':
		if i := strings.IndexByte(f, '='); i > 2 {
			return f[2:i]
		}
	}
	return ""
}

// namedPaths returns the argument paths an error message names as a word
// (a path's last segment, written with underscores, spaces or as one
// word), sorted, and those it names only by their stem (payment for
// payment_id), which only orders the search for a rule.
func namedPaths(leaves []Leaf, message string) (named, stems []string) {
	msg := strings.ToLower(message)
	for _, l := range leaves {
		last := strings.ToLower(l.Path[strings.LastIndexByte(l.Path, '.')+1:])
		if len(last) < 2 {
			continue
		}
		full := false
		for _, w := range []string{last, strings.ReplaceAll(last, "_", " "), strings.ReplaceAll(last, "_", "")} {
			if wordIn(msg, w) {
				named = append(named, l.Path)
				full = true
				break
			}
		}
		if !full {
			if stem := stemOf(last); stem != "" && wordIn(msg, stem) {
				stems = append(stems, l.Path)
			}
		}
	}
	slices.Sort(named)
	slices.Sort(stems)
	return slices.Compact(named), slices.Compact(stems)
}

// stemOf strips an identifier suffix from an argument name (payment_id →
// payment), "" when it has none or too little is left.
func stemOf(name string) string {
	for _, suf := range []string{"_ids", "_id", "id", "_number", "_no", "_code", "_name", "_ref", "_key"} {
		if s, ok := strings.CutSuffix(name, suf); ok && len(s) >= 3 {
			return strings.TrimRight(s, "_")
		}
	}
	return ""
}

// wordIn reports whether w occurs in s as a whole word.
func wordIn(s, w string) bool {
	for i := 0; i+len(w) <= len(s); {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !wordByte(s[j-1])
		after := j+len(w) == len(s) || !wordByte(s[j+len(w)])
		if before && after {
			return true
		}
		i = j + 1
	}
	return false
}

func wordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// intersect returns the elements of sorted a that sorted b has too.
func intersect[T string | uint32](a, b []T) []T {
	var out []T
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); ok {
			out = append(out, x)
		}
	}
	return out
}

// union returns the sorted union of two sorted sets.
func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func appendCapped[T any](xs []T, x T, n int) []T {
	xs = append(xs, x)
	if len(xs) > n {
		xs = slices.Delete(xs, 0, len(xs)-n)
	}
	return xs
}
