package recall

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/trajectories"
)

// Mistake is a mistake note as clients read it: when the failure happens,
// what the agent was doing, how it failed, how often, the corrections known
// for it and the trajectories it was seen in.
type Mistake struct {
	When          string // context pattern: what the tasks that hit it share
	After         string // tool most often called just before ("" at the start)
	Tool          string
	Doing         string // canonical action, with its literal values
	DoingPattern  string // the action with instance literals masked
	FailsWith     Failure
	Seen          int
	Corrections   []Correction // most supported first
	TrajectoryIDs []string

	actionText string // what the adapter scores: the action with literals masked
}

// Failure is the error signature a mistake note fails with.
type Failure struct {
	SignatureID string
	Class       string
	Template    string
}

// Correction is "instead of A, do B" at the point where a failing and a
// working trajectory diverge.
type Correction struct {
	Kind         string // recovered, aligned or before
	Instead      string // canonical action that failed
	Do           string // canonical action that worked in its place
	Text         string
	Support      int
	TrajectoryID string // the trajectory the working action comes from
}

// Procedure is a procedure as clients read it: the task pattern, the
// verbatim steps of the trajectory it comes from, the abstracted script
// with named placeholders, and its support.
type Procedure struct {
	Task          string
	Tasks         []string
	Steps         []Call
	Script        []ScriptStep
	Placeholders  []string
	Support       int // successful trajectories that support it
	Failures      int // failed trajectories that followed it
	Pitfalls      []Pitfall
	TrajectoryIDs []string
}

// Call is one verbatim tool call.
type Call struct {
	Tool string
	Args map[string]any
	Text string // canonical rendering
}

// ScriptStep is one step of an abstracted script: placeholders appear as
// "{name}" strings in Args.
type ScriptStep struct {
	Tool    string
	Args    map[string]any
	Text    string
	Support int
}

// Pitfall marks a script step at which an agent following the procedure failed.
type Pitfall struct {
	Step         int // 1-based
	Tool         string
	SignatureID  string
	Error        string
	TrajectoryID string
}

// Structured is the typed form of a learned item's state: exactly one of
// Mistake and Procedure is set.
type Structured struct {
	Mistake   *Mistake
	Procedure *Procedure
}

// Structure decodes the learner's state of an item of kind.
func Structure(kind admem.EntryKind, state []byte) (Structured, error) {
	switch kind {
	case admem.KindMistake:
		var n learner.MistakeNote
		if err := json.Unmarshal(state, &n); err != nil {
			return Structured{}, fmt.Errorf("recall: decode mistake note: %w", err)
		}
		return Structured{Mistake: mistakeOf(n)}, nil
	case admem.KindProcedure:
		var s trajectories.ProcedureState
		if err := json.Unmarshal(state, &s); err != nil {
			return Structured{}, fmt.Errorf("recall: decode procedure: %w", err)
		}
		return Structured{Procedure: procedureOf(s)}, nil
	}
	return Structured{}, fmt.Errorf("recall: no structure for kind %q", kind)
}

// StructureItem decodes a stored item's state.
func StructureItem(it store.LearnedItem) (Structured, error) {
	s, err := Structure(it.Kind, it.State)
	if err != nil {
		return Structured{}, fmt.Errorf("%w (item %s)", err, it.ID)
	}
	return s, nil
}

func mistakeOf(n learner.MistakeNote) *Mistake {
	m := &Mistake{
		When: n.When, After: n.After, Tool: n.Signature.Tool, Doing: n.Doing.Text(), DoingPattern: n.DoingPattern,
		FailsWith:     Failure{SignatureID: n.ID, Class: n.Signature.Class, Template: n.Signature.Template},
		Seen:          n.Count,
		Corrections:   make([]Correction, 0, len(n.Corrections)),
		TrajectoryIDs: nonNil(n.TrajectoryIDs),
		actionText:    failures.ActionText(n.Doing.Tool, n.Doing.Args),
	}
	if m.FailsWith.SignatureID == "" {
		m.FailsWith.SignatureID = n.Signature.ID()
	}
	for _, c := range n.Corrections {
		m.Corrections = append(m.Corrections, Correction{Kind: string(c.Kind), Instead: c.Instead.Text(), Do: c.Do.Text(),
			Text: c.Text, Support: c.Support, TrajectoryID: c.From})
	}
	slices.SortStableFunc(m.Corrections, func(a, b Correction) int { return b.Support - a.Support })
	return m
}

func procedureOf(s trajectories.ProcedureState) *Procedure {
	p := s.Procedure
	out := &Procedure{
		Task: p.Task, Tasks: nonNil(p.Tasks), Placeholders: nonNil(p.Params),
		Support: p.Successes(), Failures: p.Failures(), TrajectoryIDs: nonNil(p.Sources),
		Steps: make([]Call, 0, len(p.Steps)), Script: make([]ScriptStep, 0, len(p.Script)), Pitfalls: make([]Pitfall, 0, len(s.Pitfalls)),
	}
	for _, a := range p.Steps {
		out.Steps = append(out.Steps, Call{Tool: a.Tool, Args: nonNilArgs(a.Args), Text: a.Text()})
	}
	// Placeholders decode as learner.Param, in the stored form of either
	// version (learner.Procedure's UnmarshalJSON).
	for _, st := range p.Script {
		args, _ := braced(st.Args).(map[string]any)
		args = nonNilArgs(args)
		out.Script = append(out.Script, ScriptStep{Tool: st.Tool, Args: args, Support: st.Support,
			Text: signature.CanonicalAction(st.Tool, args, signature.ActionOptions{})})
	}
	for _, f := range s.Pitfalls {
		out.Pitfalls = append(out.Pitfalls, Pitfall{Step: f.Step, Tool: f.Tool, SignatureID: f.SignatureID, Error: f.Error, TrajectoryID: f.Trajectory})
	}
	return out
}

// braced renders placeholder leaves (learner.Param) as "{name}".
func braced(v any) any {
	switch x := v.(type) {
	case learner.Param:
		return "{" + string(x) + "}"
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = braced(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = braced(e)
		}
		return out
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilArgs(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
