package sim

import (
	"context"

	"github.com/admem/admem"
)

// EnvAware is implemented by memories that look at the live episode
// instead of learning: the oracle. The agent hands them the episode's Env
// before its first step.
type EnvAware interface {
	Begin(env *Env)
}

// OracleMemory is the upper bound of every memory arm: it knows the world's
// rules through Env.Probe. Guard blocks exactly the candidates that would
// fail deterministically now (transient faults are no mistakes: it allows
// those calls) and suggests the next call of the task's reference plan;
// recall returns nothing and recording learns nothing. It serves one agent
// at a time.
type OracleMemory struct {
	env *Env
}

// Begin implements EnvAware.
func (m *OracleMemory) Begin(env *Env) { m.env = env }

// Recall returns nothing: the oracle helps through guard alone.
func (m *OracleMemory) Recall(context.Context, string, admem.Scope) (RecallResult, error) {
	return RecallResult{}, nil
}

// Guard blocks the candidates that would fail and suggests the plan's call.
func (m *OracleMemory) Guard(_ context.Context, _ string, _ []admem.Step, cands []Action) ([]Verdict, error) {
	out := make([]Verdict, len(cands))
	next, hasNext := Action{}, false
	if m.env != nil {
		next, hasNext = m.env.NextCall()
	}
	for i, c := range cands {
		out[i] = Verdict{Decision: Allow}
		if m.env == nil {
			continue
		}
		if err := m.env.Probe(c); err != nil {
			out[i] = Verdict{Risk: 1, Decision: Block, Kind: "deterministic", Reasons: []string{err.Message}}
			if hasNext {
				s := next.Clone()
				out[i].Suggestion = &s
			}
		}
	}
	return out, nil
}

// Record learns nothing.
func (m *OracleMemory) Record(context.Context, admem.Trajectory) error { return nil }

// NextCall is the reference plan's first call not done yet, as the plan
// writes it; false when every step is done.
func (e *Env) NextCall() (Action, bool) {
	for i, d := range e.done {
		if !d {
			return e.t.Plan[i].Action.Clone(), true
		}
	}
	return Action{}, false
}

// needless reports whether a call, if it worked, would be a side effect the
// task did not need: a write that targets no step of the plan, or one
// already done.
func (e *Env) needless(a Action) bool {
	spec, ok := e.w.tools[a.Tool]
	if !ok || spec.Read {
		return false
	}
	idx := e.target(spec, a)
	return idx < 0 || e.done[idx]
}
