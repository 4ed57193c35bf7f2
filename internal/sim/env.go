package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// Env is the state of one task being worked on: which plan steps are done
// and which calls succeeded. It is not safe for concurrent use.
type Env struct {
	w       *World
	t       *Task
	rng     *rand.Rand
	done    []bool
	history []call
	rules   []*Rule
	over    bool
	fatal   bool
	// probing is set while Probe runs: trace numbers are then not drawn,
	// so probing leaves the episode's later messages as they would be.
	probing    bool
	scratch    *rand.Rand
	scratchSrc *rand.PCG
	// trng draws transient faults (generated worlds only), on a stream of
	// its own so that faults never shift the rules' trace numbers; pending
	// holds the calls that just failed transiently, which work when
	// retried.
	trng    *rand.Rand
	pending map[string]bool
}

// call is a successful tool call and the plan step it targeted (-1: none).
type call struct {
	tool string
	idx  int
}

// NewEnv starts a task.
func (w *World) NewEnv(t *Task) *Env {
	e := &Env{
		w: w, t: t, done: make([]bool, len(t.Plan)),
		rng: rand.New(rand.NewPCG(uint64(t.Episode)+1, 0xe44)),
	}
	for _, r := range w.rules {
		// A rule without a family holds in every family (generated
		// worlds' rules belong to tools, not to families).
		if r.Family == t.Family || r.Family == "" {
			e.rules = append(e.rules, r)
		}
	}
	sort.SliceStable(e.rules, func(i, j int) bool { return e.rules[i].prio < e.rules[j].prio })
	if w.gen != nil {
		e.rng = rand.New(rand.NewPCG(w.cfg.Seed^(uint64(t.Episode)+1), 0xe44))
		e.trng = rand.New(rand.NewPCG(w.cfg.Seed^(uint64(t.Episode)+1), 0x7a51))
		e.pending = map[string]bool{}
	}
	return e
}

// Task returns the task the env runs.
func (e *Env) Task() *Task { return e.t }

// Done reports whether every main step of the plan is done: the goal state.
func (e *Env) Done() bool {
	for i, d := range e.done {
		if !d && !e.t.Plan[i].Aux {
			return false
		}
	}
	return true
}

// Failed reports whether a fatal error ended the task.
func (e *Env) Failed() bool { return e.fatal }

// StepDone reports whether plan step i is done. Agents read it from the
// tools' confirmations.
func (e *Env) StepDone(i int) bool { return e.done[i] }

// trace draws a request number for an error message; signatures must mask
// it. While probing it draws nothing.
func (e *Env) trace() int {
	if e.probing {
		return 10000
	}
	return 10000 + e.rng.IntN(90000)
}

// Step executes an action: a transient fault (generated worlds), then
// documented validation, then the hidden rules, then its effect. It returns
// the observation or the error.
func (e *Env) Step(a Action) (string, *StepError) {
	if e.over {
		return "", &StepError{Class: ClassAborted, Message: "session closed after a fatal error"}
	}
	if f := e.fault(a); f != nil {
		return "", f
	}
	idx, st, err := e.check(a)
	if err != nil {
		if err.Fatal {
			e.over, e.fatal = true, true
		}
		return "", err
	}
	spec := e.w.tools[a.Tool]
	e.history = append(e.history, call{tool: a.Tool, idx: idx})
	if idx < 0 || !e.complete(spec, a, st) {
		return e.okText(a, nil, obsNoChange), nil
	}
	if e.done[idx] {
		return e.okText(a, st, obsAlready), nil
	}
	e.done[idx] = true
	return e.okText(a, st, obsDone), nil
}

