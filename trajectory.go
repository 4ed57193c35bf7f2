package admem

import "time"

// StepStatus says whether a step worked.
type StepStatus string

// Step statuses.
const (
	StepOK    StepStatus = "ok"
	StepError StepStatus = "error"
)

// Outcome is how a trajectory ended.
type Outcome string

// Outcomes. OutcomeUnknown means the agent did not say and the judge has not
// scored it yet.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomePartial Outcome = "partial"
	OutcomeUnknown Outcome = ""
)

// Step is one action an agent took: a tool call or another named action.
type Step struct {
	Index       int
	Action      string         // tool or action name, e.g. "update_reservation_flights"
	Args        map[string]any // arguments as the agent sent them
	Observation string         // what the tool returned
	Error       string         // error text when Status is StepError
	ErrorType   string         // exception or error class, when the agent knows it
	Status      StepStatus
	Reward      *float64
	StartedAt   *time.Time
	DurationMS  *int64
	// Provenance: the key that appended the step, and the trajectory's
	// agent and session (set by the store).
	Provenance Provenance
}

// Failed reports whether the step errored.
func (s Step) Failed() bool { return s.Status == StepError }

// Trajectory is what an agent did for one task, step by step, and how it ended.
// Trajectories are append-only once closed.
type Trajectory struct {
	ID       string
	TenantID string
	Task     string
	Scope    Scope
	Steps    []Step
	Outcome  Outcome
	Score    *float64
	Metadata map[string]any
	Open     bool // streaming: steps may still be appended
	// Provenance: the key that recorded it (set from the request's
	// credentials, never from its body) with Scope's agent and session.
	Provenance Provenance
	// Purged: an admin purged its source; it no longer teaches anything.
	Purged    bool
	CreatedAt time.Time
	ClosedAt  *time.Time
}

// FailedSteps returns the steps that errored.
func (t Trajectory) FailedSteps() []Step {
	var out []Step
	for _, s := range t.Steps {
		if s.Failed() {
			out = append(out, s)
		}
	}
	return out
}
