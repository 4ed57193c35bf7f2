package store

import (
	"context"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// SettleEvent records that consumer is done with the tenant's event: with
// processed, its effect committed (the processed-event ledger gets its row,
// if the consumer's own transaction did not write it already); without, the
// consumer gave the event up (dead-lettered). Either way the event no longer
// waits for consumer. Settling again changes nothing, and neither does
// settling an event that is not the tenant's.
func (db *DB) SettleEvent(ctx context.Context, tenantID, consumer, eventID string, processed bool) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if processed {
			if _, err := tx.Exec(ctx, `INSERT INTO processed_events (tenant_id, consumer, event_id)
				SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM outbox WHERE tenant_id = $1 AND event_id = $3)
				ON CONFLICT (consumer, event_id) DO NOTHING`, tenantID, consumer, eventID); err != nil {
				return translate(err)
			}
		}
		_, err := tx.Exec(ctx, `SELECT admem_outbox_settle($1, $2)`, eventID, consumer)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("store: settle event %s for %s: %w", eventID, consumer, err)
	}
	return nil
}

// SettleEvents is SettleEvent (processed) of several of the tenant's
// events in one transaction.
func (db *DB) SettleEvents(ctx context.Context, tenantID, consumer string, eventIDs []string) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO processed_events (tenant_id, consumer, event_id)
			SELECT $1, $2, o.event_id FROM outbox o WHERE o.tenant_id = $1 AND o.event_id = ANY ($3::uuid[])
			ON CONFLICT (consumer, event_id) DO NOTHING`, tenantID, consumer, eventIDs); err != nil {
			return translate(err)
		}
		_, err := tx.Exec(ctx, `SELECT admem_outbox_settle(id, $2) FROM unnest($1::uuid[]) id`, eventIDs, consumer)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("store: settle %d events for %s: %w", len(eventIDs), consumer, err)
	}
	return nil
}

// LearningStatus reads how far the consumers named in consumers (ledger
// names) have caught up with the tenant's events. It reads only the
// pending rows (the outbox_unsettled partial index), the newest ledger row
// and the dead-letter count, so it stays cheap on a tenant with a long
// history. A name the relay waited for that is not in consumers (a consumer
// since removed) is not waited for.
func (db *DB) LearningStatus(ctx context.Context, tenantID string, consumers []string) (admem.LearningStatus, error) {
	var st admem.LearningStatus
	if consumers == nil {
		consumers = []string{}
	}
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var oldest, last *time.Time
		// The first condition is the partial index's predicate, repeated
		// so the planner can use it; the second keeps what still waits for
		// a listed consumer.
		err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM outbox WHERE tenant_id = $1
				AND (relayed_at IS NULL OR pending_consumers <> '{}')
				AND (relayed_at IS NULL OR pending_consumers && $2::text[])),
			(SELECT min(created_at) FROM outbox WHERE tenant_id = $1
				AND (relayed_at IS NULL OR pending_consumers <> '{}')
				AND (relayed_at IS NULL OR pending_consumers && $2::text[])),
			(SELECT max(processed_at) FROM processed_events WHERE tenant_id = $1 AND consumer = ANY ($2::text[])),
			(SELECT count(*) FROM dead_letters WHERE tenant_id = $1)`, tenantID, consumers).
			Scan(&st.PendingEvents, &oldest, &last, &st.DeadLettered)
		if err != nil {
			return translate(err)
		}
		if oldest != nil {
			st.OldestPendingAt = *oldest
		}
		if last != nil {
			st.LastProcessedAt = *last
		}
		return nil
	})
	if err != nil {
		return admem.LearningStatus{}, fmt.Errorf("store: learning status: %w", err)
	}
	return st, nil
}
