package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/mistake"
	"github.com/jackc/pgx/v5"
)

// AssignFunc decides where a failed step goes: given the step and the live
// clusters with its signature, it returns the cluster to save, updated with
// the step (ID "" for a new cluster). It runs inside the recording
// transaction, under a lock on the tenant's signature, so it must not block.
type AssignFunc = func(s admem.LabelledStep, same []admem.FailureCluster) admem.FailureCluster

// RecordLabelledSteps stores labelled steps as training examples and assigns
// each newly seen failed step to a failure cluster, all in one transaction.
// A step already recorded (same trajectory and index) changes nothing, so an
// event processed twice is harmless. It returns how many steps were new.
func (db *DB) RecordLabelledSteps(ctx context.Context, tenantID string, steps []admem.LabelledStep, assign AssignFunc) (int, error) {
	added := 0
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		added = 0
		// The examples in one round trip: a trajectory labels every step.
		b := &pgx.Batch{}
		for _, s := range steps {
			b.Queue(`INSERT INTO adapter_examples (tenant_id, trajectory_id, step_index, embedder_id, context, action, action_text, failed)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (tenant_id, trajectory_id, step_index) DO NOTHING
				RETURNING id`,
				tenantID, s.TrajectoryID, s.StepIndex, s.EmbedderID, s.Context, s.Action, s.ActionText, s.Failed)
		}
		br := tx.SendBatch(ctx, b)
		ids := make([]int64, len(steps))
		bySig := map[string][]int{}
		var sigs []string
		for i, s := range steps {
			err := br.QueryRow().Scan(&ids[i])
			if err == pgx.ErrNoRows {
				continue
			}
			if err != nil {
				br.Close()
				return translate(err)
			}
			added++
			if !s.Failed || s.SignatureID == "" {
				continue
			}
			if _, ok := bySig[s.SignatureID]; !ok {
				sigs = append(sigs, s.SignatureID)
			}
			bySig[s.SignatureID] = append(bySig[s.SignatureID], i)
		}
		if err := br.Close(); err != nil {
			return translate(err)
		}
		// Signatures locked in one order, so two writers never deadlock;
		// each signature's clusters are read once and assigned in memory,
		// and the examples' clusters are written in one round trip.
		slices.Sort(sigs)
		var exIDs []int64
		var exClusters []string
		for _, sig := range sigs {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 42))`, tenantID+"/"+sig); err != nil {
				return translate(err)
			}
			same, err := queryClusters(ctx, tx, `WHERE tenant_id = $1 AND signature_id = $2 AND merged_into IS NULL ORDER BY created_at, id`, tenantID, sig)
			if err != nil {
				return err
			}
			dirty := map[string]bool{}
			for _, i := range bySig[sig] {
				c := assign(steps[i], same)
				c.TenantID = tenantID
				if c.ID == "" {
					if c.ID, err = saveCluster(ctx, tx, c); err != nil {
						return err
					}
					same = append(same, c)
				} else {
					for k := range same {
						if same[k].ID == c.ID {
							same[k] = c
						}
					}
					dirty[c.ID] = true
				}
				exIDs, exClusters = append(exIDs, ids[i]), append(exClusters, c.ID)
			}
			for _, c := range same {
				if dirty[c.ID] {
					if _, err := saveCluster(ctx, tx, c); err != nil {
						return err
					}
				}
			}
		}
		if len(exIDs) == 0 {
			return nil
		}
		ub := &pgx.Batch{}
		for k, id := range exIDs {
			ub.Queue(`UPDATE adapter_examples SET cluster_id = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, id, exClusters[k])
		}
		return translate(tx.SendBatch(ctx, ub).Close())
	})
	if err != nil {
		return 0, fmt.Errorf("store: record labelled steps: %w", err)
	}
	return added, nil
}

