package admem

import "time"

// Source names one source an admin asks about or purges: a key, an agent,
// or both (then only what that key sent as that agent).
type Source struct {
	KeyID   string
	AgentID string
}

// SourceReport is what one source taught: the trajectories and feedback it
// sent and the learned items that depend on them.
type SourceReport struct {
	Source       Source
	Trajectories []TrajectorySummary
	Feedback     []SourceFeedback
	Learned      []LearnedRef
	Purges       []Purge
}

// SourceFeedback is one recall's feedback given by a source.
type SourceFeedback struct {
	RecallID   string
	Outcome    Outcome
	Provenance Provenance
	GivenAt    time.Time
	Purged     bool
}

// LearnedRef names a learned item (mistake or procedure) and how many of
// its pieces of evidence came from the source.
type LearnedRef struct {
	ID       string
	Kind     EntryKind
	Key      string
	Version  int
	Status   EntryStatus
	Evidence int
}

// Purge is an admin's taking back of what one source taught: its
// trajectories and feedback no longer count, and the learned items were
// recomputed without them, as new versions.
type Purge struct {
	ID           string
	Source       Source
	ActorKeyID   string
	Trajectories int
	Feedback     int
	Items        int
	CreatedAt    time.Time
}
