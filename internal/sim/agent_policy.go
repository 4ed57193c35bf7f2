package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/admem/admem"
)

// run is the agent's working state during one episode.
type run struct {
	a    *Agent
	task *Task
	env  *Env
	rng  *rand.Rand
	// episode noise, and what memory and in-context learning changed of it
	skipped map[int]bool    // aux plan steps left out
	swapped map[int]bool    // plan step i is done after step i+1
	legacy  map[string]bool // plan tool -> call its Alt
	format  map[string]int  // "tool.arg" -> format index to write
	deflt   map[string]bool // "tool.arg" -> write the Default
	notes   []RecallItem

	// fromMemory holds the actions memory put forward this turn; memFails
	// counts consecutive errors of such actions. An agent stops trusting
	// advice that keeps failing.
	fromMemory map[string]bool
	memFails   int
	// how the current step's action was picked, for FailedStep
	pick     string
	decision Decision
	verdict  Verdict // the guard's verdict on the action taken
	flagged  int     // candidates warned or blocked
	// considered are the step's candidates with the guard's verdicts
	considered []Considered

	steps   []admem.Step
	seen    []bool // plan steps known done, to tell which step a call completed
	last    Action
	lastErr *StepError
	consec  int
	// transient marks the steps that failed with a transient fault, which
	// the agent reads from the error as a person would.
	transient map[int]bool

	// noise only generated worlds have a place for
	stateMiss map[string]bool // usual tool -> call it for entities whose state needs another
	merge     map[int]bool    // first plan step of a split group -> write the whole value
	pairSwap  map[string]bool // tool -> write its ordered pair the other way round
	guess     map[string]bool // "tool.arg" -> guess the value a read reveals
	guessVal  map[string]string
	alias     map[string]bool // "tool.arg" -> write the argument's old name

	// stop is set when the cautious agent gives up; judged collects the
	// guard's verdicts with the oracle's answers; foreignAt tells, per
	// candidate considered at this step, whether its suggestion carried
	// another task's value, and takenForeign whether the one taken did.
	stop         bool
	judged       []Judged
	foreignAt    []bool
	takenForeign bool
	reqText      string // the current guard request's text, built when a suggestion needs it
}

func argKey(tool, arg string) string { return tool + "." + arg }

func newRun(a *Agent, t *Task, rng *rand.Rand) *run {
	r := &run{
		a: a, task: t, env: a.world.NewEnv(t), rng: rng,
		skipped: map[int]bool{}, swapped: map[int]bool{}, legacy: map[string]bool{},
		format: map[string]int{}, deflt: map[string]bool{}, seen: make([]bool, len(t.Plan)),
		transient: map[int]bool{}, stateMiss: map[string]bool{}, merge: map[int]bool{}, pairSwap: map[string]bool{},
		guess: map[string]bool{}, guessVal: map[string]string{}, alias: map[string]bool{},
	}
	n := a.cfg.Noise
	for i, st := range t.Plan {
		spec := a.world.tools[st.Action.Tool]
		if st.Aux && rng.Float64() < n.Skip {
			r.skipped[i] = true
		}
		if _, seen := r.legacy[spec.Name]; !seen && spec.Alt != "" {
			r.legacy[spec.Name] = rng.Float64() < n.Legacy
		}
		for _, as := range spec.Args {
			k := argKey(spec.Name, as.Name)
			if _, seen := r.deflt[k]; !seen && as.Default != "" {
				r.deflt[k] = rng.Float64() < n.Context
			}
			if _, seen := r.format[k]; !seen && len(kinds[as.Kind].Formats) > 1 {
				r.format[k] = -1
				if rng.Float64() < n.Format {
					r.format[k] = otherFormat(rng, kinds[as.Kind], st.Action.Args[as.Name])
				}
			}
		}
		if i+1 < len(t.Plan) && !st.Aux && !t.Plan[i+1].Aux && st.Action.Tool != t.Plan[i+1].Action.Tool &&
			!r.swapped[i-1] && rng.Float64() < n.Swap {
			r.swapped[i] = true
		}
		r.drawGenerated(i, st, spec)
	}
	return r
}