// saveCluster inserts c (ID "") or updates it, returning its id.
func saveCluster(ctx context.Context, tx pgx.Tx, c admem.FailureCluster) (string, error) {
	actions := c.Actions
	if actions == nil {
		actions = map[string]int{}
	}
	exemplars := c.Exemplars
	if exemplars == nil {
		exemplars = []string{}
	}
	note, err := json.Marshal(noteJSON(c.Note))
	if err != nil {
		return "", err
	}
	if c.ID == "" {
		var id string
		err := tx.QueryRow(ctx, `
			INSERT INTO failure_clusters (tenant_id, signature_id, signature, tool, error_class, template, centroid, embedder_id,
				count, first_seen_at, last_seen_at, actions, exemplars, note, split_from)
			VALUES ($1, $2, $3, $4, $5, $6, $7::vector, $8, $9, $10, $11, $12, $13, $14, nullif($15, '')::uuid)
			RETURNING id`,
			c.TenantID, c.SignatureID, c.Signature, c.Tool, c.ErrorClass, c.Template, vectorText(c.Centroid), c.EmbedderID,
			c.Count, c.FirstSeenAt, c.LastSeenAt, actions, exemplars, note, c.SplitFrom).Scan(&id)
		return id, translate(err)
	}
	_, err = tx.Exec(ctx, `
		UPDATE failure_clusters SET centroid = $3::vector, embedder_id = $4, count = $5, first_seen_at = $6, last_seen_at = $7,
			actions = $8, exemplars = $9, note = $10, updated_at = now()
		WHERE tenant_id = $1 AND id = $2`,
		c.TenantID, c.ID, vectorText(c.Centroid), c.EmbedderID, c.Count, c.FirstSeenAt, c.LastSeenAt, actions, exemplars, note)
	return c.ID, translate(err)
}

type storedNote struct {
	Text       string `json:"text,omitempty"`
	When       string `json:"when,omitempty"`
	Doing      string `json:"doing,omitempty"`
	Correction string `json:"correction,omitempty"`
	Do         string `json:"do,omitempty"`
}

func noteJSON(n admem.FailureNote) storedNote { return storedNote(n) }

const clusterColumns = `id, tenant_id, signature_id, signature, tool, error_class, template, coalesce(centroid::text, ''), embedder_id,
	count, first_seen_at, last_seen_at, actions, exemplars, note, label, suppressed,
	coalesce(merged_into::text, ''), coalesce(split_from::text, ''), created_at, updated_at,
	(SELECT li.state FROM learned_items li WHERE li.tenant_id = failure_clusters.tenant_id AND li.kind = 'mistake'
		AND li.key = failure_clusters.signature_id)`

