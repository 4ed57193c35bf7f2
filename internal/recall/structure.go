package recall

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/trajectories"
)

// Mistake is a mistake as clients read it: what fails (the tool, an
// example call with its literals masked, the error), when (its rule), what
// kind of failure it is, how often it was seen, and the fixes the agents'
// own recoveries taught.
type Mistake struct {
	When          string // the rule in words
	Tool          string
	Kind          string // deterministic, state or transient
	Doing         string // an example of a failing call, literals masked
	DoingPattern  string
	FailsWith     Failure
	Seen          int
	Rule          Rule
	Corrections   []Correction // the fixes, most supported (and recent) first
	TrajectoryIDs []string

	actionText string // what the adapter scores: the action with literals masked
}

// Failure is the error signature a mistake fails with.
type Failure struct {
	SignatureID string
	Class       string
	Template    string
}

// Rule is when a mistake happens: the features a call meets, at what
// level, and the estimated probability such a call fails.
type Rule struct {
	Level    string
	Features []string
	P        float64
}

// Correction is one fix of a mistake: its kind (rewrite, prior, replace,
// split), the failing call it fixes (masked), and what to do in words.
type Correction struct {
	Kind         string
	Instead      string
	Do           string
	Text         string
	Support      int
	TrajectoryID string // a trajectory whose recovery taught it
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
		var m mistake.Mistake
		if err := json.Unmarshal(state, &m); err != nil {
			return Structured{}, fmt.Errorf("recall: decode mistake: %w", err)
		}
		if m.SignatureID == "" {
			return Structured{}, fmt.Errorf("recall: a mistake note of the first learner has no structured form")
		}
		return Structured{Mistake: mistakeOf(&m)}, nil
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

func mistakeOf(m *mistake.Mistake) *Mistake {
	out := &Mistake{
		When: m.Rule.Describe(), Tool: m.Signature.Tool, Kind: string(m.Kind), Doing: m.Example, DoingPattern: m.Example,
		FailsWith:     Failure{SignatureID: m.SignatureID, Class: m.Signature.Class, Template: m.Signature.Template},
		Seen:          m.Failures,
		Rule:          Rule{Level: string(m.Rule.Level), Features: nonNil(m.Rule.Features), P: m.Rule.P},
		Corrections:   make([]Correction, 0, len(m.Fixes)),
		TrajectoryIDs: nonNil(m.Trajectories),
		actionText:    strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(m.Example),
	}
	for _, f := range m.Fixes {
		c := Correction{Kind: string(f.Kind), Instead: m.Example, Do: f.Text(m.Signature.Tool), Text: f.Text(m.Signature.Tool), Support: f.Support}
		if len(f.Sources) > 0 {
			c.TrajectoryID = f.Sources[len(f.Sources)-1]
		}
		out.Corrections = append(out.Corrections, c)
	}
	return out
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
