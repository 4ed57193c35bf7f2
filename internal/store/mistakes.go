package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/mistake"
	"github.com/jackc/pgx/v5"
)

// Book locks the tools (in name order, so two learners never deadlock) and
// loads their recent histories and every mistake about them: what the
// learner needs to learn a trajectory that called them. The locks last
// until the transaction ends, so two workers never learn one tool of a
// tenant at once.
func (lt *LearnTx) Book(tools []string) (*mistake.Book, error) {
	b := mistake.NewBook()
	if err := lt.LoadBook(b, tools); err != nil {
		return nil, err
	}
	return b, nil
}

// LoadBook is Book into an existing book, for the tools it does not hold
// yet: a batch of trajectories learns into one book.
func (lt *LearnTx) LoadBook(b *mistake.Book, tools []string) error {
	ctx, tx := lt.ctx, lt.tx
	tools = slices.DeleteFunc(slices.Clone(tools), func(t string) bool { return b.Tools[t] != nil })
	if len(tools) == 0 {
		return nil
	}
	slices.Sort(tools)
	tools = slices.Compact(tools)
	for _, t := range tools {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || '/tool/' || $2, 0))`, lt.tenantID, t); err != nil {
			return translate(err)
		}
	}
	var hist []*mistake.Tool
	rows, err := tx.Query(ctx, `SELECT tool, state FROM tool_histories WHERE tenant_id = $1 AND tool = ANY ($2)`, lt.tenantID, tools)
	if err != nil {
		return translate(err)
	}
	for rows.Next() {
		var name string
		var state []byte
		if err := rows.Scan(&name, &state); err != nil {
			rows.Close()
			return translate(err)
		}
		t := &mistake.Tool{}
		if json.Unmarshal(state, t) != nil {
			// A history that cannot be read is started afresh rather than
			// stopping the tenant's learning for good.
			t = &mistake.Tool{}
		}
		t.Name = name
		hist = append(hist, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	ms, err := toolMistakes(ctx, tx, lt.tenantID, tools, false)
	if err != nil {
		return err
	}
	// A tool with no stored history yet is still the book's: learning
	// must not load it again over what it learnt.
	for _, t := range tools {
		if !slices.ContainsFunc(hist, func(h *mistake.Tool) bool { return h.Name == t }) {
			hist = append(hist, &mistake.Tool{Name: t})
		}
	}
	b.Add(hist, ms)
	return nil
}

// toolMistakes returns the tenant's mistakes about the tools (only those
// guard may use when activeOnly: active, and not suppressed by an admin).
func toolMistakes(ctx context.Context, tx pgx.Tx, tenantID string, tools []string, activeOnly bool) ([]*mistake.Mistake, error) {
	// A mistake whose failure clusters an admin all suppressed is not
	// used either (the clusters are how people see and steer it).
	rows, err := tx.Query(ctx, `SELECT id, state, version, status, meaning FROM learned_items li
		WHERE tenant_id = $1 AND kind = 'mistake' AND tool = ANY ($2)
		AND (NOT $3 OR status = 'active' AND NOT (
			EXISTS (SELECT 1 FROM failure_clusters c WHERE c.tenant_id = li.tenant_id AND c.signature_id = li.key
				AND c.merged_into IS NULL AND c.suppressed)
			AND NOT EXISTS (SELECT 1 FROM failure_clusters c WHERE c.tenant_id = li.tenant_id AND c.signature_id = li.key
				AND c.merged_into IS NULL AND NOT c.suppressed)))`, tenantID, tools, activeOnly)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*mistake.Mistake
	for rows.Next() {
		var id, status, meaning string
		var state []byte
		var version int
		if err := rows.Scan(&id, &state, &version, &status, &meaning); err != nil {
			return nil, translate(err)
		}
		m := &mistake.Mistake{}
		if json.Unmarshal(state, m) != nil || m.SignatureID == "" {
			continue
		}
		m.ID, m.Version, m.Retired, m.Stored = id, version, status != string(admem.EntryActive), meaning
		out = append(out, m)
	}
	return out, translate(rows.Err())
}

// SaveBook writes what learning changed in the book: the tools' histories,
// and each changed mistake, as a new version (with a learned.changed event,
// so the worker publishes it as a memory entry) when what it says changed,
// in place otherwise. source names what taught it ("trajectory:<id>").
func (lt *LearnTx) SaveBook(b *mistake.Book, source string) error {
	if err := lt.SaveBookVersions(b, source); err != nil {
		return err
	}
	tools, ms := b.Changed()
	if err := lt.saveHistories(tools); err != nil {
		return err
	}
	var ev eventRows
	for _, m := range ms {
		if err := lt.saveMistake(m, source, &ev); err != nil {
			return err
		}
	}
	b.Reset()
	return ev.insert(lt.ctx, lt.tx)
}

// SaveBookVersions writes only the changes that make a new version of a
// mistake (a new mistake, or one whose meaning changed), each naming
// source, and leaves the tools' histories and the in-place changes in the
// book for a later SaveBook: a batch of trajectories writes each of those
// once, however many of its trajectories touched them, while every version
// still names the trajectory that made it.
func (lt *LearnTx) SaveBookVersions(b *mistake.Book, source string) error {
	_, ms := b.Changed()
	var saved []*mistake.Mistake
	var ev eventRows
	for _, m := range ms {
		if m.ID != "" && m.Meaning() == m.Stored {
			continue
		}
		if err := lt.saveMistake(m, source, &ev); err != nil {
			return err
		}
		saved = append(saved, m)
	}
	b.Saved(saved)
	return ev.insert(lt.ctx, lt.tx)
}

// saveHistories writes the tools' histories in one round trip.
func (lt *LearnTx) saveHistories(tools []*mistake.Tool) error {
	if len(tools) == 0 {
		return nil
	}
	hb := &pgx.Batch{}
	for _, t := range tools {
		state, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("store: encode tool history %s: %w", t.Name, err)
		}
		hb.Queue(`INSERT INTO tool_histories (tenant_id, tool, state, calls) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id, tool) DO UPDATE SET state = excluded.state, calls = excluded.calls, updated_at = now()`,
			lt.tenantID, t.Name, state, t.Clock)
	}
	return translate(lt.tx.SendBatch(lt.ctx, hb).Close())
}

// saveMistake writes one changed mistake: a new version naming source
// (and a learned.changed event) when what it says changed, in place
// otherwise. A version's event is added to ev.
func (lt *LearnTx) saveMistake(m *mistake.Mistake, source string, ev *eventRows) error {
	ctx, tx := lt.ctx, lt.tx
	meaning := m.Meaning()
	state, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode mistake %s: %w", m.SignatureID, err)
	}
	content, search := m.Render(), m.SearchText()
	switch {
	case m.ID == "":
		err = tx.QueryRow(ctx, `INSERT INTO learned_items (tenant_id, kind, key, tool, state, content, search_text, count, meaning)
			VALUES ($1, 'mistake', $2, $3, $4, $5, $6, $7, $8) RETURNING id, version`,
			lt.tenantID, m.SignatureID, m.Signature.Tool, state, content, search, m.Failures, meaning).Scan(&m.ID, &m.Version)
	case meaning != m.Stored:
		err = tx.QueryRow(ctx, `UPDATE learned_items SET state = $3, content = $4, search_text = $5, count = $6, meaning = $7,
				version = version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING version`,
			lt.tenantID, m.ID, state, content, search, m.Failures, meaning).Scan(&m.Version)
	default:
		_, err = tx.Exec(ctx, `UPDATE learned_items SET state = $3, content = $4, search_text = $5, count = $6, updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, lt.tenantID, m.ID, state, content, search, m.Failures)
		return translate(err)
	}
	if err != nil {
		return translate(err)
	}
	m.Stored = meaning
	if _, err := tx.Exec(ctx, `INSERT INTO learned_item_versions (tenant_id, item_id, version, state, content, source)
		VALUES ($1, $2, $3, $4, $5, $6)`, lt.tenantID, m.ID, m.Version, state, content, source); err != nil {
		return translate(err)
	}
	ev.add(lt.tenantID, admem.EventLearnedChanged, m.ID, map[string]any{"kind": string(admem.KindMistake), "key": m.SignatureID, "version": m.Version})
	return nil
}