// Probe reports the error the call would get now, ignoring transient
// faults, or nil when it would work. It changes nothing: no state, no
// trace numbers, no transient draw, so an episode plays the same whether
// or not its calls were probed. Metrics use it as the oracle's answer.
func (e *Env) Probe(a Action) *StepError {
	if e.over {
		return &StepError{Class: ClassAborted, Message: "session closed after a fatal error"}
	}
	// Rules may draw numbers for their messages: while probing they draw
	// from a scratch stream, so the episode's own stream stays untouched.
	saved := e.rng
	if e.scratch == nil {
		e.scratchSrc = rand.NewPCG(0, 0)
		e.scratch = rand.New(e.scratchSrc)
	}
	e.scratchSrc.Seed(0, 0)
	e.rng, e.probing = e.scratch, true
	defer func() { e.rng, e.probing = saved, false }()
	_, _, err := e.check(a)
	return err
}

// check runs validation and the rules: the plan step the call targets (-1
// and nil when none), or the error it gets. It changes no state.
func (e *Env) check(a Action) (int, *PlanStep, *StepError) {
	spec, ok := e.w.tools[a.Tool]
	if !ok {
		if e.w.gen != nil {
			return -1, nil, e.w.gen.errorf(e, "", catNotFound, e.w.gen.phrase.unknownTool(a.Tool))
		}
		return -1, nil, &StepError{Class: ClassNotFound, Message: fmt.Sprintf("unknown tool %q", a.Tool)}
	}
	if err := e.validate(spec, a); err != nil {
		return -1, nil, err
	}
	idx := e.target(spec, a)
	var st *PlanStep
	if idx >= 0 {
		st = &e.t.Plan[idx]
	} else if arg, v := e.unknownEntity(spec, a); arg != "" {
		if e.w.gen != nil {
			return -1, nil, e.w.gen.errorf(e, a.Tool, catNotFound, e.w.gen.phrase.notFound(e.w.gen.entityWord(arg), v))
		}
		return -1, nil, &StepError{Class: ClassNotFound, Message: fmt.Sprintf("%s %s not found", strings.TrimSuffix(arg, "_id"), v)}
	}
	for _, r := range e.rules {
		if r.prio < 0 {
			continue // checked with validation
		}
		if err := r.check(e, a, st); err != nil {
			return idx, st, err
		}
	}
	return idx, st, nil
}

// validate checks the documented contract: every argument known, present
// and parseable. Generated worlds word the errors in their style and let
// rename rules answer for an argument's old name first.
func (e *Env) validate(spec ToolSpec, a Action) *StepError {
	if g := e.w.gen; g != nil {
		for _, r := range e.rules {
			if r.prio < 0 {
				if err := r.check(e, a, nil); err != nil {
					return err
				}
			}
		}
		for _, k := range sortedKeys(a.Args) {
			if _, ok := spec.Arg(k); !ok {
				return g.errorf(e, a.Tool, catInvalid, g.phrase.unknownArg(k))
			}
		}
		for _, as := range spec.Args {
			v, ok := a.Args[as.Name]
			if !ok {
				return g.errorf(e, a.Tool, catInvalid, g.phrase.missingArg(as.Name))
			}
			if kinds[as.Kind].Detect(v) < 0 {
				return g.errorf(e, a.Tool, catInvalid, g.phrase.unparsable(as.Name, v, as.Kind))
			}
		}
		return nil
	}
	for _, as := range spec.Args {
		v, ok := a.Args[as.Name]
		if !ok {
			return &StepError{Class: ClassInvalidArgument, Message: fmt.Sprintf("missing required argument %q", as.Name)}
		}
		if kinds[as.Kind].Detect(v) < 0 {
			return &StepError{Class: ClassInvalidArgument, Message: fmt.Sprintf("argument %s: cannot parse %q as %s", as.Name, v, as.Kind)}
		}
	}
	for k := range a.Args {
		if _, ok := spec.Arg(k); !ok {
			return &StepError{Class: ClassInvalidArgument, Message: fmt.Sprintf("unknown argument %q", k)}
		}
	}
	return nil
}

// fault draws a transient fault for the call (generated worlds): a 5xx, a
// timeout or a rate limit, independent of the call. One number is drawn
// per call whatever happens, and a call that just failed this way works
// when retried unchanged.
func (e *Env) fault(a Action) *StepError {
	if e.trng == nil {
		return nil
	}
	x, pick := e.trng.Float64(), e.trng.Uint64()
	key := a.String()
	if e.pending[key] {
		delete(e.pending, key)
		return nil
	}
	if x >= e.w.gen.transient {
		return nil
	}
	e.pending[key] = true
	return e.w.gen.transientError(a.Tool, pick)
}

