package store

import (
	"context"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// AdapterExamples returns up to limit of the tenant's examples in the given
// embedding space with ids in (afterID, throughID], oldest first
// (throughID 0 means no upper bound).
func (db *DB) AdapterExamples(ctx context.Context, tenantID, embedderID string, afterID, throughID int64, limit int) ([]admem.AdapterExample, error) {
	var out []admem.AdapterExample
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		// A failed step's rank among its label's failed steps from its
		// key and from its agent counts every earlier one, trained on or
		// not: a source's share is capped over the tenant's history.
		rows, err := tx.Query(ctx, `
			WITH f AS (
				SELECT e.id, greatest(
					CASE WHEN t.key_id IS NULL THEN 0 ELSE row_number() OVER (PARTITION BY coalesce(e.cluster_id::text, e.action_text), t.key_id ORDER BY e.id) END,
					CASE WHEN `+keyAgent("t.agent_id")+` = '' THEN 0 ELSE row_number() OVER (PARTITION BY coalesce(e.cluster_id::text, e.action_text), `+keyAgent("t.agent_id")+` ORDER BY e.id) END) AS rank
				FROM adapter_examples e JOIN trajectories t ON t.tenant_id = e.tenant_id AND t.id::text = e.trajectory_id
				LEFT JOIN api_keys k ON k.tenant_id = e.tenant_id AND k.id = t.key_id
				WHERE e.tenant_id = $1 AND e.embedder_id = $2 AND e.failed AND ($4 = 0 OR e.id <= $4))
			SELECT e.id, e.context, e.action, e.failed, coalesce(e.cluster_id::text, ''), coalesce(e.cluster_id::text, e.action_text, ''),
				coalesce(t.key_id::text, ''), `+keyAgent("t.agent_id")+`, `+trustedKey+`, coalesce(f.rank, 0)
			FROM adapter_examples e
			LEFT JOIN trajectories t ON t.tenant_id = e.tenant_id AND t.id::text = e.trajectory_id
			LEFT JOIN api_keys k ON k.tenant_id = e.tenant_id AND k.id = t.key_id
			LEFT JOIN f ON f.id = e.id
			WHERE e.tenant_id = $1 AND e.embedder_id = $2 AND e.id > $3 AND ($4 = 0 OR e.id <= $4)
			ORDER BY e.id LIMIT $5`, tenantID, embedderID, afterID, throughID, limit)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var e admem.AdapterExample
			var rank int64
			if err := rows.Scan(&e.ID, &e.Context, &e.Action, &e.Failed, &e.ClusterID, &e.Label,
				&e.Source.ActorKeyID, &e.Source.AgentID, &e.Trusted, &rank); err != nil {
				return translate(err)
			}
			e.SourceRank = int(rank)
			out = append(out, e)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("store: adapter examples: %w", err)
	}
	return out, nil
}

// AdapterLabelSources returns, for each of the labels (failure clusters,
// or actions without one), who reported its failed steps.
func (db *DB) AdapterLabelSources(ctx context.Context, tenantID, embedderID string, labels []string) (map[string]admem.LabelSources, error) {
	out := map[string]admem.LabelSources{}
	if len(labels) == 0 {
		return out, nil
	}
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT DISTINCT coalesce(e.cluster_id::text, e.action_text, ''), coalesce(t.key_id::text, ''), `+keyAgent("t.agent_id")+`, `+trustedKey+`
			FROM adapter_examples e
			JOIN trajectories t ON t.tenant_id = e.tenant_id AND t.id::text = e.trajectory_id
			LEFT JOIN api_keys k ON k.tenant_id = e.tenant_id AND k.id = t.key_id
			WHERE e.tenant_id = $1 AND e.embedder_id = $2 AND e.failed AND coalesce(e.cluster_id::text, e.action_text, '') = ANY ($3)`,
			tenantID, embedderID, labels)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var label string
			var p admem.Provenance
			var trusted bool
			if err := rows.Scan(&label, &p.ActorKeyID, &p.AgentID, &trusted); err != nil {
				return translate(err)
			}
			ls := out[label]
			ls.Sources = append(ls.Sources, p)
			ls.Trusted = ls.Trusted || trusted
			out[label] = ls
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("store: adapter label sources: %w", err)
	}
	return out, nil
}

// GetAdapterState returns the tenant's training state (zero before the
// first training).
func (db *DB) GetAdapterState(ctx context.Context, tenantID string) (admem.AdapterTrainingState, error) {
	var s admem.AdapterTrainingState
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if s.LearningQuorum, err = learningQuorum(ctx, tx, tenantID); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT trained_through, reservoir, last_trained_at FROM adapter_state WHERE tenant_id = $1`, tenantID).
			Scan(&s.TrainedThrough, &s.Reservoir, &s.LastTrainedAt)
		if err == pgx.ErrNoRows {
			return nil
		}
		return translate(err)
	})
	if err != nil {
		return admem.AdapterTrainingState{}, fmt.Errorf("store: adapter state: %w", err)
	}
	return s, nil
}

