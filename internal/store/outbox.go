package store

import (
	"context"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// RelayOutbox claims up to limit pending outbox events of every tenant,
// hands them to publish and marks them relayed when publish succeeds, all in
// one transaction. Claimed rows stay locked until it ends, so relays in other
// replicas skip them (SKIP LOCKED); if publish fails or the process dies the
// rows stay pending and are relayed again later. Publishing is therefore at
// least once: consumers must be idempotent. Each event relayed then waits
// for the consumers named in await (their ledger names) to settle it.
func (db *DB) RelayOutbox(ctx context.Context, limit int, await []string, publish func([]admem.Event) error) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM admem_outbox_claim($1)`, limit)
		if err != nil {
			return translate(err)
		}
		evs, err := pgx.CollectRows(rows, scanEvent)
		if err != nil {
			return translate(err)
		}
		if len(evs) == 0 {
			return nil
		}
		if err := publish(evs); err != nil {
			return err
		}
		ids := make([]int64, len(evs))
		for i, e := range evs {
			ids[i] = e.Seq
		}
		if await == nil {
			await = []string{}
		}
		if _, err := tx.Exec(ctx, `SELECT admem_outbox_mark_relayed($1, $2)`, ids, await); err != nil {
			return translate(err)
		}
		n = len(evs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: relay outbox: %w", err)
	}
	return n, nil
}

// OutboxBacklog returns how many events wait to be relayed and the age of the oldest.
func (db *DB) OutboxBacklog(ctx context.Context) (int64, time.Duration, error) {
	var n int64
	var oldest *time.Time
	if err := db.pool.QueryRow(ctx, `SELECT pending, oldest FROM admem_outbox_backlog()`).Scan(&n, &oldest); err != nil {
		return 0, 0, fmt.Errorf("store: outbox backlog: %w", translate(err))
	}
	var age time.Duration
	if oldest != nil {
		age = max(time.Since(*oldest), 0)
	}
	return n, age, nil
}

// PurgeOutbox deletes events relayed before t.
func (db *DB) PurgeOutbox(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT admem_outbox_purge($1)`, before).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: purge outbox: %w", translate(err))
	}
	return n, nil
}

// PurgeProcessedEvents deletes processed-event records older than before.
func (db *DB) PurgeProcessedEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT admem_processed_events_purge($1)`, before).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: purge processed events: %w", translate(err))
	}
	return n, nil
}

// PendingEvents returns the tenant's events not yet relayed, oldest first.
func (db *DB) PendingEvents(ctx context.Context, tenantID string) ([]admem.Event, error) {
	var out []admem.Event
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM outbox
			WHERE tenant_id = $1 AND relayed_at IS NULL ORDER BY id`, tenantID)
		if err != nil {
			return translate(err)
		}
		out, err = pgx.CollectRows(rows, scanEvent)
		return translate(err)
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending events: %w", err)
	}
	return out, nil
}

// AddDeadLetter records an event that kept failing. Recording it twice
// (a retry after a crash) keeps the first record.
func (db *DB) AddDeadLetter(ctx context.Context, d admem.DeadLetter) error {
	err := db.inTenant(ctx, d.Event.TenantID, func(tx pgx.Tx) error {
		payload := d.Event.Payload
		if payload == nil {
			payload = map[string]any{}
		}
		var subject *string
		if d.Event.SubjectID != "" {
			subject = &d.Event.SubjectID
		}
		_, err := tx.Exec(ctx, `INSERT INTO dead_letters (tenant_id, event_id, type, subject_id, payload, stream_id, attempts, last_error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, event_id) DO NOTHING`,
			d.Event.TenantID, d.Event.ID, d.Event.Type, subject, payload, d.StreamID, d.Attempts, d.LastError)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("store: add dead letter %s: %w", d.Event.ID, err)
	}
	return nil
}

// ListDeadLetters pages through the tenant's dead letters, newest first.
func (db *DB) ListDeadLetters(ctx context.Context, tenantID string, page admem.Page) ([]admem.DeadLetter, string, error) {
	page = page.Normalize()
	var out []admem.DeadLetter
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := decodeIDCursor(page.Cursor)
		if err != nil {
			return err
		}
		out, err = queryAll(ctx, tx, func(r pgx.Row) (admem.DeadLetter, error) {
			var d admem.DeadLetter
			err := r.Scan(&d.ID, &d.Event.TenantID, &d.Event.ID, &d.Event.Type, &d.Event.SubjectID, &d.Event.Payload, &d.StreamID,
				&d.Attempts, &d.LastError, &d.CreatedAt)
			return d, translate(err)
		}, `SELECT id, tenant_id, event_id, type, coalesce(subject_id::text, ''), payload, stream_id, attempts,
				last_error, created_at
			FROM dead_letters WHERE tenant_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, tenantID, before, page.Limit+1)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list dead letters: %w", err)
	}
	out, next := trimPage(out, page.Limit, func(d admem.DeadLetter) string { return encodeIDCursor(d.ID) })
	return out, next, nil
}

// TenantIDs returns the id of every tenant (platform visibility), for
// background work that visits each tenant's rows.
func (db *DB) TenantIDs(ctx context.Context) ([]string, error) {
	var out []string
	err := db.inPlatform(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text FROM tenants ORDER BY id`)
		if err != nil {
			return translate(err)
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return translate(err)
	})
	if err != nil {
		return nil, fmt.Errorf("store: tenant ids: %w", err)
	}
	return out, nil
}

// UnsettledRelayed returns up to limit of the tenant's events that were
// relayed to the stream and that some consumer has not settled, after the
// outbox sequence number afterSeq, in order: what a stream that lost its
// data no longer holds.
func (db *DB) UnsettledRelayed(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]admem.Event, error) {
	var out []admem.Event
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		// The first condition is the outbox_unsettled index's predicate.
		rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM outbox
			WHERE tenant_id = $1 AND (relayed_at IS NULL OR pending_consumers <> '{}')
				AND relayed_at IS NOT NULL AND id > $2
			ORDER BY id LIMIT $3`, tenantID, afterSeq, limit)
		if err != nil {
			return translate(err)
		}
		out, err = pgx.CollectRows(rows, scanEvent)
		return translate(err)
	})
	if err != nil {
		return nil, fmt.Errorf("store: unsettled relayed events: %w", err)
	}
	return out, nil
}

// eventColumns are the outbox columns scanEvent reads, in its order.
const eventColumns = `id, event_id, tenant_id, type, subject_id, payload, created_at`

func scanEvent(r pgx.CollectableRow) (admem.Event, error) {
	var e admem.Event
	err := r.Scan(&e.Seq, &e.ID, &e.TenantID, &e.Type, &e.SubjectID, &e.Payload, &e.CreatedAt)
	return e, err
}
