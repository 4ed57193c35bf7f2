package learner

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/signature"
)

// CorrectionKind says where a correction was learnt.
type CorrectionKind string

// Correction kinds.
const (
	// CorrectionRecovered: later in the same trajectory the agent called
	// the same tool again and it worked.
	CorrectionRecovered CorrectionKind = "recovered"
	// CorrectionAligned: a successful trajectory of a similar task, aligned
	// with the failing one, did something else at that point.
	CorrectionAligned CorrectionKind = "aligned"
	// CorrectionBefore: the successful trajectory took a step the failing
	// one skipped before the failed call.
	CorrectionBefore CorrectionKind = "before"
	// CorrectionMissing: later in the same trajectory the very same call
	// worked once a step of another tool, about the same things, had been
	// taken in between: that step was missing (a precondition).
	CorrectionMissing CorrectionKind = "missing"
)

// Correction is "instead of A, do B": the failed action and the action that
// worked in its place.
type Correction struct {
	Kind    CorrectionKind
	Instead Action
	Do      Action
	Text    string // compact rendering; only the arguments that changed
	From    string // trajectory the working action comes from
	Support int    // occurrences that yielded this same correction
	// Last is the note's Clock when an occurrence last taught this
	// correction (0: before notes kept a clock): of two fixes that
	// contradict each other, the one still being taught is current.
	Last int
}

// MistakeNote is what the memory knows about one failure signature: when
// it happens, what the agent was doing, how it failed, how often, where,
// and what to do instead.
type MistakeNote struct {
	ID            string // the signature id
	Signature     signature.Signature
	When          string   // context pattern: what the tasks that hit it share
	After         string   // tool most often called just before the failure ("" at the start)
	Doing         Action   // the first failed action seen, verbatim
	DoingPattern  string   // the failed action with literals masked
	Count         int      // failed steps with this signature
	TrajectoryIDs []string // trajectories it happened in, sorted
	Tasks         []string // distinct task texts it happened in, sorted
	Corrections   []Correction
	// Shapes holds, per top-level argument, the shapes (see Shape) the
	// argument had in failing calls; with the corrections they make the
	// note's format rules (ArgRules).
	Shapes map[string][]string
	// FailedForms are the forms (see Form) of the failing calls, sorted
	// and bounded: a correction that writes one of them is refuted.
	FailedForms []string
	// RepeatedCall: a failure repeated, argument for argument, a call that
	// had succeeded earlier in its run (a quota, a one-time operation).
	// NewCall: a failure was of a call not made successfully before in its
	// run. A note with RepeatedCall only is about calling again.
	RepeatedCall bool
	NewCall      bool
	// Clock counts the merges that made the note: a logical time for its
	// corrections' Last.
	Clock int
}

// RepeatOnly reports whether every failure the note knows repeated a call
// that had succeeded earlier in its run: the call is wrong only as a
// repeat.
func (n MistakeNote) RepeatOnly() bool { return n.RepeatedCall && !n.NewCall }

// MistakeOptions configures DistillMistakes. The zero value uses
// TokenJaccard, DefaultMinSimilarity, DefaultIgnoredTools and
// DefaultMaxCorrections.
type MistakeOptions struct {
	Similarity     Similarity
	MinSimilarity  float64  // a successful trajectory this similar may teach a correction
	IgnoreTools    []string // nil means DefaultIgnoredTools; empty means none
	MaxCorrections int      // corrections kept per note, most supported first
}

// DefaultMaxCorrections keeps notes short enough to inject.
const DefaultMaxCorrections = 3

func (o MistakeOptions) withDefaults() MistakeOptions {
	if o.Similarity == nil {
		o.Similarity = TokenJaccard
	}
	if o.MinSimilarity == 0 {
		o.MinSimilarity = DefaultMinSimilarity
	}
	if o.MaxCorrections == 0 {
		o.MaxCorrections = DefaultMaxCorrections
	}
	return o
}

