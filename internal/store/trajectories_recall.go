package store

import (
	"context"
	"errors"
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

// LearnedVersion is where a tenant's learned items stand (migration
// 000012): Version grows with every change of an item other than its
// counters (uses, successes), and a copy of the items older than Reset must
// be read afresh (items were deleted, which cannot be read back).
type LearnedVersion struct {
	Version int64
	Reset   int64
}

// LearnedVersion returns the tenant's learned-items version: one row read,
// whatever the number of items, in one round trip.
func (db *DB) LearnedVersion(ctx context.Context, tenantID string) (LearnedVersion, error) {
	var v LearnedVersion
	b := &pgx.Batch{}
	b.Queue(learnedVersionSQL, tenantID)
	err := db.inTenantOneTrip(ctx, tenantID, b, func(br pgx.BatchResults) error {
		var err error
		v, err = scanLearnedVersion(br.QueryRow())
		return err
	})
	if err != nil {
		return LearnedVersion{}, fmt.Errorf("store: learned version: %w", err)
	}
	return v, nil
}

const learnedVersionSQL = `SELECT version, reset_version FROM learned_versions WHERE tenant_id = $1`

func learnedVersion(ctx context.Context, tx pgx.Tx, tenantID string) (LearnedVersion, error) {
	return scanLearnedVersion(tx.QueryRow(ctx, learnedVersionSQL, tenantID))
}

func scanLearnedVersion(row pgx.Row) (LearnedVersion, error) {
	var v LearnedVersion
	err := row.Scan(&v.Version, &v.Reset)
	if errors.Is(err, pgx.ErrNoRows) {
		return LearnedVersion{}, nil // no item was ever written
	}
	return v, translate(err)
}

// LearnedChanges is what changed in a tenant's learned items since a
// version a reader holds.
type LearnedChanges struct {
	// Version is the version the reader holds after applying Items: every
	// change numbered up to it is among them (later ones may be too).
	Version LearnedVersion
	// Full: Items are all the active items (up to the limit) and replace
	// the reader's copy; otherwise they are the items changed since, in any
	// status, to add, replace or (not active) remove.
	Full  bool
	Items []LearnedItem
}

// LearnedChanges returns the tenant's learned items changed after version
// since, or all its active items (at most limit, newest first) when since
// is 0 or too old or new to catch up from.
func (db *DB) LearnedChanges(ctx context.Context, tenantID string, since int64, limit int) (LearnedChanges, error) {
	var c LearnedChanges
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		// Read before the items: versions are handed out at commit in
		// commit order, so the items read next include every change up to it.
		if c.Version, err = learnedVersion(ctx, tx, tenantID); err != nil {
			return err
		}
		c.Full = since <= 0 || since < c.Version.Reset || since > c.Version.Version
		if c.Full {
			c.Items, err = listItems(ctx, tx, tenantID, "", true, limit)
			return err
		}
		c.Items, err = queryAll(ctx, tx, scanItem,
			`SELECT `+itemColumns+` FROM learned_items WHERE tenant_id = $1 AND change_seq > $2 ORDER BY change_seq`, tenantID, since)
		return err
	})
	if err != nil {
		return LearnedChanges{}, fmt.Errorf("store: learned changes since %d: %w", since, err)
	}
	return c, nil
}

// LearnedCount is a learned item's usage counters and status as they are now.
type LearnedCount struct {
	Uses      int
	Successes int
	Status    admem.EntryStatus
}

