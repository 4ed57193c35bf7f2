package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/mistake"
	"github.com/jackc/pgx/v5"
)

// sourceMatch is the SQL condition "sent by the source" over a key column
// and an agent column: $2 is the key id and $3 the agent, each empty for any.
func sourceMatch(keyCol, agentCol string) string {
	return fmt.Sprintf(`($2 = '' OR %s = nullif($2, '')::uuid) AND ($3 = '' OR %s = $3)`, keyCol, agentCol)
}

// SourceReport lists what one source (a key, an agent, or both) taught the
// tenant: its newest trajectories and feedback (at most limit of each), the
// learned items whose evidence it is part of, and the purges of it.
func (db *DB) SourceReport(ctx context.Context, tenantID string, src admem.Source, limit int) (admem.SourceReport, error) {
	out := admem.SourceReport{Source: src}
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if err := tenantKey(ctx, tx, tenantID, src.KeyID); err != nil {
			return err
		}
		var err error
		out.Trajectories, err = queryAll(ctx, tx, scanSummary, `SELECT `+trajColumns+` FROM trajectories
			WHERE tenant_id = $1 AND `+sourceMatch("key_id", "agent_id")+`
			ORDER BY created_at DESC, id DESC LIMIT $4`, tenantID, src.KeyID, src.AgentID, limit)
		if err != nil {
			return err
		}
		out.Feedback, err = queryAll(ctx, tx, func(r pgx.Row) (admem.SourceFeedback, error) {
			var f admem.SourceFeedback
			var outcome string
			err := r.Scan(&f.RecallID, &outcome, &f.Provenance.ActorKeyID, &f.Provenance.AgentID, &f.Provenance.SessionID, &f.GivenAt, &f.Purged)
			f.Outcome = admem.Outcome(outcome)
			return f, translate(err)
		}, `SELECT r.id, r.outcome, coalesce(r.feedback_key_id::text, ''), coalesce(r.feedback_agent_id, ''),
				coalesce(r.feedback_session_id, ''), r.feedback_at,
				EXISTS (SELECT 1 FROM feedback_ratings f WHERE f.tenant_id = r.tenant_id AND f.recall_id = r.id AND f.purge_id IS NOT NULL)
			FROM recalls r
			WHERE r.tenant_id = $1 AND r.feedback_at IS NOT NULL AND `+sourceMatch("r.feedback_key_id", "r.feedback_agent_id")+`
			ORDER BY r.feedback_at DESC, r.id LIMIT $4`, tenantID, src.KeyID, src.AgentID, limit)
		if err != nil {
			return err
		}
		// Learned items: mistakes that counted the source's failed steps,
		// procedures distilled from (or marked by) its trajectories (each
		// version names the trajectory that made it; the procedure itself
		// keeps only its latest sources), and items it rated.
		out.Learned, err = queryAll(ctx, tx, func(r pgx.Row) (admem.LearnedRef, error) {
			var l admem.LearnedRef
			var kind, status string
			err := r.Scan(&l.ID, &kind, &l.Key, &l.Version, &status, &l.Evidence)
			l.Kind, l.Status = admem.EntryKind(kind), admem.EntryStatus(status)
			return l, translate(err)
		}, `WITH src AS (
				SELECT id::text AS id FROM trajectories WHERE tenant_id = $1 AND `+sourceMatch("key_id", "agent_id")+`
			), ev AS (
				SELECT li.id, count(*) AS n FROM mistake_occurrences o
				JOIN trajectories t ON t.tenant_id = o.tenant_id AND t.id = o.trajectory_id
				JOIN learned_items li ON li.tenant_id = o.tenant_id AND li.kind = 'mistake' AND li.key = o.signature_id
				WHERE o.tenant_id = $1 AND `+sourceMatch("coalesce(o.key_id, t.key_id)", "t.agent_id")+`
				GROUP BY li.id
				UNION ALL
				SELECT v.item_id, count(DISTINCT split_part(v.source, ':', 2)) FROM learned_item_versions v
				JOIN learned_items li ON li.tenant_id = v.tenant_id AND li.id = v.item_id AND li.kind = 'procedure'
				WHERE v.tenant_id = $1 AND split_part(v.source, ':', 1) IN ('trajectory', 'reflect')
					AND split_part(v.source, ':', 2) IN (SELECT id FROM src)
				GROUP BY v.item_id
				UNION ALL
				SELECT f.item_id, count(*) FROM feedback_ratings f
				WHERE f.tenant_id = $1 AND f.source = 'learned' AND f.purge_id IS NULL AND `+sourceMatch("f.key_id", "f.agent_id")+`
				GROUP BY f.item_id
			)
			SELECT li.id, li.kind, li.key, li.version, li.status, sum(ev.n)::int FROM ev
			JOIN learned_items li ON li.tenant_id = $1 AND li.id = ev.id
			GROUP BY li.id, li.kind, li.key, li.version, li.status
			ORDER BY li.kind, li.key LIMIT $4`, tenantID, src.KeyID, src.AgentID, limit)
		if err != nil {
			return err
		}
		out.Purges, err = queryAll(ctx, tx, scanPurge, `SELECT `+purgeColumns+` FROM provenance_purges
			WHERE tenant_id = $1 AND coalesce(key_id::text, '') = $2 AND coalesce(agent_id, '') = $3
			ORDER BY created_at DESC LIMIT $4`, tenantID, src.KeyID, src.AgentID, limit)
		return err
	})
	if err != nil {
		return admem.SourceReport{}, fmt.Errorf("store: source report: %w", err)
	}
	return out, nil
}