// drawGenerated draws the episode's habits for the mistakes only generated
// worlds have a place for; a hand-written task draws nothing here.
func (r *run) drawGenerated(i int, st PlanStep, spec ToolSpec) {
	n, rng := r.a.cfg.Noise, r.rng
	if st.Usual != "" {
		if _, seen := r.stateMiss[st.Usual]; !seen {
			r.stateMiss[st.Usual] = rng.Float64() < n.State
		}
	}
	if st.Whole != "" && rng.Float64() < n.Merge {
		r.merge[i] = true
	}
	if spec.Ordered[0] != "" {
		if _, seen := r.pairSwap[spec.Name]; !seen {
			r.pairSwap[spec.Name] = rng.Float64() < n.Order
		}
	}
	for _, arg := range slices.Sorted(mapsKeysInt(st.From)) {
		if k := argKey(spec.Name, arg); !seenKey(r.guess, k) {
			r.guess[k] = rng.Float64() < n.Guess
		}
	}
	for _, as := range spec.Args {
		if k := argKey(spec.Name, as.Name); as.Alias != "" && !seenKey(r.alias, k) {
			r.alias[k] = rng.Float64() < n.Alias
		}
	}
}

func seenKey(m map[string]bool, k string) bool {
	_, ok := m[k]
	return ok
}

