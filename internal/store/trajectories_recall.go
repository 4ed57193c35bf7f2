package store

import (
	"context"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// RecallRecord is a stored recall: what it returned, and its feedback.
type RecallRecord struct {
	ID        string
	TenantID  string
	Task      string
	Items     []RecalledItem
	Tokens    int
	Budget    int
	CreatedAt time.Time
}

// RecalledItem names one item a recall returned.
type RecalledItem struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Source string `json:"source"` // "learned" or "entry"
}

// LearnedStamp changes whenever the tenant's active learned items change:
// their count, their rated uses and their newest update. Caches of the
// items compare it.
func (db *DB) LearnedStamp(ctx context.Context, tenantID string) (string, error) {
	var n, uses int64
	var last *time.Time
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return translate(tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(uses), 0), max(updated_at) FROM learned_items
			WHERE tenant_id = $1 AND status = 'active'`, tenantID).Scan(&n, &uses, &last))
	})
	if err != nil {
		return "", fmt.Errorf("store: learned stamp: %w", err)
	}
	stamp := fmt.Sprintf("%d/%d", n, uses)
	if last != nil {
		stamp += "@" + last.UTC().Format(time.RFC3339Nano)
	}
	return stamp, nil
}

// SaveRecall stores a recall and returns its id.
func (db *DB) SaveRecall(ctx context.Context, r RecallRecord) (string, error) {
	items := r.Items
	if items == nil {
		items = []RecalledItem{}
	}
	var id string
	err := db.inTenant(ctx, r.TenantID, func(tx pgx.Tx) error {
		return translate(tx.QueryRow(ctx, `INSERT INTO recalls (tenant_id, task, items, tokens, budget) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			r.TenantID, r.Task, items, r.Tokens, r.Budget).Scan(&id))
	})
	if err != nil {
		return "", fmt.Errorf("store: save recall: %w", err)
	}
	return id, nil
}

// Rate is how feedback changes one learned item's counters.
type Rate func(it LearnedItem) (uses, successes int, status admem.EntryStatus)

// RecallFeedback records feedback on a recall once (a second time is a
// conflict) and, in the same transaction, re-rates the learned items it
// returned with rate. It returns the recall and the items after rating.
func (db *DB) RecallFeedback(ctx context.Context, tenantID, id string, outcome admem.Outcome, helpful, harmful []string, rate Rate) (RecallRecord, []LearnedItem, error) {
	var rec RecallRecord
	var out []LearnedItem
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var given *time.Time
		if err := tx.QueryRow(ctx, `SELECT id, tenant_id, task, items, tokens, budget, created_at, feedback_at FROM recalls
			WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id).Scan(&rec.ID, &rec.TenantID, &rec.Task, &rec.Items, &rec.Tokens,
			&rec.Budget, &rec.CreatedAt, &given); err != nil {
			return translate(err)
		}
		if given != nil {
			return &admem.Error{Code: admem.ECONFLICT, Message: "this recall already has feedback"}
		}
		if helpful == nil {
			helpful = []string{}
		}
		if harmful == nil {
			harmful = []string{}
		}
		if _, err := tx.Exec(ctx, `UPDATE recalls SET feedback_at = now(), outcome = $3, helpful = $4, harmful = $5
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, string(outcome), helpful, harmful); err != nil {
			return translate(err)
		}
		var ids []string
		for _, it := range rec.Items {
			if it.Source == "learned" {
				ids = append(ids, it.ID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT `+itemColumns+` FROM learned_items WHERE tenant_id = $1 AND id = ANY ($2::uuid[])
			ORDER BY id FOR UPDATE`, tenantID, ids)
		if err != nil {
			return translate(err)
		}
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LearnedItem, error) { return scanItem(r) })
		if err != nil {
			return translate(err)
		}
		for _, it := range items {
			uses, successes, status := rate(it)
			if err := translate(tx.QueryRow(ctx, `UPDATE learned_items SET uses = $3, successes = $4, status = $5
				WHERE tenant_id = $1 AND id = $2 RETURNING uses, successes, status`, tenantID, it.ID, uses, successes, string(status)).
				Scan(&it.Uses, &it.Successes, &it.Status)); err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return RecallRecord{}, nil, fmt.Errorf("store: recall feedback %s: %w", id, err)
	}
	return rec, out, nil
}