func queryClusters(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]admem.FailureCluster, error) {
	rows, err := tx.Query(ctx, `SELECT `+clusterColumns+` FROM failure_clusters `+where, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []admem.FailureCluster
	for rows.Next() {
		var c admem.FailureCluster
		var centroid string
		var note storedNote
		var state []byte
		if err := rows.Scan(&c.ID, &c.TenantID, &c.SignatureID, &c.Signature, &c.Tool, &c.ErrorClass, &c.Template, &centroid, &c.EmbedderID,
			&c.Count, &c.FirstSeenAt, &c.LastSeenAt, &c.Actions, &c.Exemplars, &note, &c.Label, &c.Suppressed,
			&c.MergedInto, &c.SplitFrom, &c.CreatedAt, &c.UpdatedAt, &state); err != nil {
			return nil, translate(err)
		}
		c.Centroid = parseVector(centroid)
		c.Note = admem.FailureNote(note)
		// The note is the mistake model's: clusters group a mistake's
		// failures by context, the mistake says what it is and its fix.
		var m mistake.Mistake
		if len(state) > 0 && json.Unmarshal(state, &m) == nil && m.SignatureID != "" {
			c.Note = admem.FailureNote{Text: m.Render(), When: m.Rule.Describe(), Doing: m.Example}
			if len(m.Fixes) > 0 {
				c.Note.Correction = m.Fixes[0].Text(m.Signature.Tool)
				c.Note.Do = c.Note.Correction
			}
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}

// vectorText renders v in pgvector's text form; nil becomes NULL.
func vectorText(v []float32) *string {
	if len(v) == 0 {
		return nil
	}
	var b strings.Builder
	b.Grow(len(v) * 10)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteByte(']')
	s := b.String()
	return &s
}

func parseVector(s string) []float32 {
	s = strings.Trim(s, "[]")
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]float32, len(parts))
	for i, p := range parts {
		f, _ := strconv.ParseFloat(strings.TrimSpace(p), 32)
		out[i] = float32(f)
	}
	return out
}

// GetFailureCluster returns one of the tenant's clusters.
func (db *DB) GetFailureCluster(ctx context.Context, tenantID, id string) (admem.FailureCluster, error) {
	var out []admem.FailureCluster
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = queryClusters(ctx, tx, `WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return err
	})
	if err == nil && len(out) == 0 {
		err = admem.ErrNotFound
	}
	if err != nil {
		return admem.FailureCluster{}, fmt.Errorf("store: get failure cluster %s: %w", id, err)
	}
	return out[0], nil
}

// ListFailureClusters pages through the tenant's clusters, most recently
// seen first.
func (db *DB) ListFailureClusters(ctx context.Context, tenantID string, f admem.FailureFilter, page admem.Page) ([]admem.FailureCluster, string, error) {
	page = page.Normalize()
	var out []admem.FailureCluster
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var before *time.Time
		afterID := ""
		if page.Cursor != "" {
			ts, id, err := decodeTimeCursor(page.Cursor)
			if err != nil {
				return err
			}
			before, afterID = &ts, id
		}
		var err error
		out, err = queryClusters(ctx, tx, `
			WHERE tenant_id = $1 AND ($2 = '' OR tool = $2) AND ($3 OR merged_into IS NULL) AND ($4 OR NOT suppressed)
			  AND ($5::timestamptz IS NULL OR (last_seen_at, id::text) < ($5, $6))
			ORDER BY last_seen_at DESC, id::text DESC LIMIT $7`,
			tenantID, f.Tool, f.IncludeMerged, f.IncludeSuppress, before, afterID, page.Limit+1)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list failure clusters: %w", err)
	}
	out, next := trimPage(out, page.Limit, func(c admem.FailureCluster) string { return encodeTimeCursor(c.LastSeenAt, c.ID) })
	return out, next, nil
}

// GuardInputs returns, in one transaction, the tenant's live unsuppressed
// clusters of the given tools (most frequent first) and its guard settings.
func (db *DB) GuardInputs(ctx context.Context, tenantID string, tools []string) ([]admem.FailureCluster, admem.GuardSettings, error) {
	var out []admem.FailureCluster
	gs := admem.DefaultGuardSettings()
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if len(tools) > 0 {
			out, err = queryClusters(ctx, tx, `
				WHERE tenant_id = $1 AND tool = ANY($2) AND merged_into IS NULL AND NOT suppressed
				ORDER BY count DESC, id LIMIT 200`, tenantID, tools)
			if err != nil {
				return err
			}
		}
		gs, err = guardSettings(ctx, tx, tenantID)
		return err
	})
	if err != nil {
		return nil, gs, fmt.Errorf("store: guard inputs: %w", err)
	}
	return out, gs, nil
}

// GuardSettings returns the tenant's guard settings, defaults filled in for
// what it has not set. It is read on hot paths (guard's thresholds, recall's
// adapter switch): one round trip.
func (db *DB) GuardSettings(ctx context.Context, tenantID string) (admem.GuardSettings, error) {
	var gs admem.GuardSettings
	b := &pgx.Batch{}
	b.Queue(guardSettingsSQL, tenantID)
	err := db.inTenantOneTrip(ctx, tenantID, b, func(br pgx.BatchResults) error {
		var err error
		gs, err = scanGuardSettings(br.QueryRow())
		return err
	})
	if err != nil {
		return gs, fmt.Errorf("store: guard settings: %w", err)
	}
	return gs, nil
}

// UseAdapter reports whether the tenant lets guard and recall use its
// adapter (guard settings "use_adapter", default true).
func (db *DB) UseAdapter(ctx context.Context, tenantID string) (bool, error) {
	gs, err := db.GuardSettings(ctx, tenantID)
	return gs.UseAdapter, err
}

// guardSettingsSQL reads tenants.settings->'guard' ({"warn": x, "block": y,
// "use_adapter": b}, each optional).
const guardSettingsSQL = `SELECT (settings->'guard'->>'warn')::float8, (settings->'guard'->>'block')::float8,
		(settings->'guard'->>'use_adapter')::boolean
	FROM tenants WHERE id = $1`

func guardSettings(ctx context.Context, tx pgx.Tx, tenantID string) (admem.GuardSettings, error) {
	return scanGuardSettings(tx.QueryRow(ctx, guardSettingsSQL, tenantID))
}

func scanGuardSettings(row pgx.Row) (admem.GuardSettings, error) {
	gs := admem.DefaultGuardSettings()
	var warn, block *float64
	var use *bool
	err := row.Scan(&warn, &block, &use)
	if err == pgx.ErrNoRows {
		return gs, nil
	}
	if err != nil {
		return gs, translate(err)
	}
	if warn != nil {
		gs.Warn = *warn
	}
	if block != nil {
		gs.Block = *block
	}
	if use != nil {
		gs.UseAdapter = *use
	}
	return gs, nil
}

// UpdateFailureCluster sets a cluster's label or suppression, audited.
func (db *DB) UpdateFailureCluster(ctx context.Context, tenantID, actorKeyID, id string, u admem.FailureClusterUpdate) (admem.FailureCluster, error) {
	var out []admem.FailureCluster
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE failure_clusters SET label = coalesce($3, label), suppressed = coalesce($4, suppressed), updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, u.Label, u.Suppressed)
		if err != nil {
			return translate(err)
		}
		if tag.RowsAffected() == 0 {
			return admem.ErrNotFound
		}
		details := map[string]any{}
		if u.Label != nil {
			details["label"] = *u.Label
		}
		if u.Suppressed != nil {
			details["suppressed"] = *u.Suppressed
		}
		if err := insertAuditAs(ctx, tx, admem.AuditEvent{TenantID: tenantID, ActorKeyID: actorKeyID, Action: "failure.updated",
			TargetType: "failure_cluster", TargetID: id, Details: details}); err != nil {
			return err
		}
		out, err = queryClusters(ctx, tx, `WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return err
	})
	if err != nil {
		return admem.FailureCluster{}, fmt.Errorf("store: update failure cluster %s: %w", id, err)
	}
	return out[0], nil
}

