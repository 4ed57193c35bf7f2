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

// Provenance says who wrote a version (or sent a trajectory, a step, a
// feedback, a piece of evidence) and from what. An empty field is unknown:
// recorded before provenance was kept, or not said by the request.
type Provenance struct {
	ActorKeyID string // the key that made the request; empty for the worker
	AgentID    string // the agent the request named
	SessionID  string // the session the request named
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
	SeenCount  int // writes that matched it: 1 + NOOPs
	LastSeenAt time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Quarantine Quarantine
}

// Trust says how far recall may let an item speak to the agent.
type Trust string

// Trust levels: quarantined items look like instructions and are left out
// of recall's prompt text; trusted ones were vouched for by a tenant admin;
// the rest are unverified data.
const (
	TrustTrusted     Trust = "trusted"
	TrustUnverified  Trust = "unverified"
	TrustQuarantined Trust = "quarantined"
)

// Quarantine is the judge's verdict on an entry's content and an admin's
// release of it. A release holds for the content it vouched for.
type Quarantine struct {
	Reason     string     // why the content looks like an instruction; empty when it does not
	ReleasedAt *time.Time // when a tenant admin released it
	ReleasedBy string     // the admin key that did
}

// Trust is the entry's trust level.
func (q Quarantine) Trust() Trust {
	switch {
	case q.ReleasedAt != nil:
		return TrustTrusted
	case q.Reason != "":
		return TrustQuarantined
	}
	return TrustUnverified
}

// EntryVersion is one immutable version of an entry.
type EntryVersion struct {
	EntryID    string
	Version    int
	Operation  WriteOp
	Key        string
	Content    string
	Metadata   map[string]any
	Tags       []string
	ExpiresAt  *time.Time
	Status     EntryStatus
	Provenance Provenance
	Reason     string // why the judge chose the operation
	CreatedAt  time.Time
}

// MaxBatch is the most entries one batch write may hold.
const MaxBatch = 1000

// Entry limits, checked by the memory service before anything is stored.
const (
	MaxContentBytes = 32 << 10
	MaxKeyLen       = 200
	MaxTags         = 32
	MaxTagLen       = 64
	MaxScopeLen     = 200
)

// NewEntry is one write: the content of a new entry, or of a new version of
// the entry the judge matches it with.
type NewEntry struct {
	Kind      EntryKind
	Key       string
	Content   string
	Metadata  map[string]any
	Tags      []string
	Scope     Scope
	ExpiresAt *time.Time
	// Vector and VectorSpace carry a client-supplied embedding: the entry is
	// stored in the vector space "client:<VectorSpace>" instead of being
	// embedded by the service.
	Vector      []float32
	VectorSpace string
	Provenance  Provenance
}

// WriteOptions change how a write is decided.
type WriteOptions struct {
	// Infer lets the judge choose ADD, UPDATE or NOOP; false forces ADD.
	Infer bool
	// Explain returns the judge's decision with the matched entry and scores.
	Explain bool
}

// WriteDecision is the judge's verdict on one write, with its reasons.
type WriteDecision struct {
	Op      WriteOp
	Reason  string // e.g. "same key", "near-duplicate", "contradiction: negation"
	MatchID string // the existing entry the write was matched with, if any
	Scores  map[string]float64
}

// WriteResult is what a write did: the operation and the entry as it now is.
type WriteResult struct {
	Op       WriteOp
	Entry    Entry
	Decision *WriteDecision // only when asked to explain
	Matched  *Entry         // the matched entry before the write, when explained
}

// EntryUpdate is a change to an existing entry; nil fields stay unchanged.
// Every update makes a new version.
type EntryUpdate struct {
	Content    *string
	Key        *string
	Metadata   map[string]any // replaces the metadata when non-nil
	Tags       []string       // replaces the tags when non-nil
	ExpiresAt  *time.Time
	Status     *EntryStatus // active or retired
	Provenance Provenance
}

