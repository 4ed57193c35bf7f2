package trajectories

import (
	"context"
	"errors"
	"fmt"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
)

// EventStore opens learner transactions that record the event as processed.
type EventStore interface {
	Learn(ctx context.Context, tenantID, consumer, eventID string, fn func(*store.LearnTx) error) error
}

// Observer is more learning from a trajectory event that is idempotent by
// itself (failure clusters: each step is recorded once), done in the same
// pass after the learner's transaction.
type Observer func(ctx context.Context, ev admem.Event) error

// Handler returns the worker's event handler, the one pass that learns
// from an event: the event's effect and its processed-event record (under
// ledger, the consumer's ledger name, which the worker's list of consumers
// owns) commit in one transaction, so a redelivered event changes nothing,
// then the observers run. Unknown event types are recorded as processed and
// ignored.
//
// learned.changed events publish the learned item as a memory entry through
// entries (nil: not published); publishing is idempotent by version.
func (l *Learner) Handler(ledger string, db EventStore, items ItemStore, entries Entries, observe ...Observer) func(ctx context.Context, ev admem.Event) error {
	return func(ctx context.Context, ev admem.Event) error {
		if ev.Type == admem.EventLearnedChanged {
			if entries == nil {
				return nil
			}
			return Publish(ctx, items, entries, ev.TenantID, ev.SubjectID)
		}
		err := db.Learn(ctx, ev.TenantID, ledger, ev.ID, func(lt *store.LearnTx) error {
			switch ev.Type {
			case admem.EventTrajectoryRecorded:
				return l.LearnRecorded(lt, ev.SubjectID)
			case admem.EventStepFailed:
				idx, ok := ev.Payload["step_index"].(float64)
				if !ok {
					return fmt.Errorf("trajectories: step.failed event %s has no step_index", ev.ID)
				}
				return l.LearnStepFailed(lt, ev.SubjectID, int(idx))
			}
			return nil
		})
		switch {
		case errors.Is(err, admem.ErrNotFound):
			// The outbox row was written with its trajectory, so only a
			// deleted tenant (or trajectory) gets here: nothing to learn.
			return nil
		case err != nil && !errors.Is(err, store.ErrAlreadyProcessed):
			return err
		}
		// Observers are idempotent: a redelivered event (its learning
		// already committed) is observed again, so a crash in between
		// loses nothing.
		for _, o := range observe {
			if err := o(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	}
}