// LearnedCounters returns the counters of the tenant's learned items with
// these ids (unknown ids are left out): recall reads them fresh for its
// hits, since feedback changes them without changing the items' version.
func (db *DB) LearnedCounters(ctx context.Context, tenantID string, ids []string) (map[string]LearnedCount, error) {
	out := make(map[string]LearnedCount, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT id::text, uses, successes, status FROM learned_items WHERE tenant_id = $1 AND id = ANY ($2::uuid[])`, tenantID, ids)
	err := db.inTenantOneTrip(ctx, tenantID, b, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, status string
			var c LearnedCount
			if err := rows.Scan(&id, &c.Uses, &c.Successes, &status); err != nil {
				return translate(err)
			}
			c.Status = admem.EntryStatus(status)
			out[id] = c
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("store: learned counters: %w", err)
	}
	return out, nil
}

// SaveRecall stores a recall and returns its id.
func (db *DB) SaveRecall(ctx context.Context, r RecallRecord) (string, error) {
	items := r.Items
	if items == nil {
		items = []RecalledItem{}
	}
	var id string
	// One round trip: the insert commits with the pipeline's implicit
	// transaction.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO recalls (tenant_id, task, items, tokens, budget) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		r.TenantID, r.Task, items, r.Tokens, r.Budget)
	err := db.inTenantOneTrip(ctx, r.TenantID, b, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("store: save recall: %w", err)
	}
	return id, nil
}

// Rated is a recalled item's counters as feedback reads and rewrites them,
// with what retiring it must weigh: the sources of its earlier unsuccessful
// ratings (not purged) and the tenant's quorum of independent sources.
type Rated struct {
	ID        string
	Uses      int
	Successes int
	Status    admem.EntryStatus
	Against   []admem.Provenance
	// AdminAgainst: an admin key rated it unsuccessfully (and that still counts).
	AdminAgainst bool
	Quorum       int
}

// Rater is who gives feedback: the key (from the credentials), the agent
// and session the request named, and whether the key is a tenant admin's.
type Rater struct {
	admem.Provenance
	Admin bool
}

// Rate is how feedback changes one recalled item's counters; the same rule
// rates mistake notes, procedures and factual entries.
type Rate func(Rated) Rated

// FeedbackResult is what feedback on a recall changed.
type FeedbackResult struct {
	Recall  RecallRecord
	Learned []LearnedItem // mistake notes and procedures after rating
	Entries []admem.Entry // factual entries after rating
}

// RecallFeedback records feedback on a recall once (a second time is a
// conflict) and, in the same transaction, re-rates with rate the learned
// items and the factual entries it returned. Counters change in place; an
// entry that rate retires gets a new version (status retired, provenance
// the feedback request) and leaves the BM25 statistics, so it is kept in
// its history but no longer found. Deleted entries are not rated.
func (db *DB) RecallFeedback(ctx context.Context, tenantID string, by Rater, id string, outcome admem.Outcome, helpful, harmful []string, rate Rate) (FeedbackResult, error) {
	var res FeedbackResult
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rec := &res.Recall
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
		if _, err := tx.Exec(ctx, `UPDATE recalls SET feedback_at = now(), outcome = $3, helpful = $4, harmful = $5,
				feedback_key_id = $6, feedback_agent_id = $7, feedback_session_id = $8
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, string(outcome), helpful, harmful,
			nullableUUID(by.ActorKeyID), nullableText(by.AgentID), nullableText(by.SessionID)); err != nil {
			return translate(err)
		}
		quorum := 2
		if err := tx.QueryRow(ctx, `SELECT retire_quorum FROM learning_settings WHERE tenant_id = $1`, tenantID).Scan(&quorum); err != nil &&
			!errors.Is(err, pgx.ErrNoRows) {
			return translate(err)
		}
		fr := &ratings{tx: tx, tenantID: tenantID, recallID: id, by: by, quorum: quorum}
		var learned, entries []string
		for _, it := range rec.Items {
			switch it.Source {
			case "learned":
				learned = append(learned, it.ID)
			case "entry":
				entries = append(entries, it.ID)
			}
		}
		var err error
		if res.Learned, err = rateLearned(ctx, fr, learned, rate); err != nil {
			return err
		}
		res.Entries, err = rateEntries(ctx, fr, entries, rate)
		return err
	})
	if err != nil {
		return FeedbackResult{}, fmt.Errorf("store: recall feedback %s: %w", id, err)
	}
	return res, nil
}

// ratings reads and records, within one feedback's transaction, the
// per-item ratings that make retirement weigh its sources.
type ratings struct {
	tx       pgx.Tx
	tenantID string
	recallID string
	by       Rater
	quorum   int
}

// against returns the sources of an item's earlier unsuccessful ratings
// that still count (not purged).
func (r *ratings) against(ctx context.Context, itemID string) ([]admem.Provenance, bool, error) {
	rows, err := r.tx.Query(ctx, `SELECT coalesce(f.key_id::text, ''), `+keyAgent("f.agent_id")+`, coalesce(f.session_id, ''), f.admin
		FROM feedback_ratings f LEFT JOIN api_keys k ON k.tenant_id = f.tenant_id AND k.id = f.key_id
		WHERE f.tenant_id = $1 AND f.item_id = $2 AND NOT f.success AND f.purge_id IS NULL`, r.tenantID, itemID)
	if err != nil {
		return nil, false, translate(err)
	}
	defer rows.Close()
	var out []admem.Provenance
	admin := false
	for rows.Next() {
		var p admem.Provenance
		var a bool
		if err := rows.Scan(&p.ActorKeyID, &p.AgentID, &p.SessionID, &a); err != nil {
			return nil, false, translate(err)
		}
		out, admin = append(out, p), admin || a
	}
	return out, admin, translate(rows.Err())
}