const purgeColumns = `id, coalesce(key_id::text, ''), coalesce(agent_id, ''), coalesce(actor_key_id::text, ''),
	trajectories, feedback, items, created_at`

func scanPurge(r pgx.Row) (admem.Purge, error) {
	var p admem.Purge
	err := r.Scan(&p.ID, &p.Source.KeyID, &p.Source.AgentID, &p.ActorKeyID, &p.Trajectories, &p.Feedback, &p.Items, &p.CreatedAt)
	return p, translate(err)
}

// Relearnt is the tenant's procedural memory recomputed from the
// trajectories that still count: the mistake model (tools' histories and
// mistakes), the procedures by key, and the failed steps the mistakes
// counted.
type Relearnt struct {
	Book        *mistake.Book
	Procedures  map[string]LearnedItem
	Occurrences []Occurrence
}

// Occurrence is one failed step a mistake counted, with its provenance.
type Occurrence struct {
	SignatureID  string
	TrajectoryID string
	Step         int
	Provenance   admem.Provenance
}

// Relearn recomputes procedural memory from trajectories (oldest first).
type Relearn func(settings admem.LearningSettings, ts []admem.Trajectory) (Relearnt, error)

// Reassess says whether an item with these counters, after a purge took
// some of its ratings back, stays retired.
type Reassess func(r Rated) bool

