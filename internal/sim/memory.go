package sim

import (
	"context"

	"github.com/admem/admem"
)

// Memory is what the agent asks for help. It is shaped like the admem HTTP
// API (recall, guard, trajectories) so that the benchmark arms can wrap the
// client; [NoMemory] is the baseline arm.
type Memory interface {
	// Recall returns what the memory knows that matters for the task,
	// before the agent starts.
	Recall(ctx context.Context, task string, scope admem.Scope) (RecallResult, error)
	// Guard scores the candidate next actions, given the steps taken so
	// far. It returns one verdict per candidate, in order.
	Guard(ctx context.Context, task string, recent []admem.Step, candidates []Action) ([]Verdict, error)
	// Record stores the finished trajectory so the memory can learn from it.
	Record(ctx context.Context, t admem.Trajectory) error
}

// ItemKind is the kind of a recalled item.
type ItemKind string

// Recalled item kinds.
const (
	ItemFact      ItemKind = "fact"
	ItemProcedure ItemKind = "procedure"
	ItemMistake   ItemKind = "mistake"
)

// RecallItem is one recalled memory item. Which fields are set depends on
// the kind.
type RecallItem struct {
	ID    string
	Kind  ItemKind
	Text  string
	Score float64

	// Steps is a procedure's step list. Argument values may be literals or
	// "{param}" placeholders; the agent reads literals as format hints and
	// fills placeholders from its own task.
	Steps []Action

	// Pattern is a mistake note's failing action (see [Action] for the
	// pattern syntax), After the tool of the step before the failure ("" when
	// the note holds after anything), Signature the normalised error and
	// Correction, when known, what to do instead.
	Pattern    *Action
	After      string
	Signature  string
	Correction *Action
}

// RecallResult is the answer to a recall.
type RecallResult struct {
	ID    string
	Items []RecallItem
	Text  string // the ready-to-inject block, unused by the stand-in agent
}

// Decision is a guard's verdict on one candidate action.
type Decision string

// Guard decisions.
const (
	Allow Decision = "allow"
	Warn  Decision = "warn"
	Block Decision = "block"
)

// Verdict is the guard's answer for one candidate.
type Verdict struct {
	Risk float64 // estimated failure probability in [0, 1]
	// AdapterRisk is the adapter's share of Risk (nil: no adapter scored
	// the candidate) and NoteRisk the mistake notes' share.
	AdapterRisk *float64
	NoteRisk    float64
	Decision    Decision
	// Kind is the kind of failure the memory expects, when it says
	// ("transient", "deterministic", "state"…); "" when it does not.
	Kind       string
	Reasons    []string
	Cited      []string // error signatures of the known mistakes it matched, whatever the decision
	Suggestion *Action  // a better action, when the memory knows one; may hold placeholders
}

// NoMemory is the arm without memory: it recalls nothing, allows everything
// and forgets every trajectory.
type NoMemory struct{}

// Recall returns nothing.
func (NoMemory) Recall(context.Context, string, admem.Scope) (RecallResult, error) {
	return RecallResult{}, nil
}

// Guard allows every candidate.
func (NoMemory) Guard(_ context.Context, _ string, _ []admem.Step, candidates []Action) ([]Verdict, error) {
	out := make([]Verdict, len(candidates))
	for i := range out {
		out[i] = Verdict{Decision: Allow}
	}
	return out, nil
}

// Record discards the trajectory.
func (NoMemory) Record(context.Context, admem.Trajectory) error { return nil }