// DistillMistakes writes one note per failure signature found in trajs,
// with corrections from in-episode recoveries and from aligning each
// failing trajectory with the most similar successful one. Notes come out
// most frequent first; the result does not depend on the order of trajs.
func DistillMistakes(trajs []admem.Trajectory, opt MistakeOptions) []MistakeNote {
	opt = opt.withDefaults()
	ignore := ignoreSet(opt.IgnoreTools)
	sorted := slices.Clone(trajs)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	var successes []admem.Trajectory
	for _, t := range sorted {
		if t.Outcome == admem.OutcomeSuccess {
			successes = append(successes, t)
		}
	}

	notes := map[string]*MistakeNote{}
	afterCounts := map[string]map[string]int{} // note id → preceding tool → count
	for _, t := range sorted {
		idx := usableSteps(t.Steps, ignore)
		var failedAt []int // positions in idx
		for k, i := range idx {
			if t.Steps[i].Failed() {
				failedAt = append(failedAt, k)
			}
		}
		if len(failedAt) == 0 {
			continue
		}
		actions := make([]Action, len(idx))
		for k, i := range idx {
			actions[k] = ActionOf(t.Steps[i])
		}
		guide, guideActions := bestGuide(t, actions, successes, ignore, opt)
		var pairs []Pair
		if guide != nil {
			pairs, _ = Align(actions, guideActions, DefaultScoring)
		}
		for _, k := range failedAt {
			step := t.Steps[idx[k]]
			sig := signature.FromStep(step)
			n := notes[sig.ID()]
			if n == nil {
				n = &MistakeNote{
					ID:           sig.ID(),
					Signature:    sig,
					Doing:        ActionOf(step),
					DoingPattern: ActionOf(step).Pattern(),
				}
				notes[n.ID] = n
				afterCounts[n.ID] = map[string]int{}
			}
			n.Count++
			n.TrajectoryIDs = union(n.TrajectoryIDs, []string{t.ID})
			n.Tasks = union(n.Tasks, []string{t.Task})
			after := ""
			if k > 0 {
				after = actions[k-1].Tool
			}
			afterCounts[n.ID][after]++
			n.Shapes = addShapes(n.Shapes, actions[k])
			n.FailedForms = unionCapped(n.FailedForms, []string{Form(actions[k])}, maxFailedForms)
			repeated := repeatsSuccess(t, idx, k)
			if repeated {
				n.RepeatedCall = true
			} else {
				n.NewCall = true
			}
			// A call that failed as a repeat was right the first time: its
			// fix is not to make it again. A later call of the same tool
			// is about another target, and what a similar run did next
			// is just the next step, written as that run wrote it.
			if repeated {
				continue
			}
			if c, ok := recovery(t, idx, k); ok {
				n.addCorrection(c)
			}
			if guide != nil {
				if c, ok := divergence(actions, guideActions, pairs, k, guide.ID, sameAs(t.Task, guide.Task)); ok {
					n.addCorrection(c)
				}
			}
		}
	}

	out := make([]MistakeNote, 0, len(notes))
	for _, n := range notes {
		n.After = mostCommon(afterCounts[n.ID])
		n.When = contextPattern(n.Tasks)
		n.sortCorrections(opt.MaxCorrections)
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// bestGuide picks the successful trajectory of a similar task whose steps
// align best with t's actions, and returns it with its usable, non-failed
// actions.
func bestGuide(t admem.Trajectory, actions []Action, successes []admem.Trajectory, ignore map[string]bool, opt MistakeOptions) (*admem.Trajectory, []Action) {
	var (
		best      *admem.Trajectory
		bestActs  []Action
		bestScore float64
	)
	for i := range successes {
		s := &successes[i]
		if s.ID == t.ID || opt.Similarity(t.Task, s.Task) < opt.MinSimilarity {
			continue
		}
		var acts []Action
		for _, st := range procedureSteps(*s, ignore) {
			acts = append(acts, ActionOf(st))
		}
		if len(acts) == 0 {
			continue
		}
		_, score := Align(actions, acts, DefaultScoring)
		// Per column, so a long success does not win by length alone.
		score /= float64(max(len(actions), len(acts)))
		if best == nil || score > bestScore {
			best, bestActs, bestScore = s, acts, score
		}
	}
	return best, bestActs
}

// recovery finds a later successful call of the same tool in the same
// trajectory: the agent's own fix. When that call is the failed call again,
// written the same way, what changed was not the call but a step in
// between: the successful call of another tool that shares the most values
// with the failed call and was not made before it is the missing step.
// Failing that, when the error is about the tool itself (its message names
// the tool: removed, renamed, read-only), a later successful call of
// another tool that takes the same arguments and shares a value with the
// failed call: the tool that replaced it.
func recovery(t admem.Trajectory, idx []int, k int) (Correction, bool) {
	failed := t.Steps[idx[k]]
	fa := ActionOf(failed)
	sig := signature.FromStep(failed)
	aboutTool := strings.Contains(sig.Template, failed.Action)
	subject := subjectOf(sig.Template, slices.Collect(maps.Keys(fa.Args)))
	var replacement *admem.Step
	for j, i := range idx[k+1:] {
		s := t.Steps[i]
		if s.Failed() {
			continue
		}
		if s.Action == failed.Action {
			if sameWriting(fa, ActionOf(s), subject) {
				if m, ok := missingStep(t, idx, k, k+1+j); ok {
					return newCorrection(CorrectionMissing, fa, m, t.ID), true
				}
			}
			return newCorrection(CorrectionRecovered, fa, ActionOf(s), t.ID), true
		}
		if replacement == nil && aboutTool && replaces(fa, ActionOf(s)) {
			replacement = &t.Steps[i]
		}
	}
	if replacement != nil {
		return newCorrection(CorrectionRecovered, fa, ActionOf(*replacement), t.ID), true
	}
	return Correction{}, false
}

// sameWriting reports whether b is call a again written the same way: the
// same values (see Repeats), and the argument the error message names
// (subject, "" for none) in the same shape or up to case. 111.75 and 11175
// are the same digits but not the same writing: when the error was about
// unit_price, a call rewritten so was fixed by its format, not by a step in
// between. Ids written another way elsewhere in the call (BLD-3045, 3045),
// or anywhere when the message names no argument, are not what the error
// was about.
func sameWriting(a, b Action, subject string) bool {
	if !Repeats(a, b) {
		return false
	}
	if subject == "" {
		return true
	}
	v, w := a.Args[subject], b.Args[subject]
	return Shape(v) == Shape(w) || strings.EqualFold(fmt.Sprint(v), fmt.Sprint(w))
}

// missingStep looks between positions k (a failed call) and ok (the same
// call working) of idx for the step that made the difference: a
// successful call of another tool sharing the most values with the failed
// call (the latest on ties), not a call already made before k.
func missingStep(t admem.Trajectory, idx []int, k, ok int) (Action, bool) {
	failed := ActionOf(t.Steps[idx[k]])
	var best Action
	bestN := 0
	for _, i := range idx[k+1 : ok] {
		s := t.Steps[i]
		if s.Failed() || s.Action == failed.Tool {
			continue
		}
		a := ActionOf(s)
		if slices.ContainsFunc(idx[:k], func(p int) bool { return !t.Steps[p].Failed() && Repeats(a, ActionOf(t.Steps[p])) }) {
			continue
		}
		if n := len(sharedKeys(failed, a)); n > 0 && n >= bestN {
			best, bestN = a, n
		}
	}
	return best, bestN > 0
}

// sharedKeys returns the arguments of a whose values b also takes (in any
// argument, written either way), sorted.
func sharedKeys(a, b Action) []string {
	var out []string
	for k, v := range a.Args {
		if takesValue(b, v) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Need is a step a call needs first: a call of Tool taking the values the
// failing call had in its arguments Keys.
type Need struct {
	Tool string
	Keys []string
}

// MissingStep returns the step the note's first correction says was
// missing before the failed call (see CorrectionMissing).
func (n MistakeNote) MissingStep() (Need, bool) {
	if len(n.Corrections) == 0 || n.Corrections[0].Kind != CorrectionMissing {
		return Need{}, false
	}
	c := n.Corrections[0]
	keys := sharedKeys(c.Instead, c.Do)
	if len(keys) == 0 {
		return Need{}, false
	}
	return Need{Tool: c.Do.Tool, Keys: keys}, true
}

// Met reports whether one of done, calls that worked, is the needed step
// for call a: a call of the needed tool taking a's values of every key.
func (nd Need) Met(a Action, done []Action) bool {
	for _, d := range done {
		if d.Tool != nd.Tool {
			continue
		}
		if !slices.ContainsFunc(nd.Keys, func(k string) bool { return !takesValue(d, a.Args[k]) }) {
			return true
		}
	}
	return false
}

// takesValue reports whether one of a's arguments is v, written either way.
func takesValue(a Action, v any) bool {
	for _, w := range a.Args {
		if sameValue(v, w) {
			return true
		}
	}
	return false
}

// replaces reports whether b, a call of another tool, can stand in for a:
// it takes the same argument names and agrees on at least one value up to
// how it is written (see sameValue).
func replaces(a, b Action) bool {
	if a.Tool == b.Tool || len(a.Args) == 0 || len(a.Args) != len(b.Args) {
		return false
	}
	same := false
	for k, v := range a.Args {
		w, ok := b.Args[k]
		if !ok {
			return false
		}
		if sameValue(v, w) {
			same = true
		}
	}
	return same
}

// sameValue reports whether two literals are one value written two ways:
// the same letters and digits up to case and separators (ORD-20027,
// ord-20027), or an id with and without its prefix: the same digits, at
// least three of them, one side having no letters (20027, ORD-20027).
func sameValue(v, w any) bool {
	a, b := foldValue(v), foldValue(w)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	da, db := digitsOf(a), digitsOf(b)
	return len(da) >= 3 && da == db && (len(da) == len(a) || len(db) == len(b))
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// foldValue is a scalar's letters and digits, lower-cased: ORD-123 and ord-123
// are one value written two ways.
func foldValue(v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			return r
		}
		return -1
	}, s)
}

// repeatsSuccess reports whether the failed call at position k of idx
// repeats (see Repeats) a call that succeeded earlier in t.
func repeatsSuccess(t admem.Trajectory, idx []int, k int) bool {
	failed := ActionOf(t.Steps[idx[k]])
	for _, i := range idx[:k] {
		if s := t.Steps[i]; !s.Failed() && Repeats(failed, ActionOf(s)) {
			return true
		}
	}
	return false
}

// Repeats reports whether a makes call b again: the same tool and argument
// names, each value the same up to how it is written (20027 and ORD-20027,
// see sameValue). Nested values must be equal.
func Repeats(a, b Action) bool {
	if a.Tool != b.Tool || len(a.Args) != len(b.Args) {
		return false
	}
	for k, v := range a.Args {
		w, ok := b.Args[k]
		if !ok || leafKey(v) != leafKey(w) && !sameValue(v, w) {
			return false
		}
	}
	return true
}

// sameAs returns how calls of a run of task are compared with a guide's of
// guideTask: literally when it is the same task; by form (sameCall) when the
// guide did another task, whose ids and amounts differ because its task
// does: such a call is the same call, and what differs must be elsewhere.
func sameAs(task, guideTask string) func(a, b Action) bool {
	if task == guideTask {
		return func(a, b Action) bool { return a.Text() == b.Text() }
	}
	return sameCall
}

// divergence states what the guide did where the failing sequence a went
// wrong at position k. pairs aligns a with the guide's actions g; same
// tells a call of a from the same call of the guide (see sameAs).
func divergence(a, g []Action, pairs []Pair, k int, from string, same func(a, b Action) bool) (Correction, bool) {
	col := slices.IndexFunc(pairs, func(p Pair) bool { return p.A == k })
	if col < 0 {
		return Correction{}, false
	}
	p := pairs[col]
	switch {
	case p.B >= 0 && !same(a[k], g[p.B]):
		// The guide made a call at this point that differs: a substitution
		// of tool, or the same tool with other arguments.
		return newCorrection(CorrectionAligned, a[k], g[p.B], from), true
	case p.B < 0:
		// The guide never made this call; it went on with its next one.
		for _, q := range pairs[col+1:] {
			if q.B >= 0 && (q.A < 0 || !same(a[q.A], g[q.B])) {
				return newCorrection(CorrectionAligned, a[k], g[q.B], from), true
			}
		}
		return Correction{}, false
	}
	// The guide made the very same call and it worked, so what differs is
	// earlier: the latest step the guide took that the failing run did not.
	for c := col - 1; c >= 0; c-- {
		q := pairs[c]
		if q.A < 0 && q.B >= 0 {
			return newCorrection(CorrectionBefore, a[k], g[q.B], from), true
		}
		if q.A >= 0 && q.B >= 0 && !same(a[q.A], g[q.B]) {
			return newCorrection(CorrectionAligned, a[q.A], g[q.B], from), true
		}
	}
	return Correction{}, false
}

func newCorrection(kind CorrectionKind, instead, do Action, from string) Correction {
	return Correction{Kind: kind, Instead: instead, Do: do, From: from, Support: 1, Text: correctionText(kind, instead, do)}
}

// correctionText renders a correction. For the same tool only the changed
// arguments are shown: the reader needs the difference, not the call.
func correctionText(kind CorrectionKind, a, b Action) string {
	opt := signature.ActionOptions{MaxValueLen: maxRenderValue}
	if kind == CorrectionBefore || kind == CorrectionMissing {
		return fmt.Sprintf("before %s(…), do %s", a.Tool, signature.CanonicalAction(b.Tool, b.Args, opt))
	}
	if a.Tool != b.Tool {
		// The failed call is in the note already; its tool is enough here.
		return fmt.Sprintf("instead of %s(…), do %s", a.Tool, signature.CanonicalAction(b.Tool, b.Args, opt))
	}
	da, db := map[string]any{}, map[string]any{}
	for k, v := range a.Args {
		if w, ok := b.Args[k]; !ok || leafKey(v) != leafKey(w) {
			da[k] = v
		}
	}
	for k, w := range b.Args {
		if v, ok := a.Args[k]; !ok || leafKey(v) != leafKey(w) {
			db[k] = w
		}
	}
	if len(da) == 0 && len(db) == 0 {
		return fmt.Sprintf("retry %s: the same call worked later", signature.CanonicalAction(a.Tool, a.Args, opt))
	}
	ra := signature.CanonicalAction(a.Tool, da, opt)
	rb := signature.CanonicalAction(b.Tool, db, opt)
	if len(da) < len(a.Args) {
		ra = strings.TrimSuffix(ra, ")") + ", …)"
		rb = strings.TrimSuffix(rb, ")") + ", …)"
	}
	return fmt.Sprintf("instead of %s, do %s", ra, rb)
}

func (n *MistakeNote) addCorrection(c Correction) {
	for i := range n.Corrections {
		if n.Corrections[i].Text == c.Text {
			n.Corrections[i].Support += c.Support
			n.Corrections[i].Last = max(n.Corrections[i].Last, c.Last)
			return
		}
	}
	n.Corrections = append(n.Corrections, c)
}

// sortCorrections drops refuted and superseded corrections and orders the
// rest: those that can take the failed call's place first, then the
// agent's own recoveries (verified in the very state that failed) before
// fixes read off other runs, then by support and by how recently they were
// taught; it keeps the first max.
func (n *MistakeNote) sortCorrections(maxN int) {
	all := n.Corrections
	n.Corrections = slices.DeleteFunc(slices.Clone(all), func(c Correction) bool { return n.refuted(c) || superseded(c, all) })
	rank := map[CorrectionKind]int{CorrectionRecovered: 0, CorrectionMissing: 0, CorrectionAligned: 1, CorrectionBefore: 2}
	subject := n.subjectArg()
	sort.SliceStable(n.Corrections, func(i, j int) bool {
		a, b := n.Corrections[i], n.Corrections[j]
		if pa, pb := n.inPlace(a, subject), n.inPlace(b, subject); pa != pb {
			return pa
		}
		if va, vb := rank[a.Kind] == 0, rank[b.Kind] == 0; va != vb {
			return va
		}
		if a.Support != b.Support {
			return a.Support > b.Support
		}
		if a.Last != b.Last {
			return a.Last > b.Last
		}
		if rank[a.Kind] != rank[b.Kind] {
			return rank[a.Kind] < rank[b.Kind]
		}
		return a.Text < b.Text
	})
	if maxN > 0 && len(n.Corrections) > maxN {
		n.Corrections = n.Corrections[:maxN]
	}
}

// superseded reports whether a recovery taught after c's last occurrence
// calls c's tool with an argument written in another shape: the rule
// changed (a drift), so c, still well supported, is the old fix.
func superseded(c Correction, all []Correction) bool {
	for _, o := range all {
		if o.Kind != CorrectionRecovered || o.Last <= c.Last || o.Do.Tool != c.Do.Tool || o.Text == c.Text {
			continue
		}
		for k, v := range c.Do.Args {
			if w, ok := o.Do.Args[k]; ok && Shape(v) != "" && Shape(w) != "" && Shape(v) != Shape(w) {
				return true
			}
		}
	}
	return false
}

// refuted reports whether a correction learnt from another run rewrites
// the failed call in a form (see Form) that itself failed with the note's
// signature: the form was not the fix (the rule changed, or the difference
// lay elsewhere). The agent's own recoveries were verified where they
// failed; a correction of the same form is about instances, not forms.
func (n *MistakeNote) refuted(c Correction) bool {
	if c.Kind == CorrectionRecovered || c.Do.Tool != n.Signature.Tool {
		return false
	}
	f := Form(c.Do)
	return f != Form(c.Instead) && slices.Contains(n.FailedForms, f)
}

// Replaced reports whether the note's error is about its tool (the message
// names it) and its first correction is another tool taking the failed
// call's arguments: the tool itself is the mistake (it was removed or
// renamed), whatever the call's arguments.
func (n MistakeNote) Replaced() bool {
	if len(n.Corrections) == 0 || !strings.Contains(n.Signature.Template, n.Signature.Tool) {
		return false
	}
	c := n.Corrections[0]
	return c.Kind != CorrectionBefore && c.Kind != CorrectionMissing && c.Do.Tool != c.Instead.Tool && n.inPlace(c, n.subjectArg())
}

// ToolGone reports whether the tool itself is the mistake, whatever its
// arguments: it was replaced (Replaced), or the message names the tool and
// it failed written in several forms, or with the error class Gone (HTTP
// 410: removed for good), never as a repeat, with no fix of its own calls
// known (removed, before anyone found what replaced it).
func (n MistakeNote) ToolGone() bool {
	if n.Replaced() {
		return true
	}
	gone := strings.EqualFold(n.Signature.Class, "Gone") || n.Signature.Class == "HTTP 410"
	if !strings.Contains(n.Signature.Template, n.Signature.Tool) || n.RepeatedCall || len(n.FailedForms) < 2 && !gone {
		return false
	}
	return !slices.ContainsFunc(n.Corrections, func(c Correction) bool { return c.Do.Tool == n.Signature.Tool })
}

// inPlace reports whether the correction's call can take the failed call's
// place: a step to do before it, or, for a correction of the failed call
// itself, another call of its tool (not the same call again: that says
// "retry", not what to change) or a tool taking all its argument names. An
// aligned call of an unrelated tool (what a similar run happened to do at
// that point), or a fix of an earlier step, says less about this mistake.
// subject is the argument the note's error names (subjectArg).
func (n MistakeNote) inPlace(c Correction, subject string) bool {
	switch {
	case c.Kind == CorrectionBefore || c.Kind == CorrectionMissing:
		return true
	case c.Instead.Tool != n.Signature.Tool:
		return false
	case c.Do.Tool == c.Instead.Tool:
		return !sameWriting(c.Do, c.Instead, subject)
	}
	for k := range c.Instead.Args {
		if _, ok := c.Do.Args[k]; !ok {
			return false
		}
	}
	return len(c.Instead.Args) > 0
}

func mostCommon(counts map[string]int) string {
	best, bestN := "", 0
	for k, n := range counts {
		if n > bestN || n == bestN && k < best {
			best, bestN = k, n
		}
	}
	return best
}

// contextPattern says what the tasks behind a note have in common: the one
// task, shortened, or the content words all of them share.
func contextPattern(tasks []string) string {
	if len(tasks) == 0 {
		return ""
	}
	if len(tasks) == 1 {
		return shorten(tasks[0], 16)
	}
	var common []string
	seen := map[string]bool{}
	rest := make([]map[string]bool, len(tasks)-1)
	for i, t := range tasks[1:] {
		rest[i] = taskTokens(t)
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(tasks[0]), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r > 127)
	}) {
		if len(w) < 2 || stopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		all := true
		for _, r := range rest {
			if !r[w] {
				all = false
				break
			}
		}
		if all {
			common = append(common, w)
		}
	}
	if len(common) > 0 {
		if len(common) > 12 {
			common = common[:12]
		}
		return "tasks about: " + strings.Join(common, " ")
	}
	// Nothing is shared by all: name the words most of the tasks use.
	type wc struct {
		w string
		n int
	}
	counts := map[string]int{}
	for _, t := range tasks {
		for w := range taskTokens(t) {
			counts[w]++
		}
	}
	var ws []wc
	for w, n := range counts {
		if 2*n >= len(tasks) && n > 1 && !strings.ContainsAny(w, "0123456789") {
			ws = append(ws, wc{w, n})
		}
	}
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].n != ws[j].n {
			return ws[i].n > ws[j].n
		}
		return ws[i].w < ws[j].w
	})
	if len(ws) == 0 {
		return fmt.Sprintf("%d different tasks", len(tasks))
	}
	if len(ws) > 8 {
		ws = ws[:8]
	}
	words := make([]string, len(ws))
	for i, x := range ws {
		words[i] = x.w
	}
	return fmt.Sprintf("%d tasks, most about: %s", len(tasks), strings.Join(words, " "))
}

