package admem

import "time"

// EntryKind says what a memory entry is. Facts are declarative knowledge;
// procedures and mistakes are the procedural tier distilled from trajectories.
type EntryKind string

// Entry kinds the service itself writes or treats specially. Clients may use
// other kinds for their own facts (e.g. "preference", "profile").
const (
	KindFact      EntryKind = "fact"
	KindProcedure EntryKind = "procedure"
	KindMistake   EntryKind = "mistake"
)

// EntryStatus is an entry's lifecycle state.
type EntryStatus string

// Entry statuses: retired entries kept hurting and are no longer recalled;
// deleted entries are tombstones; both keep their history.
const (
	EntryActive  EntryStatus = "active"
	EntryRetired EntryStatus = "retired"
	EntryDeleted EntryStatus = "deleted"
)

// WriteOp is the operation the judge decided for a write.
type WriteOp string

// Write operations (Memory-R1 style), plus ROLLBACK for restoring a version.
const (
	OpAdd      WriteOp = "ADD"
	OpUpdate   WriteOp = "UPDATE"
	OpDelete   WriteOp = "DELETE"
	OpNoop     WriteOp = "NOOP"
	OpRollback WriteOp = "ROLLBACK"
)

// Provenance says who wrote a version and from what.
type Provenance struct {
	ActorKeyID string // the key that made the request; empty for the worker
	Source     string // "request", "trajectory" or "worker"
	SourceID   string // request id or trajectory id
}

// Entry sources.
const (
	SourceRequest    = "request"
	SourceTrajectory = "trajectory"
	SourceWorker     = "worker"
)

// Entry is a versioned memory unit: the current state of its newest version,
// plus counters that do not make new versions (last seen, utility).
type Entry struct {
	ID         string
	TenantID   string
	Kind       EntryKind
	Key        string // optional stable subject, e.g. "user.preferred_language"
	Content    string
	Metadata   map[string]any
	Tags       []string
	Scope      Scope
	ExpiresAt  *time.Time
	Status     EntryStatus
	Version    int
	Uses       int // times recalled and then rated by feedback
	Successes  int
	LastSeenAt time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// EntryVersion is one immutable version of an entry.
type EntryVersion struct {
	EntryID    string
	Version    int
	Operation  WriteOp
	Content    string
	Metadata   map[string]any
	Tags       []string
	Status     EntryStatus
	Provenance Provenance
	CreatedAt  time.Time
}
