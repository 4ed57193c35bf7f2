package events

import (
	"context"

	"github.com/admem/admem"
)

// ConsumerID names one consumer of the event stream: its Redis consumer
// group and its name in the processed-event ledger.
type ConsumerID struct {
	Group  string
	Ledger string
}

// The consumers the worker runs.
var (
	// Learner is the worker's one learning pass: the mistake model,
	// failure clusters, procedures, and publishing what it learnt as
	// memory entries.
	Learner = ConsumerID{Group: "learners", Ledger: "learner"}
)

// Consumers lists every consumer the worker may run. It is the one list
// that both the worker (which starts them, and whose relay makes each event
// wait for the ones it started) and the learning status (which counts an
// event pending until each listed consumer finished it) read: adding,
// renaming or merging a consumer is a change here and in the worker's
// wiring, nowhere else.
var Consumers = []ConsumerID{Learner}

// Ledgers returns the ledger names of Consumers.
func Ledgers() []string {
	out := make([]string, len(Consumers))
	for i, c := range Consumers {
		out[i] = c.Ledger
	}
	return out
}

// StatusStore reads a tenant's backlog against the consumers' ledger names.
type StatusStore interface {
	LearningStatus(ctx context.Context, tenantID string, consumers []string) (admem.LearningStatus, error)
}

// Status reports a tenant's learning status against Consumers.
type Status struct{ db StatusStore }

// NewStatus returns the status reader over db.
func NewStatus(db StatusStore) *Status { return &Status{db: db} }

// LearningStatus says how many of the tenant's events some consumer of the
// worker has not finished, and since when.
func (s *Status) LearningStatus(ctx context.Context, tenantID string) (admem.LearningStatus, error) {
	return s.db.LearningStatus(ctx, tenantID, Ledgers())
}