// LearntAll is Learnt of several trajectories, by trajectory id.
func (lt *LearnTx) LearntAll(ids []string) (map[string]map[int]bool, error) {
	rows, err := lt.tx.Query(lt.ctx, `SELECT trajectory_id, step_idx FROM mistake_occurrences
		WHERE tenant_id = $1 AND trajectory_id = ANY ($2::uuid[])`, lt.tenantID, ids)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[string]map[int]bool{}
	for _, id := range ids {
		out[id] = map[int]bool{}
	}
	for rows.Next() {
		var id string
		var i int
		if err := rows.Scan(&id, &i); err != nil {
			return nil, translate(err)
		}
		if out[id] == nil {
			out[id] = map[int]bool{}
		}
		out[id][i] = true
	}
	return out, translate(rows.Err())
}

// Learnt returns the failed steps of a trajectory whose failure a mistake
// already counted.
func (lt *LearnTx) Learnt(trajectoryID string) (map[int]bool, error) {
	rows, err := lt.tx.Query(lt.ctx, `SELECT step_idx FROM mistake_occurrences WHERE tenant_id = $1 AND trajectory_id = $2`,
		lt.tenantID, trajectoryID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return nil, translate(err)
		}
		out[i] = true
	}
	return out, translate(rows.Err())
}

// CountFailures records that failed steps of a trajectory were counted by
// the mistakes of their signatures (sigs by step index), with their
// provenance: the key that sent the step, the trajectory's agent and session.
func (lt *LearnTx) CountFailures(t admem.Trajectory, sigs map[int]string) error {
	if len(sigs) == 0 {
		return nil
	}
	idx := make([]int32, 0, len(sigs))
	ids := make([]string, 0, len(sigs))
	keys := make([]*string, 0, len(sigs))
	for i, sig := range sigs {
		key := t.Provenance.ActorKeyID
		if i < len(t.Steps) && t.Steps[i].Provenance.ActorKeyID != "" {
			key = t.Steps[i].Provenance.ActorKeyID
		}
		idx, ids, keys = append(idx, int32(i)), append(ids, sig), append(keys, nullableUUID(key))
	}
	_, err := lt.tx.Exec(lt.ctx, `INSERT INTO mistake_occurrences (tenant_id, signature_id, trajectory_id, step_idx, agent_id, session_id, key_id)
		SELECT $1, sig, $3, i, $4, $5, k FROM unnest($2::text[], $6::int[], $7::uuid[]) AS u(sig, i, k) ON CONFLICT DO NOTHING`,
		lt.tenantID, ids, t.ID, nullableText(t.Scope.AgentID), nullableText(t.Scope.SessionID), idx, keys)
	return translate(err)
}