// PurgeSource takes back, in one transaction, what one source taught: its
// trajectories are marked purged (they stay, append-only, but teach
// nothing), its ratings are taken out of the items' counters (an item
// they alone retired becomes active again), the adapter's training
// examples from its trajectories are dropped, and the tenant's mistakes
// and procedures are recomputed by relearn from the trajectories that
// still count: every item that changes gets a new version (source
// "purge:<id>"), one that no longer has evidence is retired with a new
// version. History is never deleted. The purge is audited.
func (db *DB) PurgeSource(ctx context.Context, tenantID string, src admem.Source, audit admem.AuditEvent, relearn Relearn, stillRetired Reassess) (admem.Purge, error) {
	var out admem.Purge
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if err := tenantKey(ctx, tx, tenantID, src.KeyID); err != nil {
			return err
		}
		// One purge or relearn per tenant at a time, and no learner writing
		// a tool's mistakes meanwhile: every tool the tenant has is locked
		// in the order the learners use.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || '/purge', 0))`, tenantID); err != nil {
			return translate(err)
		}
		var tools []string
		rows, err := tx.Query(ctx, `SELECT DISTINCT action FROM trajectory_steps WHERE tenant_id = $1
			UNION SELECT tool FROM tool_histories WHERE tenant_id = $1`, tenantID)
		if err != nil {
			return translate(err)
		}
		tools, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return translate(err)
		}
		slices.Sort(tools)
		for _, t := range tools {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || '/tool/' || $2, 0))`, tenantID, t); err != nil {
				return translate(err)
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO provenance_purges (tenant_id, key_id, agent_id, actor_key_id)
			VALUES ($1, nullif($2, '')::uuid, nullif($3, ''), $4) RETURNING `+purgeColumns,
			tenantID, src.KeyID, src.AgentID, nullableUUID(audit.ActorKeyID)).Scan(&out.ID, &out.Source.KeyID, &out.Source.AgentID,
			&out.ActorKeyID, &out.Trajectories, &out.Feedback, &out.Items, &out.CreatedAt); err != nil {
			return translate(err)
		}
		source := "purge:" + out.ID
		tag, err := tx.Exec(ctx, `INSERT INTO purged_trajectories (tenant_id, trajectory_id, purge_id)
			SELECT $1, id, $4 FROM trajectories WHERE tenant_id = $1 AND `+sourceMatch("key_id", "agent_id")+`
			ON CONFLICT DO NOTHING`, tenantID, src.KeyID, src.AgentID, out.ID)
		if err != nil {
			return translate(err)
		}
		out.Trajectories = int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, `DELETE FROM adapter_examples a USING purged_trajectories p
			WHERE a.tenant_id = $1 AND p.tenant_id = $1 AND a.trajectory_id = p.trajectory_id::text`, tenantID); err != nil {
			return translate(err)
		}
		if out.Feedback, err = unrate(ctx, tx, tenantID, src, out.ID, source, stillRetired); err != nil {
			return err
		}
		st, err := getSettings(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		ts, err := countingTrajectories(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		r, err := relearn(st, ts)
		if err != nil {
			return err
		}
		if out.Items, err = replaceLearned(ctx, tx, tenantID, r, source); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE provenance_purges SET trajectories = $3, feedback = $4, items = $5 WHERE tenant_id = $1 AND id = $2`,
			tenantID, out.ID, out.Trajectories, out.Feedback, out.Items); err != nil {
			return translate(err)
		}
		audit.TenantID, audit.Action, audit.TargetType, audit.TargetID = tenantID, "provenance.purged", "purge", out.ID
		audit.Details = map[string]any{"key_id": src.KeyID, "agent_id": src.AgentID, "trajectories": out.Trajectories,
			"feedback": out.Feedback, "items": out.Items}
		return insertAuditAs(ctx, tx, audit)
	})
	if err != nil {
		return admem.Purge{}, fmt.Errorf("store: purge source: %w", err)
	}
	return out, nil
}

// unrate takes the source's ratings out of the counters of the items they
// rated and returns how many recalls' feedback it took back.
func unrate(ctx context.Context, tx pgx.Tx, tenantID string, src admem.Source, purgeID, source string, stillRetired Reassess) (int, error) {
	type took struct {
		item, kind   string
		uses, succes int
	}
	rows, err := tx.Query(ctx, `WITH u AS (
			UPDATE feedback_ratings f SET purge_id = $4
			WHERE f.tenant_id = $1 AND f.purge_id IS NULL AND `+sourceMatch("f.key_id", "f.agent_id")+`
			RETURNING f.item_id, f.source, f.success, f.recall_id)
		SELECT item_id::text, source, count(*)::int, count(*) FILTER (WHERE success)::int FROM u GROUP BY item_id, source`,
		tenantID, src.KeyID, src.AgentID, purgeID)
	if err != nil {
		return 0, translate(err)
	}
	tk, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (took, error) {
		var t took
		return t, r.Scan(&t.item, &t.kind, &t.uses, &t.succes)
	})
	if err != nil {
		return 0, translate(err)
	}
	var recalls int
	if err := tx.QueryRow(ctx, `SELECT count(DISTINCT recall_id)::int FROM feedback_ratings WHERE tenant_id = $1 AND purge_id = $2`,
		tenantID, purgeID).Scan(&recalls); err != nil {
		return 0, translate(err)
	}
	var quorum int
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT retire_quorum FROM learning_settings WHERE tenant_id = $1), 2)`, tenantID).Scan(&quorum); err != nil {
		return 0, translate(err)
	}
	fr := &ratings{tx: tx, tenantID: tenantID, quorum: quorum}
	for _, t := range tk {
		table := "learned_items"
		if t.kind == "entry" {
			table = "entries"
		}
		var r Rated
		var status string
		if err := tx.QueryRow(ctx, `UPDATE `+table+` SET uses = greatest(uses - $3, 0), successes = greatest(successes - $4, 0)
			WHERE tenant_id = $1 AND id = $2 RETURNING id::text, uses, successes, status`, tenantID, t.item, t.uses, t.succes).
			Scan(&r.ID, &r.Uses, &r.Successes, &status); err != nil {
			if errors.Is(translate(err), admem.ErrNotFound) {
				continue
			}
			return 0, translate(err)
		}
		r.Status, r.Quorum = admem.EntryStatus(status), quorum
		if r.Against, r.AdminAgainst, err = fr.against(ctx, r.ID); err != nil {
			return 0, err
		}
		// A learned item the source's ratings retired is active again as
		// a new version; a retired fact keeps its status (its statistics
		// and version are the memory service's to restore).
		if t.kind == "learned" && r.Status == admem.EntryRetired && !stillRetired(r) {
			if _, err := tx.Exec(ctx, `WITH u AS (UPDATE learned_items SET status = 'active', version = version + 1, updated_at = now()
					WHERE tenant_id = $1 AND id = $2 RETURNING id, version, state, content)
				INSERT INTO learned_item_versions (tenant_id, item_id, version, state, content, source)
				SELECT $1, id, version, state, content, $3 FROM u`, tenantID, r.ID, source); err != nil {
				return 0, translate(err)
			}
		}
	}
	return recalls, nil
}