// EntryFilter narrows lists and searches. Zero fields do not filter.
type EntryFilter struct {
	Kinds []EntryKind
	// NotKinds leaves these kinds out (recall's facts: every kind but the
	// learned ones, which it ranks on its own).
	NotKinds      []EntryKind
	Key           string
	AgentID       string
	UserID        string
	SessionID     string
	Tags          []string       // entries holding every tag
	Metadata      map[string]any // JSON containment
	Status        EntryStatus    // default: active
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	// IncludeExpired keeps entries past their expiry.
	IncludeExpired bool
	// Quarantined keeps only entries held in quarantine (not released).
	Quarantined bool
	// ExactScope makes an empty AgentID or UserID mean "not scoped by it"
	// rather than "any".
	ExactScope bool
}

// SearchMode chooses the rankers of a search.
type SearchMode string

// Search modes.
const (
	SearchHybrid  SearchMode = "hybrid"
	SearchLexical SearchMode = "lexical"
	SearchVector  SearchMode = "vector"
)

// SearchQuery is one search.
type SearchQuery struct {
	Text   string
	Filter EntryFilter
	Limit  int
	Mode   SearchMode
	// Vector and VectorSpace search a client-supplied vector space.
	Vector      []float32
	VectorSpace string
	// LexicalWeight and VectorWeight weigh the min-max normalised scores in
	// the fusion; zero means the defaults (1 and 0.5).
	LexicalWeight float64
	VectorWeight  float64
	// SessionContext lets an entry inherit shares of its session neighbours'
	// scores (the previous and next entry, and the session's best), for
	// conversational memories where an answer turn alone says little.
	SessionContext bool
	// RecencyWeight multiplies scores by 1 + w·2^(−age/half-life).
	RecencyWeight   float64
	RecencyHalfLife time.Duration
	// UtilityWeight multiplies scores by 1 + w·(utility − 0.5), utility being
	// the Laplace-smoothed success ratio of the entry's rated uses.
	UtilityWeight float64
	Explain       bool
}

// SearchHit is one ranked entry.
type SearchHit struct {
	Entry   Entry
	Score   float64
	Explain *SearchExplain
}

// SearchExplain breaks a hit's score down.
type SearchExplain struct {
	Lexical     float64 // BM25
	LexicalRank int     // 1-based; 0 when not in the lexical list
	Vector      float64 // cosine similarity
	VectorRank  int
	Fused       float64
	Context     float64 // added by session context
	Recency     float64 // the recency factor applied
	Utility     float64 // the utility factor applied
	Embedder    string
}

// ForgetResult counts what right-to-be-forgotten removed.
type ForgetResult struct {
	Entries  int
	Versions int
}

// EntryIndex is what search needs from an entry's content, derived by the
// memory service: the analysed terms (with repeats) and, when embedded, the
// vector and the embedder (vector space) that made it.
type EntryIndex struct {
	Terms    []string
	Embedder string
	Vector   []float32
	// Quarantine is the judge's reason when the content looks like an
	// instruction to the agent; empty otherwise.
	Quarantine string
}

// EntryWrite is a new entry to store with its first version.
type EntryWrite struct {
	Entry      Entry
	Index      EntryIndex
	Provenance Provenance
	Reason     string
}

// EntryRevision is a new version of an entry: its new state and index, the
// operation and why.
type EntryRevision struct {
	Entry      Entry // Key, Content, Metadata, Tags, ExpiresAt and Status are stored
	Index      EntryIndex
	Op         WriteOp
	Provenance Provenance
	Reason     string
}

// RankedEntry is one entry in a ranked list from one ranker, with where it
// sits in its session (for session context).
type RankedEntry struct {
	ID        string
	Score     float64
	SessionID string
	Seq       int64
}

// JudgeCandidate is an existing entry the judge compares a write with, with
// its stored vector (nil when not embedded in the active space).
type JudgeCandidate struct {
	Entry  Entry
	Vector []float32
}
