package mistake

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/signature"
)

// FixKind says how a fix edits the candidate's call.
type FixKind string

// Fix kinds.
const (
	FixRewrite FixKind = "rewrite" // write some arguments another way
	FixPrior   FixKind = "prior"   // take a missing step first
	FixReplace FixKind = "replace" // call the tool that replaced this one
	FixSplit   FixKind = "split"   // split a value over several calls
)

// ArgFix makes one argument of the fixed call.
type ArgFix struct {
	Arg  string    // the argument to write
	From string    // the candidate's argument its value is made from ("" for none)
	T    Transform // how
	Num  bool      `json:",omitempty"` // write it as a JSON number
	Drop bool      `json:",omitempty"` // remove the argument instead
	// Was is the word the failing call had where the fix writes a word of
	// vocabulary (OpConst): the fix replaces that word, not any other.
	Was string `json:",omitempty"`
}

// Fix is an edit of the candidate's own call that the agent's own recovery
// was seen to make work: only what a recovery did, never a guess.
type Fix struct {
	Kind FixKind
	Tool string   `json:",omitempty"` // prior, replace: the tool to call
	Args []ArgFix `json:",omitempty"` // rewrite: the arguments that change; prior, replace: every argument of the call
	// Split is the argument a split divides, Max the largest part seen
	// to work.
	Split string  `json:",omitempty"`
	Max   float64 `json:",omitempty"`
	// Support counts the recoveries that taught it; Score is the support
	// with older teaching weighing less (a fix still being taught beats
	// one taught long ago, as after a rule changed).
	Support int
	Score   float64
	Sources []string `json:",omitempty"`
	// Backing is who reported the recoveries that taught it (read per
	// request from Sources' provenance, not state).
	Backing Backing `json:"-"`
}

// fixDecay is how much a fix's score fades each time the mistake teaches
// another.
const fixDecay = 0.8

// maxFixSources bounds the trajectories a fix remembers.
const maxFixSources = 8

// teach adds one recovery's fix to the mistake.
func (m *Mistake) teach(f Fix, trajectoryID string) {
	for k := range m.Fixes {
		m.Fixes[k].Score *= fixDecay
	}
	for k := range m.Fixes {
		if m.Fixes[k].merge(f) {
			m.Fixes[k].Support++
			m.Fixes[k].Score++
			if !slices.Contains(m.Fixes[k].Sources, trajectoryID) {
				m.Fixes[k].Sources = appendCapped(m.Fixes[k].Sources, trajectoryID, maxFixSources)
			}
			m.sortFixes()
			return
		}
	}
	f.Support, f.Score, f.Sources = 1, 1, []string{trajectoryID}
	m.Fixes = append(m.Fixes, f)
	m.sortFixes()
	if len(m.Fixes) > maxFixes {
		m.Fixes = m.Fixes[:maxFixes]
	}
}

func (m *Mistake) sortFixes() {
	slices.SortStableFunc(m.Fixes, func(a, b Fix) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return b.Support - a.Support
	})
}

// merge folds another recovery's fix into f when both make the call the
// same way, and reports whether it did.
func (f *Fix) merge(g Fix) bool {
	if f.Kind != g.Kind || f.Tool != g.Tool || f.Split != g.Split || len(f.Args) != len(g.Args) {
		return false
	}
	for i := range f.Args {
		a, b := f.Args[i], g.Args[i]
		if a.Arg != b.Arg || a.From != b.From || a.Drop != b.Drop || !sameTransform(a.T, b.T) {
			return false
		}
	}
	for i := range f.Args {
		// Two examples of one program with literals confirm them.
		if p, q := f.Args[i].T.Program, g.Args[i].T.Program; p != nil && q != nil && p.unvouched() {
			p.Agreed = true
		}
	}
	f.Max = math.Max(f.Max, g.Max)
	return true
}

// complete reports whether every argument of the fix can be made.
func (f *Fix) complete() bool {
	for _, a := range f.Args {
		if !a.Drop && a.T.Op == "" {
			return false
		}
	}
	return true
}