// rate applies rate to one item's counters and records the rating.
func (r *ratings) rate(ctx context.Context, cur Rated, source string, rate Rate) (Rated, error) {
	var err error
	if cur.Against, cur.AdminAgainst, err = r.against(ctx, cur.ID); err != nil {
		return Rated{}, err
	}
	cur.Quorum = r.quorum
	next := rate(cur)
	if _, err := r.tx.Exec(ctx, `INSERT INTO feedback_ratings (tenant_id, recall_id, item_id, source, success, admin, key_id, agent_id, session_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`, r.tenantID, r.recallID, cur.ID, source,
		next.Successes > cur.Successes, r.by.Admin, nullableUUID(r.by.ActorKeyID), nullableText(r.by.AgentID),
		nullableText(r.by.SessionID)); err != nil {
		return Rated{}, translate(err)
	}
	return next, nil
}

func rateLearned(ctx context.Context, fr *ratings, ids []string, rate Rate) ([]LearnedItem, error) {
	tx, tenantID := fr.tx, fr.tenantID
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT `+itemColumns+` FROM learned_items WHERE tenant_id = $1 AND id = ANY ($2::uuid[])
		ORDER BY id FOR UPDATE`, tenantID, ids)
	if err != nil {
		return nil, translate(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LearnedItem, error) { return scanItem(r) })
	if err != nil {
		return nil, translate(err)
	}
	out := make([]LearnedItem, 0, len(items))
	for _, it := range items {
		next, err := fr.rate(ctx, Rated{ID: it.ID, Uses: it.Uses, Successes: it.Successes, Status: it.Status}, "learned", rate)
		if err != nil {
			return nil, err
		}
		if err := translate(tx.QueryRow(ctx, `UPDATE learned_items SET uses = $3, successes = $4, status = $5
			WHERE tenant_id = $1 AND id = $2 RETURNING uses, successes, status`, tenantID, it.ID, next.Uses, next.Successes, string(next.Status)).
			Scan(&it.Uses, &it.Successes, &it.Status)); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func rateEntries(ctx context.Context, fr *ratings, ids []string, rate Rate) ([]admem.Entry, error) {
	tx, tenantID, actorKeyID, recallID := fr.tx, fr.tenantID, fr.by.ActorKeyID, fr.recallID
	if len(ids) == 0 {
		return nil, nil
	}
	type locked struct {
		e      admem.Entry
		lex    string
		docLen int
	}
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+`, e.lex::text, e.doc_len FROM entries e
		WHERE e.tenant_id = $1 AND e.id = ANY ($2::uuid[]) AND e.status <> 'deleted' ORDER BY e.id FOR UPDATE`, tenantID, ids)
	if err != nil {
		return nil, translate(err)
	}
	var cur []locked
	for rows.Next() {
		var l locked
		if l.e, err = scanEntry(rows, &l.lex, &l.docLen); err != nil {
			rows.Close()
			return nil, err
		}
		cur = append(cur, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	var delta statsDelta
	out := make([]admem.Entry, 0, len(cur))
	for _, l := range cur {
		next, err := fr.rate(ctx, Rated{ID: l.e.ID, Uses: l.e.Uses, Successes: l.e.Successes, Status: l.e.Status}, "entry", rate)
		if err != nil {
			return nil, err
		}
		if next.Status != admem.EntryRetired || l.e.Status == admem.EntryRetired {
			e, err := scanEntry(tx.QueryRow(ctx, `UPDATE entries e SET uses = $3, successes = $4
				WHERE e.tenant_id = $1 AND e.id = $2 RETURNING `+entryColumns, tenantID, l.e.ID, next.Uses, next.Successes))
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			continue
		}
		e, err := scanEntry(tx.QueryRow(ctx, `UPDATE entries e SET uses = $3, successes = $4, status = 'retired',
				version = e.version + 1, updated_at = now()
			WHERE e.tenant_id = $1 AND e.id = $2 RETURNING `+entryColumns, tenantID, l.e.ID, next.Uses, next.Successes))
		if err != nil {
			return nil, err
		}
		reason := fmt.Sprintf("retired by recall feedback: %d successes in %d uses", next.Successes, next.Uses)
		if _, err := tx.Exec(ctx, `
			INSERT INTO entry_versions (tenant_id, entry_id, version, operation, key, content, metadata, tags, expires_at, status,
				actor_key_id, source, source_id, reason, created_at)
			VALUES ($1, $2, $3, 'UPDATE', $4, $5, $6, $7, $8, $9, $10, 'request', $11, $12, $13)`,
			tenantID, e.ID, e.Version, e.Key, e.Content, e.Metadata, e.Tags, e.ExpiresAt, string(e.Status),
			nullableUUID(actorKeyID), "recall:"+recallID, reason, e.UpdatedAt); err != nil {
			return nil, translate(err)
		}
		if l.e.Status == admem.EntryActive {
			delta.add(lexemesOf(l.lex), l.docLen, -1)
		}
		out = append(out, e)
	}
	return out, delta.apply(ctx, tx, tenantID)
}
