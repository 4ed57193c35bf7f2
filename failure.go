package admem

import "time"

// FailureCluster is a failure signature as a resource: failed steps with the
// same error signature in similar contexts. Clusters can be labelled,
// suppressed (guard stops citing them), merged into another cluster, or split
// when their contexts drift apart.
type FailureCluster struct {
	ID          string
	TenantID    string
	SignatureID string // signature.Signature.ID()
	Signature   string // "tool: Class: template"
	Tool        string
	ErrorClass  string
	Template    string
	Centroid    []float32 // mean context embedding of the members (unit length)
	EmbedderID  string
	Count       int
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	Actions     map[string]int // affected action patterns → times seen
	Exemplars   []string       // recent trajectory ids, newest last
	Note        FailureNote
	Label       string
	Suppressed  bool
	MergedInto  string // "" unless merged
	SplitFrom   string // "" unless made by a split
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// FailureNote is the cluster's mistake note in the form guard and the API
// need: what it says, when it happens, and what to do instead.
type FailureNote struct {
	Text       string // the rendered note, ready for a prompt
	When       string // context pattern
	Doing      string // the failed action pattern
	Correction string // "instead of A, do B"; "" when none is known
	Do         string // the action to take instead, as canonical text
}

// FailureClusterUpdate changes what a tenant admin may change; nil means
// unchanged.
type FailureClusterUpdate struct {
	Label      *string
	Suppressed *bool
}

// FailureFilter narrows a cluster listing.
type FailureFilter struct {
	Tool            string
	IncludeMerged   bool
	IncludeSuppress bool
}

// AdapterStatus is the lifecycle state of an adapter version.
type AdapterStatus string

// Adapter statuses: a candidate is being gated; the gate makes it active or
// rejected; activating another version retires the active one.
const (
	AdapterCandidate AdapterStatus = "candidate"
	AdapterActive    AdapterStatus = "active"
	AdapterRejected  AdapterStatus = "rejected"
	AdapterRetired   AdapterStatus = "retired"
)

// AdapterVersion is one trained procedural adapter of a tenant.
type AdapterVersion struct {
	TenantID      string
	Version       int
	Status        AdapterStatus
	Blob          []byte // the model artifact; empty in listings
	Metrics       map[string]any
	Gate          map[string]any // the judge's decision and reasons
	EmbedderID    string
	Dim           int
	Rank          int
	TrainExamples int
	CreatedAt     time.Time
	ActivatedAt   *time.Time
	ActivatedBy   string // "gate", or the key id of the admin who activated it
}

// LabelledStep is one step as the adapter learns from it: the context it was
// taken in, the action, and whether it failed. A failed step also carries its
// error signature and the mistake note learnt from it.
type LabelledStep struct {
	TrajectoryID  string
	StepIndex     int
	Task          string
	EmbedderID    string
	Context       []float32 // task + recent steps, unit length
	Action        []float32 // canonical action text, unit length
	ActionText    string    // canonical action with literals
	ActionPattern string    // canonical action with literals masked
	Failed        bool

	// Set for failed steps only.
	SignatureID string
	Signature   string
	Tool        string
	ErrorClass  string
	Template    string
	Note        FailureNote
	SeenAt      time.Time
}

// FailureMember is one failed step of a cluster, for coherence checks and
// splits.
type FailureMember struct {
	ExampleID    int64
	TrajectoryID string
	Context      []float32
	ActionText   string
	CreatedAt    time.Time
}

// AdapterExample is one stored labelled step as training reads it.
type AdapterExample struct {
	ID        int64
	Context   []float32
	Action    []float32
	Failed    bool
	ClusterID string
	// Label is what a failed step's label is about: its failure cluster,
	// or its action when it has none.
	Label string
	// Source is who posted the step's trajectory (zero when unknown) and
	// Trusted whether that key is trusted for learning. SourceRank is a
	// failed step's place (1 = first) among the failed steps with its
	// Label from the same key or the same agent, whichever is later; 0
	// for a step that worked or whose source is unknown.
	Source     Provenance
	Trusted    bool
	SourceRank int
}

// LabelSources is who reported the failed steps of one Label: the
// sources and whether a key trusted for learning was among them.
type LabelSources struct {
	Sources []Provenance
	Trusted bool
}

// AdapterTrainingState is a tenant's training state: the examples already
// trained on (ids up to TrainedThrough) and the replay reservoir.
type AdapterTrainingState struct {
	TrainedThrough int64
	Reservoir      []byte
	LastTrainedAt  *time.Time
	// LearningQuorum is the tenant's learning quorum (read with the
	// state; never stored with it).
	LearningQuorum int
}