// Apply instantiates the fix on a candidate call in the request's
// situation: the corrected call, built from the candidate's own values and
// the situation's. It reports false when some value cannot be made so;
// the fix is then said in words only.
func (f *Fix) Apply(c Call, sit *Situation) (Call, bool) {
	switch f.Kind {
	case FixRewrite:
		out := maps.Clone(c.Args)
		if out == nil {
			out = map[string]any{}
		}
		for _, a := range f.Args {
			if a.Drop {
				delete(out, a.Arg)
				continue
			}
			if a.T.Op == OpConst && a.Was != "" {
				// The recovery replaced one word by another: a call with
				// some other word there is not that mistake's to fix.
				if have, ok := scalar(c.Args, a.Arg); !ok || !strings.EqualFold(have, a.Was) {
					continue
				}
			}
			v, ok := f.value(a, c, sit)
			if !ok {
				return Call{}, false
			}
			out[a.Arg] = v
		}
		fixed := Call{Tool: c.Tool, Args: out}
		return fixed, fixed.Text() != c.Text()
	case FixPrior, FixReplace:
		out := map[string]any{}
		for _, a := range f.Args {
			if a.Drop {
				continue
			}
			v, ok := f.value(a, c, sit)
			if !ok {
				return Call{}, false
			}
			out[a.Arg] = v
		}
		return Call{Tool: f.Tool, Args: out}, f.Tool != ""
	case FixSplit:
		src, ok := scalar(c.Args, f.Split)
		if !ok || f.Max <= 0 {
			return Call{}, false
		}
		// A currency sign or thousands separators stay as written.
		prefix := src[:len(src)-len(strings.TrimLeft(src, "$€£¥"))]
		src = strings.ReplaceAll(src[len(prefix):], ",", "")
		x, err := strconv.ParseFloat(src, 64)
		if err != nil || x <= f.Max || math.IsInf(x, 0) {
			return Call{}, false
		}
		parts := math.Ceil(x / f.Max)
		if parts > maxSplitParts {
			// Far over the bound: written in another unit (cents for
			// dollars), not a request to split.
			return Call{}, false
		}
		part := x / parts
		decimals := 0
		if i := strings.IndexByte(src, '.'); i >= 0 {
			decimals = len(src) - i - 1
		}
		text := strconv.FormatFloat(math.Floor(part*math.Pow10(decimals))/math.Pow10(decimals), 'f', decimals, 64)
		out := maps.Clone(c.Args)
		out[f.Split] = typed(prefix+text, isNum(c.Args[f.Split]))
		return Call{Tool: c.Tool, Args: out}, true
	}
	return Call{}, false
}

func (f *Fix) value(a ArgFix, c Call, sit *Situation) (any, bool) {
	src := ""
	if a.From != "" {
		s, ok := scalar(c.Args, a.From)
		if !ok {
			return nil, false
		}
		src = s
		if a.T.Op == OpCopy {
			return c.Args[a.From], true
		}
	}
	v, ok := a.T.apply(src, sit, false)
	if !ok || v == "" {
		return nil, false
	}
	return typed(v, a.Num), true
}

// Text says what the fix does, in words, without any value.
func (f *Fix) Text(tool string) string {
	switch f.Kind {
	case FixPrior:
		return fmt.Sprintf("first call %s%s", f.Tool, withArgs(f.Args))
	case FixReplace:
		return fmt.Sprintf("call %s instead of %s%s", f.Tool, tool, withArgs(f.Args))
	case FixSplit:
		return fmt.Sprintf("split %s over several %s calls", f.Split, tool)
	}
	var parts []string
	for _, a := range f.Args {
		switch {
		case a.Drop:
			parts = append(parts, "leave out "+a.Arg)
		case a.From != "" && a.From != a.Arg && a.T.Op == OpCopy:
			parts = append(parts, fmt.Sprintf("pass %s as %s", a.From, a.Arg))
		default:
			parts = append(parts, a.Arg+" "+a.T.describe())
		}
	}
	if len(parts) == 0 {
		return "call " + tool + " again as written before"
	}
	return "write " + strings.Join(parts, ", ")
}