// AdapterTrainingDue returns the tenants with at least minNew untrained
// examples, or with any and no training within maxAge.
func (db *DB) AdapterTrainingDue(ctx context.Context, minNew int, maxAge time.Duration) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT tenant_id::text FROM admem_adapter_training_due($1, $2) ORDER BY new_examples DESC`, minNew, maxAge)
	if err != nil {
		return nil, fmt.Errorf("store: adapter training due: %w", translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: adapter training due: %w", translate(err))
	}
	return ids, nil
}

// ActiveAdapterVersions returns every tenant's active version number; API
// replicas poll it as the fallback to the activation notification.
func (db *DB) ActiveAdapterVersions(ctx context.Context) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT tenant_id::text, version FROM admem_active_adapters()`)
	if err != nil {
		return nil, fmt.Errorf("store: active adapters: %w", translate(err))
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var t string
		var v int
		if err := rows.Scan(&t, &v); err != nil {
			return nil, fmt.Errorf("store: active adapters: %w", translate(err))
		}
		out[t] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: active adapters: %w", translate(err))
	}
	return out, nil
}

// SaveAdapterVersion stores a gated candidate as a new version (active or
// rejected, as v.Status says) and advances the tenant's training state, in
// one transaction. expectThrough must be the watermark training started
// from: if another trainer moved it meanwhile, nothing is saved and the
// error is a conflict. Activating retires the previous active version.
func (db *DB) SaveAdapterVersion(ctx context.Context, tenantID string, v admem.AdapterVersion, expectThrough int64, st admem.AdapterTrainingState) (admem.AdapterVersion, error) {
	var out admem.AdapterVersion
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO adapter_state (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING`, tenantID); err != nil {
			return translate(err)
		}
		var through int64
		if err := tx.QueryRow(ctx, `SELECT trained_through FROM adapter_state WHERE tenant_id = $1 FOR UPDATE`, tenantID).Scan(&through); err != nil {
			return translate(err)
		}
		if through != expectThrough {
			return admem.Errorf(admem.ECONFLICT, "another trainer advanced the adapter of this tenant")
		}
		if v.Status == admem.AdapterActive {
			if _, err := tx.Exec(ctx, `UPDATE adapter_versions SET status = 'retired' WHERE tenant_id = $1 AND status = 'active'`, tenantID); err != nil {
				return translate(err)
			}
		}
		metrics, gate := v.Metrics, v.Gate
		if metrics == nil {
			metrics = map[string]any{}
		}
		if gate == nil {
			gate = map[string]any{}
		}
		row := tx.QueryRow(ctx, `
			INSERT INTO adapter_versions (tenant_id, version, status, blob, metrics, gate, embedder_id, dim, rank, train_examples,
				activated_at, activated_by)
			SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9,
				CASE WHEN $2 = 'active' THEN now() END, CASE WHEN $2 = 'active' THEN 'gate' ELSE '' END
			FROM adapter_versions WHERE tenant_id = $1
			RETURNING `+adapterColumns,
			tenantID, string(v.Status), v.Blob, metrics, gate, v.EmbedderID, v.Dim, v.Rank, v.TrainExamples)
		var err error
		if out, err = scanAdapter(row); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE adapter_state SET trained_through = $2, reservoir = $3, last_trained_at = now(), updated_at = now()
			WHERE tenant_id = $1`, tenantID, st.TrainedThrough, st.Reservoir)
		return translate(err)
	})
	if err != nil {
		return admem.AdapterVersion{}, fmt.Errorf("store: save adapter version: %w", err)
	}
	return out, nil
}

const adapterColumns = `tenant_id, version, status, metrics, gate, embedder_id, dim, rank, train_examples, created_at, activated_at, activated_by`

func scanAdapter(row pgx.Row, extra ...any) (admem.AdapterVersion, error) {
	var v admem.AdapterVersion
	var status string
	dest := append([]any{&v.TenantID, &v.Version, &status, &v.Metrics, &v.Gate, &v.EmbedderID, &v.Dim, &v.Rank, &v.TrainExamples,
		&v.CreatedAt, &v.ActivatedAt, &v.ActivatedBy}, extra...)
	if err := row.Scan(dest...); err != nil {
		return v, translate(err)
	}
	v.Status = admem.AdapterStatus(status)
	return v, nil
}

// ActiveAdapter returns the tenant's active version with its blob, or
// ErrNotFound when the tenant has none.
func (db *DB) ActiveAdapter(ctx context.Context, tenantID string) (admem.AdapterVersion, error) {
	var v admem.AdapterVersion
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var blob []byte
		var err error
		v, err = scanAdapter(tx.QueryRow(ctx, `SELECT `+adapterColumns+`, blob FROM adapter_versions
			WHERE tenant_id = $1 AND status = 'active'`, tenantID), &blob)
		v.Blob = blob
		return err
	})
	if err != nil {
		return admem.AdapterVersion{}, fmt.Errorf("store: active adapter: %w", err)
	}
	return v, nil
}

