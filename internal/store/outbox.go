package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// publish returns each event's stream entry id (or nil when it has none),
// kept with the event for the stream recovery's checks.
func (db *DB) RelayOutbox(ctx context.Context, limit int, await []string, publish func([]admem.Event) ([]string, error)) (int, error) {
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
		streamIDs, err := publish(evs)
		if err != nil {
			return err
		}
		if streamIDs != nil && len(streamIDs) != len(evs) {
			return fmt.Errorf("store: %d stream ids for %d events", len(streamIDs), len(evs))
		}
		ids := make([]int64, len(evs))
		for i, e := range evs {
			ids[i] = e.Seq
		}
		if await == nil {
			await = []string{}
		}
		if _, err := tx.Exec(ctx, `SELECT admem_outbox_mark_relayed($1, $2, $3)`, ids, await, streamIDs); err != nil {
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

// UnsettledSince returns up to limit of every tenant's relayed events that
// some consumer has not settled, relayed at least age ago (by the
// database's clock), after the outbox sequence number afterSeq, in order.
func (db *DB) UnsettledSince(ctx context.Context, age time.Duration, afterSeq int64, limit int) ([]admem.UnsettledEvent, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+eventColumns+`, coalesce(stream_id, ''), pending_consumers
		FROM admem_outbox_unsettled($1, $2, $3)`, age.Milliseconds(), afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unsettled events: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (admem.UnsettledEvent, error) {
		var u admem.UnsettledEvent
		e := &u.Event
		err := r.Scan(&e.Seq, &e.ID, &e.TenantID, &e.Type, &e.SubjectID, &e.Payload, &e.CreatedAt, &u.StreamID, &u.Pending)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: unsettled events: %w", translate(err))
	}
	return out, nil
}

// StillUnsettled returns which of the events (outbox sequence numbers)
// some consumer has not settled yet.
func (db *DB) StillUnsettled(ctx context.Context, seqs []int64) (map[int64]bool, error) {
	rows, err := db.pool.Query(ctx, `SELECT admem_outbox_still_unsettled($1)`, seqs)
	if err != nil {
		return nil, fmt.Errorf("store: still unsettled: %w", translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("store: still unsettled: %w", translate(err))
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Restreamed records the stream entries events were appended again as.
func (db *DB) Restreamed(ctx context.Context, seqs []int64, streamIDs []string) error {
	if _, err := db.pool.Exec(ctx, `SELECT admem_outbox_restreamed($1, $2)`, seqs, streamIDs); err != nil {
		return fmt.Errorf("store: restreamed events: %w", translate(err))
	}
	return nil
}

// UnknownEvents returns which of the tenant's event ids the outbox does not
// hold: events of a past the database no longer has (it was restored from
// a backup taken before they were written), or purged long after they
// were relayed. A deleted tenant has none of them.
func (db *DB) UnknownEvents(ctx context.Context, tenantID string, eventIDs []string) ([]string, error) {
	if !isUUID(tenantID) {
		return eventIDs, nil
	}
	var valid, canonical, unknown []string
	for _, id := range eventIDs {
		if !isUUID(id) {
			unknown = append(unknown, id)
			continue
		}
		valid, canonical = append(valid, id), append(canonical, strings.ToLower(id))
	}
	if len(valid) == 0 {
		return unknown, nil
	}
	known := map[string]bool{}
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT event_id::text FROM outbox WHERE tenant_id = $1 AND event_id = ANY ($2::uuid[])`, tenantID, canonical)
		if err != nil {
			return translate(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, id := range ids {
			known[id] = true
		}
		return translate(err)
	})
	if errors.Is(err, admem.ErrNotFound) || errors.Is(err, admem.ErrForbidden) {
		return eventIDs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: unknown events: %w", err)
	}
	for i, id := range valid {
		if !known[canonical[i]] {
			unknown = append(unknown, id)
		}
	}
	return unknown, nil
}

// eventColumns are the outbox columns scanEvent reads, in its order.
const eventColumns = `id, event_id, tenant_id, type, subject_id, payload, created_at`

func scanEvent(r pgx.CollectableRow) (admem.Event, error) {
	var e admem.Event
	err := r.Scan(&e.Seq, &e.ID, &e.TenantID, &e.Type, &e.SubjectID, &e.Payload, &e.CreatedAt)
	return e, err
}

// isUUID reports whether s is a UUID in its canonical text form (which is
// how events carry their ids).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