func withArgs(as []ArgFix) string {
	var from []string
	for _, a := range as {
		if a.From != "" {
			from = append(from, a.From)
		}
	}
	if len(from) == 0 {
		return ""
	}
	return " with the same " + strings.Join(from, ", ")
}

func (t Transform) describe() string {
	switch t.Op {
	case OpFormat:
		if t.Program != nil {
			return "as " + t.Program.describe()
		}
	case OpTask:
		return fmt.Sprintf("as the task's %s", t.Anchor)
	case OpResult:
		return fmt.Sprintf("as %s's %s", t.Tool, t.Anchor)
	case OpConst:
		return "as " + strconv.Quote(t.Const)
	}
	return "another way"
}

// describe renders the program's output as a pattern of its input's parts.
func (p *Program) describe() string {
	var b strings.Builder
	for _, pc := range p.Pieces {
		switch {
		case !pc.Ref && (p.Agreed || len(pc.Lit) == 1 && !wordByte(pc.Lit[0])):
			b.WriteString(pc.Lit)
		case !pc.Ref:
			b.WriteString("…")
		default:
			b.WriteString(strings.Repeat("#", max(1, pc.Pad)))
		}
	}
	return b.String()
}

// readRecovery reads what the agent did after the failed step i of t: the
// fix its own recovery shows, if any, and whether it retried the identical
// call with nothing in between that could have fixed it, and whether that
// worked.
func readRecovery(t admem.Trajectory, facts []Facts, i int) (fix *Fix, retried, worked bool) {
	failed := CallOf(t.Steps[i])
	h := facts[i].Hash
	replacement := -1
	toolWorked := false
	for j := i + 1; j < len(t.Steps); j++ {
		st := t.Steps[j]
		if st.Action == failed.Tool {
			if facts[j].Hash == h {
				if st.Failed() {
					// Retried and failed again: that is this failure's
					// answer (a later recovery belongs to that one). Failing
					// with another error says nothing either way: services
					// check in no known order.
					if signature.FromStep(st).ID() == signature.FromStep(t.Steps[i]).ID() {
						return nil, true, false
					}
					return nil, false, false
				}
				if k := fixingStep(t, facts, i, j); k >= 0 {
					return priorFix(t, i, k), retried, false
				}
				// Worked unchanged with nothing done in between: the fault
				// went away by itself. With other steps in between that
				// are not about the call, it cannot be told which.
				for k := i + 1; k < j; k++ {
					if !t.Steps[k].Failed() && t.Steps[k].Action != failed.Tool {
						return nil, retried, false
					}
				}
				return nil, true, true
			}
			if st.Failed() {
				continue
			}
			toolWorked = true
			if f := splitFix(t, i, j); f != nil {
				return f, retried, false
			}
			if f := rewriteFix(t, i, j); f != nil {
				return f, retried, false
			}
			continue
		}
		if !st.Failed() && replacement < 0 && replaces(t, facts, i, j) {
			replacement = j
		}
	}
	if replacement >= 0 && !toolWorked {
		return replaceFix(t, i, replacement), retried, false
	}
	return nil, retried, false
}

// fixingStep returns the step between a failure (i) and the identical call
// working (j) that made the difference: a successful step of another tool
// about one of the call's values, not made before the failure (the latest
// such); -1 when none.
func fixingStep(t admem.Trajectory, facts []Facts, i, j int) int {
	ls := Leaves(t.Steps[i].Args)
	keys := linkKeys(ls)
	var folds []string
	for _, l := range ls {
		if linkable(l.Text) {
			if k := Fold(l.Text); len(k) >= 4 {
				folds = append(folds, k)
			}
		}
	}
	sit := stepsBefore(t, j)
	for k := j - 1; k > i; k-- {
		st := t.Steps[k]
		if st.Failed() || st.Action == t.Steps[i].Action || len(keys) == 0 {
			continue
		}
		before := slices.ContainsFunc(facts[:i], func(f Facts) bool { return f.Hash == facts[k].Hash })
		if !before && linked(sit, k, keys, folds) {
			return k
		}
	}
	return -1
}

