package admem

import "time"

// OutcomeSource says who decided a trajectory's outcome.
type OutcomeSource string

// Outcome sources: the agent reported it, or the judge scored it.
const (
	OutcomeByAgent OutcomeSource = "agent"
	OutcomeByJudge OutcomeSource = "judge"
)

// TrajectoryFilter narrows a trajectory list; zero fields do not filter.
type TrajectoryFilter struct {
	Scope   Scope
	Outcome *Outcome // OutcomeUnknown selects trajectories without an outcome
	Open    *bool
	Failed  *bool // at least one failed step
	Since   *time.Time
	Until   *time.Time
}

// TrajectorySummary is a trajectory without its steps, as lists return it.
type TrajectorySummary struct {
	Trajectory
	OutcomeSource OutcomeSource
	StepCount     int
	FailedSteps   int
}

// Event types written to the outbox.
const (
	EventTrajectoryRecorded = "trajectory.recorded"
	EventStepFailed         = "step.failed"
	// EventLearnedChanged: a mistake note or procedure got a new version
	// (subject: the learned item); the worker publishes it as an entry.
	EventLearnedChanged = "learned.changed"
)

// Event is one outbox event: something that happened to a tenant's data that
// the worker learns from. ID is unique; consumers use it to process each
// event once.
type Event struct {
	Seq       int64 // outbox order
	ID        string
	TenantID  string
	Type      string
	SubjectID string // the trajectory
	Payload   map[string]any
	CreatedAt time.Time
}

// DeadLetter is an event that kept failing and was set aside.
type DeadLetter struct {
	ID        int64
	Event     Event
	StreamID  string
	Attempts  int
	LastError string
	CreatedAt time.Time
}

// UnsettledEvent is a relayed event some consumer has not settled yet, with
// the stream entry it was last appended as.
type UnsettledEvent struct {
	Event    Event
	StreamID string   // empty: unknown (relayed before stream ids were kept)
	Pending  []string // ledger names of the consumers that have not settled it
}

// LearningStatus is how far the worker has caught up with what a tenant
// sent: events whose effect some consumer of the worker has not committed
// yet, and when the oldest of them was written and the last one finished.
// A zero time means none.
type LearningStatus struct {
	PendingEvents   int64
	OldestPendingAt time.Time
	LastProcessedAt time.Time
	// DeadLettered counts the tenant's events set aside after repeated
	// failures: they never finish, so they are not pending.
	DeadLettered int64
}

// UpdateStrategy says how a tenant's procedural memory learns from trajectories.
type UpdateStrategy string

// Update strategies: append-only learns from every trajectory and never revises
// a procedure because of a failure; success-only learns only from successful
// trajectories (no mistake notes); reflect is append-only plus a new procedure
// version marking the failing step when an agent that followed it failed.
const (
	StrategyAppendOnly  UpdateStrategy = "append_only"
	StrategySuccessOnly UpdateStrategy = "success_only"
	StrategyReflect     UpdateStrategy = "reflect"
)

// LearningSettings are a tenant's rules for scoring and learning from trajectories.
type LearningSettings struct {
	JudgeRule      string  // see internal/judge: the rule that scores trajectories without an outcome
	JudgeThreshold float64 // reward threshold of the "reward" rule
	Strategy       UpdateStrategy
	// RetireQuorum: how many independent sources (distinct keys and
	// agents) must rate a shared item unsuccessfully before feedback
	// retires it; an admin's feedback suffices alone.
	RetireQuorum int
	// LearningQuorum: how many independent sources must report a mistake
	// (or a fix's recoveries) before guard may block on it, suggest its
	// fixes, or flag a call that worked before; a key trusted for learning
	// suffices alone. One source may make guard warn.
	LearningQuorum int
	UpdatedAt      time.Time
}
