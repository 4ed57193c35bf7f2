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
		if r.Family == t.Family {
			e.rules = append(e.rules, r)
		}
	}
	sort.SliceStable(e.rules, func(i, j int) bool { return e.rules[i].prio < e.rules[j].prio })
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
// it.
func (e *Env) trace() int { return 10000 + e.rng.IntN(90000) }

// Step executes an action: documented validation, then the hidden rules,
// then its effect. It returns the observation or the error.
func (e *Env) Step(a Action) (string, *StepError) {
	if e.over {
		return "", &StepError{Class: ClassAborted, Message: "session closed after a fatal error"}
	}
	spec, ok := e.w.tools[a.Tool]
	if !ok {
		return "", &StepError{Class: ClassNotFound, Message: fmt.Sprintf("unknown tool %q", a.Tool)}
	}
	for _, as := range spec.Args {
		v, ok := a.Args[as.Name]
		if !ok {
			return "", &StepError{Class: ClassInvalidArgument, Message: fmt.Sprintf("missing required argument %q", as.Name)}
		}
		if kinds[as.Kind].Detect(v) < 0 {
			return "", &StepError{Class: ClassInvalidArgument, Message: fmt.Sprintf("argument %s: cannot parse %q as %s", as.Name, v, as.Kind)}
		}
	}
	for k := range a.Args {
		if _, ok := spec.Arg(k); !ok {
			return "", &StepError{Class: ClassInvalidArgument, Message: fmt.Sprintf("unknown argument %q", k)}
		}
	}
	idx := e.target(spec, a)
	var st *PlanStep
	if idx >= 0 {
		st = &e.t.Plan[idx]
	} else if arg, v := e.unknownEntity(spec, a); arg != "" {
		return "", &StepError{Class: ClassNotFound, Message: fmt.Sprintf("%s %s not found", strings.TrimSuffix(arg, "_id"), v)}
	}
	for _, r := range e.rules {
		if err := r.check(e, a, st); err != nil {
			if err.Fatal {
				e.over, e.fatal = true, true
			}
			return "", err
		}
	}
	e.history = append(e.history, call{tool: a.Tool, idx: idx})
	if idx < 0 || !e.complete(spec, a, st) {
		return fmt.Sprintf("ok: %s returned no changes", a.Tool), nil
	}
	if e.done[idx] {
		return fmt.Sprintf("ok: %s already done, nothing changed", a.Tool), nil
	}
	e.done[idx] = true
	return fmt.Sprintf("ok: %s done (%s)", a.Tool, keyText(spec, st)), nil
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