// GetAdapterVersion returns one version, with its blob when withBlob.
func (db *DB) GetAdapterVersion(ctx context.Context, tenantID string, version int, withBlob bool) (admem.AdapterVersion, error) {
	var v admem.AdapterVersion
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		q := `SELECT ` + adapterColumns + `, CASE WHEN $3 THEN blob END FROM adapter_versions WHERE tenant_id = $1 AND version = $2`
		var blob []byte
		var err error
		v, err = scanAdapter(tx.QueryRow(ctx, q, tenantID, version, withBlob), &blob)
		v.Blob = blob
		return err
	})
	if err != nil {
		return admem.AdapterVersion{}, fmt.Errorf("store: get adapter version %d: %w", version, err)
	}
	return v, nil
}

// ListAdapterVersions pages through the tenant's versions, newest first.
func (db *DB) ListAdapterVersions(ctx context.Context, tenantID string, page admem.Page) ([]admem.AdapterVersion, string, error) {
	page = page.Normalize()
	var out []admem.AdapterVersion
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := decodeIDCursor(page.Cursor)
		if err != nil {
			return err
		}
		out, err = queryAll(ctx, tx, func(r pgx.Row) (admem.AdapterVersion, error) { return scanAdapter(r) },
			`SELECT `+adapterColumns+` FROM adapter_versions
			WHERE tenant_id = $1 AND ($2 = 0 OR version < $2) ORDER BY version DESC LIMIT $3`, tenantID, before, page.Limit+1)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list adapter versions: %w", err)
	}
	out, next := trimPage(out, page.Limit, func(v admem.AdapterVersion) string { return encodeIDCursor(int64(v.Version)) })
	return out, next, nil
}

// ActivateAdapterVersion makes version the tenant's active adapter (rollback
// or roll forward): the active one is retired and the change is audited, in
// one transaction. Activating the active version changes nothing but is
// still audited.
func (db *DB) ActivateAdapterVersion(ctx context.Context, tenantID, actorKeyID string, version int) (admem.AdapterVersion, error) {
	var v admem.AdapterVersion
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM adapter_versions WHERE tenant_id = $1 AND version = $2 FOR UPDATE`, tenantID, version).Scan(&status); err != nil {
			return translate(err)
		}
		previous := 0
		err := tx.QueryRow(ctx, `SELECT version FROM adapter_versions WHERE tenant_id = $1 AND status = 'active'`, tenantID).Scan(&previous)
		if err != nil && err != pgx.ErrNoRows {
			return translate(err)
		}
		if status != string(admem.AdapterActive) {
			if _, err := tx.Exec(ctx, `UPDATE adapter_versions SET status = 'retired' WHERE tenant_id = $1 AND status = 'active'`, tenantID); err != nil {
				return translate(err)
			}
			by := actorKeyID
			if by == "" {
				by = "admin"
			}
			if _, err := tx.Exec(ctx, `UPDATE adapter_versions SET status = 'active', activated_at = now(), activated_by = $3
				WHERE tenant_id = $1 AND version = $2`, tenantID, version, by); err != nil {
				return translate(err)
			}
		}
		if err := insertAuditAs(ctx, tx, admem.AuditEvent{TenantID: tenantID, ActorKeyID: actorKeyID, Action: "adapter.activated",
			TargetType: "adapter_version", TargetID: fmt.Sprint(version),
			Details: map[string]any{"version": version, "previous": previous, "previous_status": status}}); err != nil {
			return err
		}
		v, err = scanAdapter(tx.QueryRow(ctx, `SELECT `+adapterColumns+` FROM adapter_versions WHERE tenant_id = $1 AND version = $2`, tenantID, version))
		return err
	})
	if err != nil {
		return admem.AdapterVersion{}, fmt.Errorf("store: activate adapter version %d: %w", version, err)
	}
	return v, nil
}

// TryLockAdapterTraining takes the tenant's training lock if no other
// process holds it: a session advisory lock on a connection of its own,
// held until release is called or the process dies (its connection then
// closes and Postgres lets go). ok is false when another trainer holds it.
func (db *DB) TryLockAdapterTraining(ctx context.Context, tenantID string) (release func(), ok bool, err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: adapter training lock: %w", translate(err))
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1 || '/adapter-train', 0))`, tenantID).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("store: adapter training lock: %w", translate(err))
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1 || '/adapter-train', 0))`, tenantID); err != nil {
			// The lock may still be held: close the connection, which
			// releases it, rather than hand it back to the pool.
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	}, true, nil
}
