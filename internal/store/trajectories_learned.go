package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// LearnedItem is the learner's state of one mistake note or procedure: the
// structured state (JSON the learning code owns), its rendered text, and the
// counters recall feedback updates.
type LearnedItem struct {
	ID         string
	Kind       admem.EntryKind // KindMistake or KindProcedure
	Key        string          // signature id or procedure id
	State      []byte
	Content    string
	SearchText string
	Count      int
	Version    int
	Status     admem.EntryStatus
	Uses       int
	Successes  int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Merge computes an item's new state from its current one (nil when there is
// none). Returning changed=false leaves the item as it was.
type Merge func(old *LearnedItem) (next LearnedItem, changed bool, err error)

// LearnTx is one tenant transaction of the learner: everything it writes
// commits together with the processed-event record (or the appended steps).
type LearnTx struct {
	ctx      context.Context
	tx       pgx.Tx
	tenantID string
}

// TenantID is the tenant the transaction acts for.
func (lt *LearnTx) TenantID() string { return lt.tenantID }

// ErrAlreadyProcessed is returned by Learn when the event's effect already committed.
var ErrAlreadyProcessed = errors.New("store: event already processed")

// Learn runs fn in one tenant transaction that also records (consumer,
// eventID) as processed. If that record exists, fn does not run and Learn
// returns ErrAlreadyProcessed: processing an event twice changes nothing.
func (db *DB) Learn(ctx context.Context, tenantID, consumer, eventID string, fn func(*LearnTx) error) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO processed_events (tenant_id, consumer, event_id) VALUES ($1, $2, $3)
			ON CONFLICT (consumer, event_id) DO NOTHING`, tenantID, consumer, eventID)
		if err != nil {
			return translate(err)
		}
		if tag.RowsAffected() == 0 {
			return ErrAlreadyProcessed
		}
		return fn(&LearnTx{ctx: ctx, tx: tx, tenantID: tenantID})
	})
	if err != nil && !errors.Is(err, ErrAlreadyProcessed) {
		return fmt.Errorf("store: learn from event %s: %w", eventID, err)
	}
	return err
}

// LearnBatch is Learn of several events of one tenant in one transaction:
// fn gets the ones not processed before (fresh, by position in eventIDs).
// When none is fresh it returns ErrAlreadyProcessed without calling fn.
func (db *DB) LearnBatch(ctx context.Context, tenantID, consumer string, eventIDs []string, fn func(lt *LearnTx, fresh []bool) error) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO processed_events (tenant_id, consumer, event_id)
			SELECT $1, $2, e FROM unnest($3::uuid[]) e
			ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id::text`, tenantID, consumer, eventIDs)
		if err != nil {
			return translate(err)
		}
		isNew := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return translate(err)
			}
			isNew[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		if len(isNew) == 0 {
			return ErrAlreadyProcessed
		}
		fresh := make([]bool, len(eventIDs))
		for i, id := range eventIDs {
			// An id twice in the batch is learnt once.
			fresh[i] = isNew[id]
			delete(isNew, id)
		}
		return fn(&LearnTx{ctx: ctx, tx: tx, tenantID: tenantID}, fresh)
	})
	if err != nil && !errors.Is(err, ErrAlreadyProcessed) {
		return fmt.Errorf("store: learn from %d events: %w", len(eventIDs), err)
	}
	return err
}