// MergeFunc combines the source cluster into the target, returning the
// target's new state.
type MergeFunc = func(into, from admem.FailureCluster) admem.FailureCluster

// MergeFailureClusters merges cluster fromID into intoID: the target takes
// the source's counts, actions, exemplars and examples; the source stays as a
// pointer (merged_into) so links to it still resolve. Audited.
func (db *DB) MergeFailureClusters(ctx context.Context, tenantID, actorKeyID, intoID, fromID string, merge MergeFunc) (admem.FailureCluster, error) {
	var out []admem.FailureCluster
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		both, err := queryClusters(ctx, tx, `WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`, tenantID, []string{intoID, fromID})
		if err != nil {
			return err
		}
		var into, from *admem.FailureCluster
		for i := range both {
			switch both[i].ID {
			case intoID:
				into = &both[i]
			case fromID:
				from = &both[i]
			}
		}
		if into == nil || from == nil {
			return admem.ErrNotFound
		}
		if into.MergedInto != "" || from.MergedInto != "" {
			return admem.Errorf(admem.ECONFLICT, "a cluster that was merged away cannot take part in another merge")
		}
		merged := merge(*into, *from)
		merged.ID, merged.TenantID = intoID, tenantID
		if _, err := saveCluster(ctx, tx, merged); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE failure_clusters SET merged_into = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, fromID, intoID); err != nil {
			return translate(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE failure_clusters SET merged_into = $3, updated_at = now() WHERE tenant_id = $1 AND merged_into = $2`, tenantID, fromID, intoID); err != nil {
			return translate(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE adapter_examples SET cluster_id = $3 WHERE tenant_id = $1 AND cluster_id = $2`, tenantID, fromID, intoID); err != nil {
			return translate(err)
		}
		if err := insertAuditAs(ctx, tx, admem.AuditEvent{TenantID: tenantID, ActorKeyID: actorKeyID, Action: "failure.merged",
			TargetType: "failure_cluster", TargetID: intoID, Details: map[string]any{"merged": fromID}}); err != nil {
			return err
		}
		out, err = queryClusters(ctx, tx, `WHERE tenant_id = $1 AND id = $2`, tenantID, intoID)
		return err
	})
	if err != nil {
		return admem.FailureCluster{}, fmt.Errorf("store: merge failure clusters: %w", err)
	}
	return out[0], nil
}