func mapsKeysInt(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// otherFormat picks a format of k other than the one canonical is written in.
func otherFormat(rng *rand.Rand, k *Kind, canonical string) int {
	c := k.Detect(canonical)
	i := rng.IntN(len(k.Formats) - 1)
	if i >= c {
		i++
	}
	return i
}

// order is the agent's working plan: plan indices minus skipped ones, with
// swapped pairs reversed.
func (r *run) order() []int {
	var out []int
	for i := 0; i < len(r.task.Plan); i++ {
		if r.swapped[i] && i+1 < len(r.task.Plan) {
			out = append(out, i+1, i)
			i++
			continue
		}
		if !r.skipped[i] {
			out = append(out, i)
		}
	}
	return out
}

// next returns the first undone step of the working plan and of the
// reference plan.
func (r *run) next() (working, ref int) {
	working, ref = -1, -1
	for _, i := range r.order() {
		if !r.env.StepDone(i) {
			working = i
			break
		}
	}
	for i := range r.task.Plan {
		if !r.env.StepDone(i) {
			ref = i
			break
		}
	}
	if working < 0 {
		working = ref
	}
	return working, ref
}

// render writes plan step i as the agent would: clean is the reference
// action; otherwise the episode's habits apply, or, when fresh, noise drawn
// anew at the base rates.
func (r *run) render(i int, clean, fresh bool) Action {
	st := r.task.Plan[i]
	if clean {
		return st.Action.Clone()
	}
	n := r.a.cfg.Noise
	spec := r.a.world.tools[st.Action.Tool]
	out := Action{Tool: st.Action.Tool, Args: map[string]string{}}
	useAlt := r.legacy[spec.Name]
	if fresh {
		useAlt = spec.Alt != "" && r.rng.Float64() < n.Legacy
	}
	if useAlt && spec.Alt != "" {
		out.Tool = spec.Alt
	}
	for _, as := range spec.Args {
		k, kind := argKey(spec.Name, as.Name), kinds[as.Kind]
		v := st.Action.Args[as.Name]
		useDefault, idx := r.deflt[k], r.format[k]
		if fresh {
			useDefault = as.Default != "" && r.rng.Float64() < n.Context
			idx = -1
			if len(kind.Formats) > 1 && r.rng.Float64() < n.Format {
				idx = otherFormat(r.rng, kind, v)
			}
		}
		switch {
		case useDefault && as.Default != "":
			v = as.Default
		case idx >= 0:
			v = kind.Render(idx, st.Natural[as.Name])
		}
		out.Args[as.Name] = v
	}
	if r.a.world.gen != nil {
		r.renderGenerated(i, st, spec, &out, fresh)
	}
	return out
}

// renderGenerated applies the habits only generated worlds have a place
// for: the usual tool for an entity whose state needs another, the whole
// value instead of a split, an ordered pair reversed, a guessed value
// where a read has not shown it yet (or by habit), an argument's old name.
func (r *run) renderGenerated(i int, st PlanStep, spec ToolSpec, out *Action, fresh bool) {
	n := r.a.cfg.Noise
	habit := func(m map[string]bool, k string, p float64) bool {
		if fresh {
			return r.rng.Float64() < p
		}
		return m[k]
	}
	if st.Usual != "" && habit(r.stateMiss, st.Usual, n.State) {
		out.Tool = st.Usual
	}
	if st.Whole != "" && ((fresh && r.rng.Float64() < n.Merge) || (!fresh && r.merge[i])) {
		as, _ := spec.Arg(st.Split)
		kind := kinds[as.Kind]
		out.Args[st.Split] = kind.Render(max(0, kind.Detect(out.Args[st.Split])), st.Whole)
	}
	for _, arg := range slices.Sorted(mapsKeysInt(st.From)) {
		k := argKey(spec.Name, arg)
		if habit(r.guess, k, n.Guess) || !r.env.StepDone(st.From[arg]) {
			out.Args[arg] = r.guessed(k, st.Natural[arg])
		}
	}
	if p := spec.Ordered; p[0] != "" && habit(r.pairSwap, spec.Name, n.Order) {
		out.Args[p[0]], out.Args[p[1]] = out.Args[p[1]], out.Args[p[0]]
	}
	for _, as := range spec.Args {
		if as.Alias != "" && habit(r.alias, argKey(spec.Name, as.Name), n.Alias) {
			out.Args[as.Alias] = out.Args[as.Name]
			delete(out.Args, as.Name)
		}
	}
}

// guessed is the value the agent makes up for an argument it has not read:
// one per argument and episode, shaped like the real one.
func (r *run) guessed(k, natural string) string {
	if g, ok := r.guessVal[k]; ok {
		return g
	}
	prefix, _, _ := strings.Cut(natural, "_")
	g := fmt.Sprintf("%s_%06d", prefix, r.rng.IntN(1000000))
	if g == natural {
		g = prefix + "_000000"
	}
	r.guessVal[k] = g
	return g
}

// slip writes one random non-key argument of a in a random format.
func (r *run) slip(i int, a Action) Action {
	st := r.task.Plan[i]
	spec := r.a.world.tools[st.Action.Tool]
	var multi []ArgSpec
	for _, as := range spec.Args {
		if len(kinds[as.Kind].Formats) > 1 && !as.Key {
			multi = append(multi, as)
		}
	}
	if len(multi) == 0 {
		return a
	}
	as := multi[r.rng.IntN(len(multi))]
	kind := kinds[as.Kind]
	a = a.Clone()
	a.Args[as.Name] = kind.Render(r.rng.IntN(len(kind.Formats)), st.Natural[as.Name])
	return a
}

// candidates proposes K actions, the preferred one first.
func (r *run) candidates() []Action {
	cfg := r.a.cfg
	working, ref := r.next()
	var pref Action
	switch {
	case r.lastErr != nil && r.lastErr.Transient && r.rng.Float64() < cfg.RetryTransient:
		pref = r.last
	case r.lastErr != nil:
		switch x := r.rng.Float64(); {
		case x < cfg.RetryFix:
			pref = r.render(ref, true, false)
		case x < cfg.RetryFix+cfg.RetrySame:
			pref = r.last
		default:
			pref = r.render(working, false, true)
		}
	case len(r.steps) > 0 && r.a.world.tools[r.last.Tool].Read && r.rng.Float64() < cfg.Noise.Repeat:
		pref = r.last
	default:
		pref = r.render(working, false, false)
		if r.rng.Float64() < cfg.Noise.Slip {
			pref = r.slip(working, pref)
		}
	}
	return r.draft([]Action{pref}, cfg.Candidates, nil)
}

// draft adds to out fresh renderings of the step the agent is on (the
// reference step and its working step in turn) until out holds n, leaving
// out any in seen; it gives up after 3n tries.
func (r *run) draft(out []Action, n int, seen []Action) []Action {
	working, ref := r.next()
	for try := 0; len(out) < n && try < 3*n; try++ {
		i := working
		if try%2 == 0 {
			i = ref
		}
		if a := r.render(i, false, true); !slices.ContainsFunc(seen, a.Equal) {
			out = appendNew(out, a)
		}
	}
	return out
}

func appendNew(xs []Action, a Action) []Action {
	for _, x := range xs {
		if x.Equal(a) {
			return xs
		}
	}
	return append(xs, a)
}

// lastTool is the tool of the previous step, which a note's After names.
func (r *run) lastTool() string {
	if len(r.steps) == 0 {
		return ""
	}
	return r.steps[len(r.steps)-1].Action
}

// noteMatches reports whether a recalled mistake note covers action a now.
func (r *run) noteMatches(n RecallItem, a Action) bool {
	return n.Pattern != nil && (n.After == "" || n.After == r.lastTool()) && MatchPattern(*n.Pattern, a, r.task.Params)
}

// avoidNoted drops candidates a recalled note warns about, putting the
// note's correction in their place.
func (r *run) avoidNoted(cands []Action, gs *GuardStats) []Action {
	r.fromMemory = map[string]bool{}
	if len(r.notes) == 0 || r.distrust() {
		return cands
	}
	var out []Action
	for _, c := range cands {
		kept := true
		for _, n := range r.notes {
			if !r.noteMatches(n, c) || r.rng.Float64() >= r.a.cfg.Heed {
				continue
			}
			kept = false
			gs.Avoided++
			if n.Correction != nil {
				if g, step, ok := r.groundStep(*n.Correction); ok && step >= 0 && !r.noted(g) && !r.succeeded(g) && !r.failed(g) {
					out = appendNew(out, g)
					r.fromMemory[g.String()] = true
				}
			}
			break
		}
		if kept {
			out = appendNew(out, c)
		}
	}
	if len(out) == 0 {
		return cands
	}
	return out
}

// distrust reports whether memory's advice failed twice in a row, so the
// agent goes its own way for this step.
func (r *run) distrust() bool { return r.memFails >= 2 }

// succeeded reports whether a already succeeded in this episode: an agent
// does not redo a finished step because a memory suggests it.
func (r *run) succeeded(a Action) bool {
	for _, s := range r.steps {
		if s.Status == admem.StepOK && s.Action == a.Tool && ActionFromStep(s.Action, s.Args).Equal(a) {
			return true
		}
	}
	return false
}

// failed reports whether a already failed in this episode: advice to make
// a call that has just failed is advice the agent has tried, so it looks
// at its other candidates instead.
func (r *run) failed(a Action) bool {
	for i, s := range r.steps {
		if s.Failed() && !r.transient[i] && s.Action == a.Tool && ActionFromStep(s.Action, s.Args).Equal(a) {
			return true
		}
	}
	return false
}

func (r *run) noted(a Action) bool {
	for _, n := range r.notes {
		if r.noteMatches(n, a) {
			return true
		}
	}
	return false
}

// groundStep turns a suggestion from memory into an action for this task: it
// fills placeholders, finds the undone plan step the suggestion is about and
// writes that step's values in the formats the suggestion uses, and the
// arguments it does not name (or whose format it cannot tell) as the agent
// would write them anyway. It also returns the index of that plan step, -1
// when the suggestion is about no step of the plan (the action is then the
// suggestion as it is, which the agent does not take).
func (r *run) groundStep(s Action) (Action, int, bool) {
	res, ok := Resolve(s, r.task.Params)
	if !ok {
		return s, -1, false
	}
	spec, ok := r.a.world.tools[res.Tool]
	if !ok {
		return res, -1, true
	}
	best, bestScore := -1, -1
	for i, st := range r.task.Plan {
		if r.env.StepDone(i) || (st.Action.Tool != res.Tool && st.Action.Tool != spec.Alt) {
			continue
		}
		score := 0
		for _, as := range spec.Args {
			if as.Key && kinds[as.Kind].Equivalent(res.Args[as.Name], st.Natural[as.Name]) {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return res, -1, true
	}
	st := r.task.Plan[best]
	// What the suggestion does not say, the agent writes as it would.
	own := r.render(best, false, false)
	out := Action{Tool: res.Tool, Args: map[string]string{}}
	for _, as := range spec.Args {
		kind := kinds[as.Kind]
		v, has := res.Args[as.Name]
		switch idx := kind.Detect(v); {
		case !has || idx < 0:
			out.Args[as.Name] = own.Args[as.Name]
		case kind.Equivalent(v, st.Natural[as.Name]):
			out.Args[as.Name] = v
		default:
			out.Args[as.Name] = kind.Render(idx, st.Natural[as.Name])
		}
	}
	return out, best, true
}