func instanceKeys(args map[string]any) []string {
	var out []string
	for _, l := range Leaves(args) {
		if instance(l.Text) {
			if k := Fold(l.Text); len(k) >= 3 {
				out = append(out, k)
			}
		}
	}
	return out
}

// priorFix is "take step k first": step k's call, made from the failed
// call's values where it took them, else from the situation.
func priorFix(t admem.Trajectory, i, k int) *Fix {
	return &Fix{Kind: FixPrior, Tool: t.Steps[k].Action, Args: makeArgs(t.Steps[i].Args, t.Steps[k].Args, stepsBefore(t, k))}
}

// replaceFix is "call step j's tool instead".
func replaceFix(t admem.Trajectory, i, j int) *Fix {
	return &Fix{Kind: FixReplace, Tool: t.Steps[j].Action, Args: makeArgs(t.Steps[i].Args, t.Steps[j].Args, stepsBefore(t, j))}
}

// makeArgs explains each top-level argument of a call from the failed
// call's arguments (same name first, then the same value anywhere) or from
// the situation; an argument nothing explains has no transform.
func makeArgs(from, to map[string]any, sit *Situation) []ArgFix {
	names := slices.Sorted(maps.Keys(to))
	out := make([]ArgFix, 0, len(names))
	for _, k := range names {
		af := ArgFix{Arg: k, Num: isNum(to[k])}
		target, ok := scalar(to, k)
		if !ok {
			out = append(out, af)
			continue
		}
		sources := slices.Sorted(maps.Keys(from))
		slices.SortStableFunc(sources, func(a, b string) int { return b2i(b == k) - b2i(a == k) })
		for _, s := range sources {
			src, ok := scalar(from, s)
			if !ok {
				continue
			}
			if src == target || Fold(src) == Fold(target) && instance(src) {
				if tr, ok := learnTransform(src, target, sit); ok && (tr.Op == OpCopy || tr.Op == OpFormat && !tr.Program.unvouched()) {
					af.From, af.T = s, tr
					break
				}
			}
		}
		if af.From == "" {
			if tr, ok := learnTransform("", target, sit); ok {
				af.T = tr
			}
		}
		out = append(out, af)
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rewriteFix is "write the call this way": the later successful call j of
// the failed tool, when it is about the same thing (it keeps an instance
// value of the failed call, or rewrites each changed value from the old
// one) and changes some arguments.
func rewriteFix(t admem.Trajectory, i, j int) *Fix {
	a, b := t.Steps[i].Args, t.Steps[j].Args
	var same, changed, added, dropped []string
	anchored := false
	for _, k := range slices.Sorted(maps.Keys(a)) {
		x, okx := scalar(a, k)
		y, oky := scalar(b, k)
		_, inB := b[k]
		switch {
		case !inB:
			dropped = append(dropped, k)
		case okx && oky && x == y:
			same = append(same, k)
			anchored = anchored || instance(x)
		default:
			changed = append(changed, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			added = append(added, k)
		}
	}
	if len(changed)+len(added)+len(dropped) == 0 {
		return nil
	}
	// Changed values rewritten from the old ones (a format) anchor the
	// call as well: 64532 and JOB-64532 are one job.
	related := len(changed) > 0
	for _, k := range changed {
		x, okx := scalar(a, k)
		y, oky := scalar(b, k)
		if !okx || !oky || !shareToken(x, y) {
			related = false
		}
	}
	// A call about no entity at all (only words of the tool's vocabulary)
	// cannot be about another one.
	entityless := len(linkKeys(Leaves(a))) == 0
	if !anchored && !related && !entityless && len(same) < len(changed)+len(added)+len(dropped) {
		return nil
	}
	// A dropped and an added argument with one value (in any writing), or
	// the only dropped and the only added one: a renamed argument.
	type rename struct{ from, to string }
	var renames []rename
	for _, d := range slices.Clone(dropped) {
		dv, _ := scalar(a, d)
		k := slices.IndexFunc(added, func(n string) bool { v, ok := scalar(b, n); return ok && dv != "" && Fold(v) == Fold(dv) })
		if k < 0 && len(dropped) == 1 && len(added) == 1 {
			k = 0
		}
		if k >= 0 {
			renames = append(renames, rename{d, added[k]})
			added = slices.Delete(added, k, k+1)
			dropped = slices.DeleteFunc(dropped, func(x string) bool { return x == d })
		}
	}
	// What the error names is what was wrong: other arguments the next
	// attempt also wrote another way were not this mistake's. A rename is
	// kept whole when the error names either side.
	all := append(append(slices.Clone(changed), added...), dropped...)
	for _, r := range renames {
		all = append(all, r.from, r.to)
	}
	if keep := namedArgs(t.Steps[i], all); len(keep) > 0 {
		changed = onlyIn(changed, keep)
		added = onlyIn(added, keep)
		dropped = onlyIn(dropped, keep)
		renames = slices.DeleteFunc(renames, func(r rename) bool { return !slices.Contains(keep, r.from) && !slices.Contains(keep, r.to) })
		if len(changed)+len(added)+len(dropped)+len(renames) == 0 {
			return nil
		}
	}
	sit := stepsBefore(t, j)
	f := &Fix{Kind: FixRewrite}
	for _, r := range renames {
		af := ArgFix{Arg: r.to, From: r.from, T: Transform{Op: OpCopy}, Num: isNum(b[r.to])}
		x, okx := scalar(a, r.from)
		y, oky := scalar(b, r.to)
		if okx && oky && x != y {
			if tr, ok := learnTransform(x, y, sit); ok {
				af.T = tr
				if tr.Op != OpFormat {
					af.From = ""
				}
				if tr.Op == OpConst && vocabulary(strings.ToLower(x)) {
					af.Was = ""
				}
			}
		}
		f.Args = append(f.Args, af, ArgFix{Arg: r.from, Drop: true})
	}
	for _, d := range dropped {
		f.Args = append(f.Args, ArgFix{Arg: d, Drop: true})
	}
	for _, k := range changed {
		af := ArgFix{Arg: k, From: k, Num: isNum(b[k])}
		x, okx := scalar(a, k)
		y, oky := scalar(b, k)
		if okx && oky {
			if tr, ok := learnTransform(x, y, sit); ok {
				af.T = tr
				if tr.Op != OpFormat && tr.Op != OpCopy {
					af.From = ""
				}
				if tr.Op == OpConst && vocabulary(strings.ToLower(x)) {
					af.Was = x
				}
			}
		}
		f.Args = append(f.Args, af)
	}
	for _, k := range added {
		af := ArgFix{Arg: k, Num: isNum(b[k])}
		if y, ok := scalar(b, k); ok {
			if tr, ok := learnTransform("", y, sit); ok {
				af.T = tr
			}
		}
		f.Args = append(f.Args, af)
	}
	slices.SortStableFunc(f.Args, func(x, y ArgFix) int { return strings.Compare(x.Arg, y.Arg) })
	return f
}

// namedArgs returns those of the top-level arguments that the failed
// step's error names (by their name or its stem), sorted.
func namedArgs(st admem.Step, args []string) []string {
	msg := strings.ToLower(signature.FromStep(st).Template + " " + st.Error)
	var out []string
	for _, k := range args {
		name := strings.ToLower(k)
		if len(name) < 2 {
			continue
		}
		for _, w := range []string{name, strings.ReplaceAll(name, "_", " "), stemOf(name)} {
			if w != "" && wordIn(msg, w) {
				out = append(out, k)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func onlyIn(xs, keep []string) []string {
	var out []string
	for _, x := range xs {
		if slices.Contains(keep, x) {
			out = append(out, x)
		}
	}
	return out
}

// shareToken reports whether two values are one value written two ways:
// one holds the other (64532, JOB-64532), or they share a number of two or
// more digits. Two e-mails at one domain are not one value.
func shareToken(x, y string) bool {
	fx, fy := Fold(x), Fold(y)
	if len(fx) >= 2 && len(fy) >= 2 && (strings.Contains(fx, fy) || strings.Contains(fy, fx)) {
		return true
	}
	ty := tokens(y)
	for _, t := range tokens(x) {
		if len(t) >= 2 && t[0] >= '0' && t[0] <= '9' && slices.Contains(ty, t) {
			return true
		}
	}
	return false
}

// splitFix is "split the value": the failed call's number, spread over
// this and later successful calls of the tool that are otherwise the same.
func splitFix(t admem.Trajectory, i, j int) *Fix {
	a := t.Steps[i].Args
	for _, k := range slices.Sorted(maps.Keys(a)) {
		x, ok := number(a, k)
		if !ok || x <= 0 {
			continue
		}
		sum, n, most := 0.0, 0, 0.0
		for l := j; l < len(t.Steps); l++ {
			st := t.Steps[l]
			if st.Failed() || st.Action != t.Steps[i].Action || !sameExcept(a, st.Args, k) {
				continue
			}
			y, ok := number(st.Args, k)
			if !ok || y <= 0 || y >= x {
				continue
			}
			sum += y
			n++
			most = math.Max(most, y)
		}
		if n >= 2 && math.Abs(sum-x) <= 0.005*x {
			return &Fix{Kind: FixSplit, Split: k, Max: most}
		}
	}
	return nil
}

func number(args map[string]any, k string) (float64, bool) {
	s, ok := scalar(args, k)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	return x, err == nil && !math.IsNaN(x) && !math.IsInf(x, 0)
}

// sameExcept reports whether two calls' top-level scalar arguments agree
// but for k.
func sameExcept(a, b map[string]any, k string) bool {
	if len(a) != len(b) {
		return false
	}
	for n := range a {
		if n == k {
			continue
		}
		x, okx := scalar(a, n)
		y, oky := scalar(b, n)
		if okx != oky || x != y {
			return false
		}
	}
	return true
}

// replaces reports whether step j could be the tool that replaced the
// failed one: another tool, not called so before the failure, taking
// mostly the same arguments and about one of the failed call's values.
func replaces(t admem.Trajectory, facts []Facts, i, j int) bool {
	a, b := t.Steps[i].Args, t.Steps[j].Args
	if slices.ContainsFunc(facts[:i], func(f Facts) bool { return f.Hash == facts[j].Hash }) {
		return false
	}
	inter, uni := 0, len(b)
	for k := range a {
		if _, ok := b[k]; ok {
			inter++
		} else {
			uni++
		}
	}
	if uni == 0 || 2*inter < uni {
		return false
	}
	keys := instanceKeys(a)
	for _, k := range instanceKeys(b) {
		if slices.Contains(keys, k) {
			return true
		}
	}
	return false
}

// ruleFixes are the edits the mistake's rule itself states, for when no
// recovery taught one that fits: two dates in the wrong order swapped, a
// value over a stated bound split. They change only the call's own values.
func (m *Mistake) ruleFixes() []Fix {
	var out []Fix
	for _, f := range m.Rule.Features {
		if a, b, ok := relationPaths(f); ok && !strings.Contains(a, ".") && !strings.Contains(b, ".") {
			out = append(out, Fix{Kind: FixRewrite, Args: []ArgFix{
				{Arg: a, From: b, T: Transform{Op: OpCopy}},
				{Arg: b, From: a, T: Transform{Op: OpCopy}},
			}})
		}
	}
	for _, l := range m.Limits {
		if !l.Len && slices.Contains(m.Rule.Features, l.feature()) && !strings.Contains(l.Path, ".") &&
			!slices.ContainsFunc(m.Fixes, func(x Fix) bool { return x.Kind == FixSplit && x.Split == l.Path }) {
			out = append(out, Fix{Kind: FixSplit, Split: l.Path, Max: l.Max})
		}
	}
	return out
}

// maxSplitParts is the most parts a split suggests.
const maxSplitParts = 8

// dropsOnly reports whether the fix only leaves arguments out.
func (f *Fix) dropsOnly() bool {
	if f.Kind != FixRewrite || len(f.Args) == 0 {
		return false
	}
	for _, a := range f.Args {
		if !a.Drop {
			return false
		}
	}
	return true
}