// FailureClusterMembers returns the cluster's failed steps (at most limit,
// newest first).
func (db *DB) FailureClusterMembers(ctx context.Context, tenantID, id string, limit int) ([]admem.FailureMember, error) {
	var out []admem.FailureMember
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT id, trajectory_id, context, action_text, created_at FROM adapter_examples
			WHERE tenant_id = $1 AND cluster_id = $2 ORDER BY id DESC LIMIT $3`, tenantID, id, limit)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var m admem.FailureMember
			if err := rows.Scan(&m.ExampleID, &m.TrajectoryID, &m.Context, &m.ActionText, &m.CreatedAt); err != nil {
				return translate(err)
			}
			out = append(out, m)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("store: failure cluster members: %w", err)
	}
	return out, nil
}

// SplitFailureCluster moves the given members of cluster id into a new
// cluster (part), and saves the remaining cluster state (rest). Audited.
func (db *DB) SplitFailureCluster(ctx context.Context, tenantID, actorKeyID string, rest, part admem.FailureCluster, members []int64) (admem.FailureCluster, error) {
	var out []admem.FailureCluster
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rest.TenantID, part.TenantID, part.ID, part.SplitFrom = tenantID, tenantID, "", rest.ID
		var cur []admem.FailureCluster
		cur, err := queryClusters(ctx, tx, `WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, rest.ID)
		if err != nil {
			return err
		}
		if len(cur) == 0 {
			return admem.ErrNotFound
		}
		if cur[0].MergedInto != "" {
			return admem.Errorf(admem.ECONFLICT, "a merged cluster cannot be split")
		}
		if _, err := saveCluster(ctx, tx, rest); err != nil {
			return err
		}
		newID, err := saveCluster(ctx, tx, part)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE adapter_examples SET cluster_id = $3 WHERE tenant_id = $1 AND cluster_id = $2 AND id = ANY($4)`,
			tenantID, rest.ID, newID, members); err != nil {
			return translate(err)
		}
		if err := insertAuditAs(ctx, tx, admem.AuditEvent{TenantID: tenantID, ActorKeyID: actorKeyID, Action: "failure.split",
			TargetType: "failure_cluster", TargetID: rest.ID, Details: map[string]any{"new_cluster": newID, "moved": len(members)}}); err != nil {
			return err
		}
		out, err = queryClusters(ctx, tx, `WHERE tenant_id = $1 AND id = $2`, tenantID, newID)
		return err
	})
	if err != nil {
		return admem.FailureCluster{}, fmt.Errorf("store: split failure cluster: %w", err)
	}
	return out[0], nil
}

// SetGuardSettings stores the tenant's guard settings under the "guard"
// key of its settings, audited. A tenant cannot update its own tenants row
// (row-level security lets only the platform write it), so this one narrow
// write runs with platform visibility, on this tenant's row and this key
// only.
func (db *DB) SetGuardSettings(ctx context.Context, tenantID, actorKeyID string, gs admem.GuardSettings) error {
	val := map[string]any{"warn": gs.Warn, "block": gs.Block, "use_adapter": gs.UseAdapter}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenants SET settings = jsonb_set(settings, '{guard}', $2::jsonb), updated_at = now() WHERE id = $1`,
			tenantID, val)
		if err != nil {
			return translate(err)
		}
		if tag.RowsAffected() == 0 {
			return admem.ErrNotFound
		}
		return insertAuditAs(ctx, tx, admem.AuditEvent{TenantID: tenantID, ActorKeyID: actorKeyID, Action: "guard.settings_updated",
			TargetType: "tenant", TargetID: tenantID, Details: val})
	}, "admem.platform", "on")
	if err != nil {
		return fmt.Errorf("store: set guard settings: %w", err)
	}
	return nil
}