// MergeNotes folds a newer note for the same signature into an existing
// one: counts add up, trajectories and tasks are united, corrections merge
// by text, and the existing exemplar action is kept.
func MergeNotes(existing, incoming MistakeNote, opt MistakeOptions) MistakeNote {
	opt = opt.withDefaults()
	out := existing
	out.Count += incoming.Count
	out.TrajectoryIDs = union(existing.TrajectoryIDs, incoming.TrajectoryIDs)
	out.Tasks = union(existing.Tasks, incoming.Tasks)
	out.When = contextPattern(out.Tasks)
	if out.After == "" {
		out.After = incoming.After
	}
	out.Shapes = unionShapes(existing.Shapes, incoming.Shapes)
	out.FailedForms = unionCapped(existing.FailedForms, incoming.FailedForms, maxFailedForms)
	out.RepeatedCall = existing.RepeatedCall || incoming.RepeatedCall
	out.NewCall = existing.NewCall || incoming.NewCall
	if len(incoming.Corrections) > 0 {
		// A merge that teaches nothing leaves the note as it was.
		out.Clock = existing.Clock + 1
	}
	out.Corrections = slices.Clone(existing.Corrections)
	for _, c := range incoming.Corrections {
		c.Last = out.Clock
		out.addCorrection(c)
	}
	out.sortCorrections(opt.MaxCorrections)
	return out
}

// Render returns the note as compact text for a prompt.
func (n MistakeNote) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Mistake (seen %d×", n.Count)
	if k := len(n.TrajectoryIDs); k > 1 {
		fmt.Fprintf(&b, " in %d runs", k)
	}
	b.WriteString(")")
	if n.When != "" {
		fmt.Fprintf(&b, " when %s", n.When)
	}
	if n.After != "" {
		fmt.Fprintf(&b, ", after %s", n.After)
	}
	fmt.Fprintf(&b, ": %s fails with %q.", cut(n.DoingPattern, maxRenderAction), n.Signature.Class+": "+n.Signature.Template)
	if len(n.Corrections) > 0 {
		fmt.Fprintf(&b, " Fix: %s.", n.Corrections[0].Text)
	}
	return b.String()
}

// maxRenderAction bounds the failed action in a rendered note: its tool and
// the first arguments identify it; the template says what went wrong.
const maxRenderAction = 160

// cut shortens a rendered action to n bytes, keeping it visibly a call.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	if j := strings.LastIndex(s[:i], ", "); j > 0 {
		i = j
	}
	return s[:i] + ", …)"
}