// Processed reports whether consumer committed the effect of eventID.
func (db *DB) Processed(ctx context.Context, tenantID, consumer, eventID string) (bool, error) {
	var ok bool
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return translate(tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM processed_events
			WHERE tenant_id = $1 AND consumer = $2 AND event_id = $3)`, tenantID, consumer, eventID).Scan(&ok))
	})
	return ok, err
}

const itemColumns = `id, kind, key, state, content, search_text, count, version, status, uses, successes, created_at, updated_at`

func scanItem(row pgx.Row) (LearnedItem, error) {
	var it LearnedItem
	var kind, status string
	err := row.Scan(&it.ID, &kind, &it.Key, &it.State, &it.Content, &it.SearchText, &it.Count, &it.Version, &status,
		&it.Uses, &it.Successes, &it.CreatedAt, &it.UpdatedAt)
	it.Kind, it.Status = admem.EntryKind(kind), admem.EntryStatus(status)
	return it, translate(err)
}

// UpsertItem locks the item (kind, key), lets merge compute its next state
// and writes it as a new version. source names what caused the change.
func (lt *LearnTx) UpsertItem(kind admem.EntryKind, key, source string, merge Merge) (LearnedItem, error) {
	ctx, tx := lt.ctx, lt.tx
	// Serialise writers of a new key too (the row may not exist to lock).
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2 || '/' || $3, 0))`,
		lt.tenantID, string(kind), key); err != nil {
		return LearnedItem{}, translate(err)
	}
	var old *LearnedItem
	it, err := scanItem(tx.QueryRow(ctx, `SELECT `+itemColumns+` FROM learned_items WHERE tenant_id = $1 AND kind = $2 AND key = $3`,
		lt.tenantID, string(kind), key))
	switch {
	case err == nil:
		old = &it
	case !errors.Is(err, admem.ErrNotFound):
		return LearnedItem{}, err
	}
	next, changed, err := merge(old)
	if err != nil {
		return LearnedItem{}, err
	}
	if !changed {
		if old == nil {
			return LearnedItem{}, nil
		}
		return *old, nil
	}
	if old == nil {
		next, err = scanItem(tx.QueryRow(ctx, `INSERT INTO learned_items (tenant_id, kind, key, state, content, search_text, count)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+itemColumns,
			lt.tenantID, string(kind), key, next.State, next.Content, next.SearchText, next.Count))
	} else {
		next, err = scanItem(tx.QueryRow(ctx, `UPDATE learned_items SET state = $4, content = $5, search_text = $6, count = $7,
				version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND kind = $2 AND key = $3 RETURNING `+itemColumns,
			lt.tenantID, string(kind), key, next.State, next.Content, next.SearchText, next.Count))
	}
	if err != nil {
		return LearnedItem{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO learned_item_versions (tenant_id, item_id, version, state, content, source)
		VALUES ($1, $2, $3, $4, $5, $6)`, lt.tenantID, next.ID, next.Version, next.State, next.Content, source); err != nil {
		return LearnedItem{}, translate(err)
	}
	// The new version is published as a memory entry by the worker, from
	// an event committed with it.
	var ev eventRows
	ev.add(lt.tenantID, admem.EventLearnedChanged, next.ID, map[string]any{"kind": string(kind), "key": key, "version": next.Version})
	if err := ev.insert(ctx, tx); err != nil {
		return LearnedItem{}, err
	}
	return next, nil
}

// Items returns the tenant's items of kind (all statuses), newest first, at most limit.
func (lt *LearnTx) Items(kind admem.EntryKind, limit int) ([]LearnedItem, error) {
	return listItems(lt.ctx, lt.tx, lt.tenantID, kind, false, limit)
}

func listItems(ctx context.Context, tx pgx.Tx, tenantID string, kind admem.EntryKind, activeOnly bool, limit int) ([]LearnedItem, error) {
	rows, err := tx.Query(ctx, `SELECT `+itemColumns+` FROM learned_items
		WHERE tenant_id = $1 AND ($2 = '' OR kind = $2) AND (NOT $3 OR status = 'active')
		ORDER BY updated_at DESC, id LIMIT $4`, tenantID, string(kind), activeOnly, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []LearnedItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, translate(rows.Err())
}

// AddOccurrence records that the failed step (trajectoryID, stepIdx) counts
// towards signature. It reports false when it was already counted.
func (lt *LearnTx) AddOccurrence(signatureID, trajectoryID string, stepIdx int) (bool, error) {
	tag, err := lt.tx.Exec(lt.ctx, `INSERT INTO mistake_occurrences (tenant_id, signature_id, trajectory_id, step_idx)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, lt.tenantID, signatureID, trajectoryID, stepIdx)
	if err != nil {
		return false, translate(err)
	}
	return tag.RowsAffected() == 1, nil
}

// Trajectories returns trajectories with their steps, by id (unknown ids
// are left out).
func (lt *LearnTx) Trajectories(ids []string) (map[string]admem.Trajectory, error) {
	ctx, tx := lt.ctx, lt.tx
	rows, err := tx.Query(ctx, `SELECT `+trajColumns+` FROM trajectories WHERE tenant_id = $1 AND id = ANY ($2::uuid[])`, lt.tenantID, ids)
	if err != nil {
		return nil, translate(err)
	}
	out := map[string]admem.Trajectory{}
	for rows.Next() {
		s, err := scanSummary(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out[s.ID] = s.Trajectory
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	steps, err := stepsOf(ctx, tx, lt.tenantID, ids)
	if err != nil {
		return nil, err
	}
	for id, t := range out {
		t.Steps = steps[id]
		out[id] = t
	}
	return out, nil
}

// Trajectory returns one closed or open trajectory with its steps.
func (lt *LearnTx) Trajectory(id string) (admem.Trajectory, error) {
	return getTrajectory(lt.ctx, lt.tx, lt.tenantID, id)
}

// RecentTrajectories returns, with their steps, the newest limit of the
// tenant's closed trajectories with the outcome (excluding exclude) whose
// task keep accepts, looking at up to 8×limit of the newest. Steps are
// loaded only for those kept.
func (lt *LearnTx) RecentTrajectories(outcome admem.Outcome, limit int, exclude string, keep func(task string) bool) ([]admem.Trajectory, error) {
	ctx, tx := lt.ctx, lt.tx
	rows, err := tx.Query(ctx, `SELECT `+trajColumns+` FROM trajectories
		WHERE tenant_id = $1 AND NOT open AND outcome = $2 AND id <> $3::uuid
		ORDER BY created_at DESC, id DESC LIMIT $4`, lt.tenantID, string(outcome), exclude, 8*limit)
	if err != nil {
		return nil, translate(err)
	}
	var out []admem.Trajectory
	var ids []string
	for rows.Next() {
		s, err := scanSummary(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if len(out) == limit || (keep != nil && !keep(s.Task)) {
			continue
		}
		out = append(out, s.Trajectory)
		ids = append(ids, s.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	steps, err := stepsOf(ctx, tx, lt.tenantID, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Steps = steps[out[i].ID]
	}
	return out, nil
}

// Settings returns the tenant's learning settings (defaults when unset).
func (lt *LearnTx) Settings() (admem.LearningSettings, error) {
	return getSettings(lt.ctx, lt.tx, lt.tenantID)
}

// ActiveItems returns the tenant's active items of kind (any kind when
// empty), most recently updated first, at most limit.
func (db *DB) ActiveItems(ctx context.Context, tenantID string, kind admem.EntryKind, limit int) ([]LearnedItem, error) {
	var out []LearnedItem
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = listItems(ctx, tx, tenantID, kind, true, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: active items: %w", err)
	}
	return out, nil
}

// ItemsByID returns the tenant's items with these ids (unknown ids are skipped).
func (db *DB) ItemsByID(ctx context.Context, tenantID string, ids []string) ([]LearnedItem, error) {
	var out []LearnedItem
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+itemColumns+` FROM learned_items WHERE tenant_id = $1 AND id = ANY ($2::uuid[])`, tenantID, ids)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			it, err := scanItem(rows)
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("store: items by id: %w", err)
	}
	return out, nil
}

// ItemBySignature returns the mistake note of a signature.
func (db *DB) ItemByKey(ctx context.Context, tenantID string, kind admem.EntryKind, key string) (LearnedItem, error) {
	var out LearnedItem
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanItem(tx.QueryRow(ctx, `SELECT `+itemColumns+` FROM learned_items WHERE tenant_id = $1 AND kind = $2 AND key = $3`,
			tenantID, string(kind), key))
		return err
	})
	if err != nil {
		return LearnedItem{}, fmt.Errorf("store: learned %s %s: %w", kind, key, err)
	}
	return out, nil
}

// LearnedItem returns one of the tenant's items, whatever its status.
func (db *DB) LearnedItem(ctx context.Context, tenantID, id string) (LearnedItem, error) {
	var out LearnedItem
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanItem(tx.QueryRow(ctx, `SELECT `+itemColumns+` FROM learned_items WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		return err
	})
	if err != nil {
		return LearnedItem{}, fmt.Errorf("store: learned item %s: %w", id, err)
	}
	return out, nil
}

// LearnedItemVersion is one version of a learned item: its state and text
// then, and what made it (e.g. "trajectory:<id>", "reflect:<id>").
type LearnedItemVersion struct {
	ItemID    string
	Kind      admem.EntryKind
	Version   int
	State     []byte
	Content   string
	Source    string
	CreatedAt time.Time
}

// LearnedItemVersions pages through an item's versions, newest first. An
// item that does not exist is ErrNotFound.
func (db *DB) LearnedItemVersions(ctx context.Context, tenantID, id string, page admem.Page) ([]LearnedItemVersion, string, error) {
	page = page.Normalize()
	var out []LearnedItemVersion
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var kind string
		if err := tx.QueryRow(ctx, `SELECT kind FROM learned_items WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&kind); err != nil {
			return translate(err)
		}
		var before int64
		if page.Cursor != "" {
			var err error
			if before, err = decodeIDCursor(page.Cursor); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `SELECT item_id, version, state, content, source, created_at FROM learned_item_versions
			WHERE tenant_id = $1 AND item_id = $2 AND ($3 = 0 OR version < $3)
			ORDER BY version DESC LIMIT $4`, tenantID, id, before, page.Limit+1)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			v := LearnedItemVersion{Kind: admem.EntryKind(kind)}
			if err := rows.Scan(&v.ItemID, &v.Version, &v.State, &v.Content, &v.Source, &v.CreatedAt); err != nil {
				return translate(err)
			}
			out = append(out, v)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: versions of learned item %s: %w", id, err)
	}
	next := ""
	if len(out) > page.Limit {
		out = out[:page.Limit]
		next = encodeIDCursor(int64(out[len(out)-1].Version))
	}
	return out, next, nil
}
