// Package simlocal plays the closed-loop simulator (internal/sim) against
// admem's learning core in process, without HTTP, Postgres or the worker:
// the same mistake model (internal/mistake) and decision the API serves,
// fed each recorded trajectory at once. It is for measuring and tuning
// the learning core on many generated worlds in seconds; the benchmark of
// record (make bench-sim) goes through the real API.
package simlocal

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner/adapter/sparse"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/riskmodel"
	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/toolclass"
)

// Thresholds are guard's defaults.
const (
	Warn  = 0.5
	Block = 0.85
)

// Memory is a tenant's learning core in process.
type Memory struct {
	Book  *mistake.Book
	n     int
	Clock func() time.Time
	// Adapter, when set, is the full arm: its model's risk is guard's.
	Adapter *Adapter
	// Tools, when set, is the tenant's tool policy: suggestions of other
	// tools go through it as guard's do (a writing tool the context does
	// not show called is words, not a call).
	Tools *toolclass.Policy
	model *sparse.Model
}

// New returns an empty memory.
func New() *Memory { return &Memory{Book: mistake.NewBook(), Clock: time.Now} }

// Recall returns nothing yet: guard is what is measured here.
func (m *Memory) Recall(context.Context, string, admem.Scope) (sim.RecallResult, error) {
	return sim.RecallResult{}, nil
}

// Guard assesses each candidate as POST /v1/guard does without an adapter.
func (m *Memory) Guard(_ context.Context, task string, recent []admem.Step, cands []sim.Action) ([]sim.Verdict, error) {
	sit := &mistake.Situation{Task: task, Steps: recent}
	out := make([]sim.Verdict, len(cands))
	for i, c := range cands {
		call := mistake.Call{Tool: c.Tool, Args: argsAny(c.Args)}
		a := m.Book.Assess(sit, call)
		v := sim.Verdict{Risk: a.Risk, NoteRisk: a.Risk, Decision: sim.Allow}
		if m.model != nil {
			var r float64
			if m.Adapter.NamedOnly {
				r = m.model.Risk(named(riskmodel.Input(sit, &a)))
			} else {
				r = riskmodel.Scorer{M: m.model}.Risks(sit, []mistake.Assessment{a})[0]
			}
			v.AdapterRisk = &r
			v.Risk = riskmodel.Risk(&a, r)
		}
		switch {
		case v.Risk >= Block:
			v.Decision = sim.Block
		case v.Risk >= Warn:
			v.Decision = sim.Warn
		}
		for _, mt := range a.Matches {
			v.Cited = append(v.Cited, mt.Mistake.SignatureID)
		}
		if v.Decision != sim.Allow {
			var g *mistake.Gate
			if m.Tools != nil {
				g = &mistake.Gate{Refusal: func(candidate, tool string) string {
					return m.Tools.Refusal(candidate, tool, func(t string) bool {
						return slices.ContainsFunc(recent, func(st admem.Step) bool { return st.Action == t })
					})
				}}
			}
			if s := m.Book.Suggest(sit, call, &a, Warn, g); s != nil {
				v.Reasons = append(v.Reasons, s.Text)
				if s.Call != nil {
					act := sim.Action{Tool: s.Call.Tool, Args: map[string]string{}}
					for k, x := range s.Call.Args {
						act.Args[k] = fmt.Sprint(x)
					}
					v.Suggestion = &act
				}
			}
		}
		out[i] = v
	}
	return out, nil
}

// Record learns the trajectory at once.
func (m *Memory) Record(_ context.Context, t admem.Trajectory) error {
	m.n++
	t.ID = fmt.Sprintf("t%06d", m.n)
	var ps []pending
	if m.Adapter != nil {
		ps = m.Adapter.describe(m.Book, t)
	}
	m.Book.LearnClosed(t, nil, m.Clock())
	m.Book.Reset()
	if m.Adapter != nil {
		if err := m.Adapter.learn(m.Book, ps); err != nil {
			return err
		}
		m.model = m.Adapter.Model()
	}
	return nil
}

func argsAny(a map[string]string) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range maps.All(a) {
		out[k] = v
	}
	return out
}