// What a successful call changed, for its observation.
const (
	obsNoChange = iota
	obsAlready
	obsDone
)

// okText is a successful call's observation.
func (e *Env) okText(a Action, st *PlanStep, what int) string {
	if g := e.w.gen; g != nil {
		return g.observation(a, st, what)
	}
	switch what {
	case obsNoChange:
		return fmt.Sprintf("ok: %s returned no changes", a.Tool)
	case obsAlready:
		return fmt.Sprintf("ok: %s already done, nothing changed", a.Tool)
	}
	return fmt.Sprintf("ok: %s done (%s)", a.Tool, keyText(e.w.tools[a.Tool], st))
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// target finds the plan step a call is about: same tool (or its Alt) and the
// same key arguments in any format; an undone step wins over a done one.
func (e *Env) target(spec ToolSpec, a Action) int {
	best := -1
	for i, st := range e.t.Plan {
		if st.Action.Tool != a.Tool && st.Action.Tool != spec.Alt {
			continue
		}
		match := true
		for _, as := range spec.Args {
			if as.Key && !kinds[as.Kind].Equivalent(a.Args[as.Name], st.Natural[as.Name]) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if !e.done[i] {
			return i
		}
		if best < 0 {
			best = i
		}
	}
	return best
}

// complete reports whether the call achieves its target: every argument
// that is not context-dependent carries the step's value in some format.
// Context-dependent arguments are the rules' business.
func (e *Env) complete(spec ToolSpec, a Action, st *PlanStep) bool {
	for _, as := range spec.Args {
		if as.Default != "" {
			continue
		}
		if !kinds[as.Kind].Equivalent(a.Args[as.Name], st.Natural[as.Name]) {
			return false
		}
	}
	return true
}

// unknownEntity returns an id argument that names nothing in the task, the
// way a real API answers 404 for an id copied from another conversation.
func (e *Env) unknownEntity(spec ToolSpec, a Action) (string, string) {
	for _, as := range spec.Args {
		if as.Kind != KindID {
			continue
		}
		v := a.Args[as.Name]
		known := false
		for _, st := range e.t.Plan {
			for _, n := range st.Natural {
				if kinds[KindID].Equivalent(v, n) {
					known = true
					break
				}
			}
			if known {
				break
			}
		}
		if !known {
			return as.Name, v
		}
	}
	return "", ""
}

// did counts successful calls to need whose target agrees with st on keys.
func (e *Env) did(need string, keys []string, st *PlanStep) int {
	n := 0
	for _, c := range e.history {
		if c.idx < 0 || e.t.Plan[c.idx].Action.Tool != need {
			continue
		}
		ok := true
		for _, k := range keys {
			if e.t.Plan[c.idx].Natural[k] != st.Natural[k] {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// callsTo counts successful calls that targeted the same step as st.
func (e *Env) callsTo(st *PlanStep) int {
	n := 0
	for _, c := range e.history {
		if c.idx >= 0 && &e.t.Plan[c.idx] == st {
			n++
		}
	}
	return n
}

// doneCount counts done plan steps using tool.
func (e *Env) doneCount(tool string) (done, total int) {
	for i, st := range e.t.Plan {
		if st.Action.Tool == tool {
			total++
			if e.done[i] {
				done++
			}
		}
	}
	return done, total
}

// argFormat returns the format index a raw argument value is written in.
func (e *Env) argFormat(tool, arg, v string) int {
	spec, _ := e.w.tools[tool].Arg(arg)
	return kinds[spec.Kind].Detect(v)
}

func keyText(spec ToolSpec, st *PlanStep) string {
	var parts []string
	for _, as := range spec.Args {
		if as.Key {
			parts = append(parts, as.Name+"="+st.Action.Args[as.Name])
		}
	}
	return strings.Join(parts, ", ")
}