// countingTrajectories loads every trajectory of the tenant that is not
// purged, with its steps, oldest first (in the order they were learnt).
func countingTrajectories(ctx context.Context, tx pgx.Tx, tenantID string) ([]admem.Trajectory, error) {
	ss, err := queryAll(ctx, tx, scanSummary, `SELECT `+trajColumns+` FROM trajectories
		WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM purged_trajectories p WHERE p.tenant_id = $1 AND p.trajectory_id = trajectories.id)
		ORDER BY coalesce(closed_at, created_at), id`, tenantID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	steps, err := stepsOf(ctx, tx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]admem.Trajectory, len(ss))
	for i, s := range ss {
		t := s.Trajectory
		t.Steps = steps[t.ID]
		for k := range t.Steps {
			t.Steps[k].Provenance.AgentID, t.Steps[k].Provenance.SessionID = t.Scope.AgentID, t.Scope.SessionID
		}
		out[i] = t
	}
	return out, nil
}

type storedItem struct {
	id, key, status, meaning string
	version                  int
	state                    []byte
}

// replaceLearned writes recomputed procedural memory over the stored one:
// tool histories and counted failures are replaced; each mistake and
// procedure whose state changed gets a new version (a stored active one
// that was not recomputed is retired as a new version). It returns how
// many items got a new version.
func replaceLearned(ctx context.Context, tx pgx.Tx, tenantID string, r Relearnt, source string) (int, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM tool_histories WHERE tenant_id = $1`, tenantID); err != nil {
		return 0, translate(err)
	}
	for _, t := range r.Book.Tools {
		state, err := json.Marshal(t)
		if err != nil {
			return 0, fmt.Errorf("store: encode tool history %s: %w", t.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tool_histories (tenant_id, tool, state, calls) VALUES ($1, $2, $3, $4)`,
			tenantID, t.Name, state, t.Clock); err != nil {
			return 0, translate(err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM mistake_occurrences WHERE tenant_id = $1`, tenantID); err != nil {
		return 0, translate(err)
	}
	for _, o := range r.Occurrences {
		if _, err := tx.Exec(ctx, `INSERT INTO mistake_occurrences (tenant_id, signature_id, trajectory_id, step_idx, agent_id, session_id, key_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, tenantID, o.SignatureID, o.TrajectoryID, o.Step,
			nullableText(o.Provenance.AgentID), nullableText(o.Provenance.SessionID), nullableUUID(o.Provenance.ActorKeyID)); err != nil {
			return 0, translate(err)
		}
	}
	stored := map[string]storedItem{}
	rows, err := tx.Query(ctx, `SELECT kind || '/' || key, id, key, status, meaning, version, state FROM learned_items WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return 0, translate(err)
	}
	for rows.Next() {
		var k string
		var s storedItem
		if err := rows.Scan(&k, &s.id, &s.key, &s.status, &s.meaning, &s.version, &s.state); err != nil {
			rows.Close()
			return 0, translate(err)
		}
		stored[k] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, translate(err)
	}
	var ev eventRows
	changed := 0
	version := func(kind, key, id string, v int, state []byte, content string) error {
		if _, err := tx.Exec(ctx, `INSERT INTO learned_item_versions (tenant_id, item_id, version, state, content, source)
			VALUES ($1, $2, $3, $4, $5, $6)`, tenantID, id, v, state, content, source); err != nil {
			return translate(err)
		}
		ev.add(tenantID, admem.EventLearnedChanged, id, map[string]any{"kind": kind, "key": key, "version": v})
		changed++
		return nil
	}
	seen := map[string]bool{}
	// Mistakes.
	for sig, m := range r.Book.Mistakes {
		k := string(admem.KindMistake) + "/" + sig
		seen[k] = true
		old, ok := stored[k]
		if ok {
			m.ID, m.Version = old.id, old.version
		}
		state, err := json.Marshal(m)
		if err != nil {
			return 0, fmt.Errorf("store: encode mistake %s: %w", sig, err)
		}
		if ok && sameState(old.state, state, &mistake.Mistake{}) {
			continue
		}
		content, search, meaning := m.Render(), m.SearchText(), m.Meaning()
		var id string
		var v int
		if ok {
			err = tx.QueryRow(ctx, `UPDATE learned_items SET state = $3, content = $4, search_text = $5, count = $6, meaning = $7,
					tool = $8, version = version + 1, updated_at = now()
				WHERE tenant_id = $1 AND id = $2 RETURNING id, version`,
				tenantID, old.id, state, content, search, m.Failures, meaning, m.Signature.Tool).Scan(&id, &v)
		} else {
			err = tx.QueryRow(ctx, `INSERT INTO learned_items (tenant_id, kind, key, tool, state, content, search_text, count, meaning)
				VALUES ($1, 'mistake', $2, $3, $4, $5, $6, $7, $8) RETURNING id, version`,
				tenantID, sig, m.Signature.Tool, state, content, search, m.Failures, meaning).Scan(&id, &v)
		}
		if err != nil {
			return 0, translate(err)
		}
		if err := version(string(admem.KindMistake), sig, id, v, state, content); err != nil {
			return 0, err
		}
	}
	// Procedures.
	for key, it := range r.Procedures {
		k := string(admem.KindProcedure) + "/" + key
		seen[k] = true
		old, ok := stored[k]
		if ok && sameState(old.state, it.State, &map[string]any{}) {
			continue
		}
		var id string
		var v int
		if ok {
			err = tx.QueryRow(ctx, `UPDATE learned_items SET state = $3, content = $4, search_text = $5, count = $6,
					version = version + 1, updated_at = now()
				WHERE tenant_id = $1 AND id = $2 RETURNING id, version`,
				tenantID, old.id, it.State, it.Content, it.SearchText, it.Count).Scan(&id, &v)
		} else {
			err = tx.QueryRow(ctx, `INSERT INTO learned_items (tenant_id, kind, key, state, content, search_text, count)
				VALUES ($1, 'procedure', $2, $3, $4, $5, $6) RETURNING id, version`,
				tenantID, key, it.State, it.Content, it.SearchText, it.Count).Scan(&id, &v)
		}
		if err != nil {
			return 0, translate(err)
		}
		if err := version(string(admem.KindProcedure), key, id, v, it.State, it.Content); err != nil {
			return 0, err
		}
	}
	// What no longer has evidence is retired, as a new version.
	for k, old := range stored {
		if seen[k] || old.status != string(admem.EntryActive) {
			continue
		}
		var kind, content string
		var v int
		var state []byte
		if err := tx.QueryRow(ctx, `UPDATE learned_items SET status = 'retired', version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING kind, version, state, content`, tenantID, old.id).Scan(&kind, &v, &state, &content); err != nil {
			return 0, translate(err)
		}
		if err := version(kind, old.key, old.id, v, state, content); err != nil {
			return 0, err
		}
	}
	return changed, ev.insert(ctx, tx)
}

// sameState reports whether two JSON encodings hold the same value (the
// stored one went through jsonb, which reorders keys), decoded into v.
func sameState(stored, next []byte, v any) bool {
	if err := json.Unmarshal(stored, v); err != nil {
		return false
	}
	a, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var w any
	if err := json.Unmarshal(next, &w); err != nil {
		return false
	}
	var x any
	if err := json.Unmarshal(a, &x); err != nil {
		return false
	}
	b1, _ := json.Marshal(x)
	b2, _ := json.Marshal(w)
	return string(b1) == string(b2)
}

// tenantKey checks that a named key is one of the tenant's: another
// tenant's key is not found, as if it did not exist.
func tenantKey(ctx context.Context, tx pgx.Tx, tenantID, keyID string) error {
	if keyID == "" {
		return nil
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM api_keys WHERE tenant_id = $1 AND id = $2`, tenantID, keyID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return &admem.Error{Code: admem.ENOTFOUND, Message: "no such key in this tenant"}
	}
	return translate(err)
}
