package store

import (
	"context"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

const keyColumns = `id, tenant_id, name, prefix, scopes, coalesce(created_by::text, ''), created_at, expires_at, revoked_at, last_used_at, trusted_for_learning, coalesce(agent_id, '')`

func scanKey(row pgx.Row) (admem.APIKey, error) {
	var k admem.APIKey
	var scopes []string
	err := row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &scopes, &k.CreatedBy, &k.CreatedAt, &k.ExpiresAt, &k.RevokedAt, &k.LastUsedAt, &k.TrustedForLearning, &k.AgentID)
	for _, s := range scopes {
		k.Scopes = append(k.Scopes, admem.KeyScope(s))
	}
	return k, translate(err)
}

func scopeStrings(s []admem.KeyScope) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

// CreateKey stores a key (its secret only as a hash) and audits it, in one
// transaction.
func (db *DB) CreateKey(ctx context.Context, k admem.APIKey, secretHash []byte, audit admem.AuditEvent) (admem.APIKey, error) {
	var out admem.APIKey
	err := db.inTenant(ctx, k.TenantID, func(tx pgx.Tx) error {
		var createdBy *string
		if k.CreatedBy != "" {
			createdBy = &k.CreatedBy
		}
		var err error
		out, err = scanKey(tx.QueryRow(ctx, `
			INSERT INTO api_keys (tenant_id, name, prefix, secret_hash, scopes, created_by, expires_at, agent_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+keyColumns,
			k.TenantID, k.Name, k.Prefix, secretHash, scopeStrings(k.Scopes), createdBy, k.ExpiresAt, nullableText(k.AgentID)))
		if err != nil {
			return err
		}
		audit.TenantID, audit.TargetType, audit.TargetID = k.TenantID, "api_key", out.ID
		return insertAuditAs(ctx, tx, audit)
	})
	if err != nil {
		return admem.APIKey{}, fmt.Errorf("store: create key: %w", err)
	}
	return out, nil
}

// GetKey returns one key of the tenant.
func (db *DB) GetKey(ctx context.Context, tenantID, id string) (admem.APIKey, error) {
	var out admem.APIKey
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		return err
	})
	if err != nil {
		return admem.APIKey{}, fmt.Errorf("store: get key %s: %w", id, err)
	}
	return out, nil
}

// ListKeys pages through the tenant's keys, newest first.
func (db *DB) ListKeys(ctx context.Context, tenantID string, page admem.Page) ([]admem.APIKey, string, error) {
	page = page.Normalize()
	var out []admem.APIKey
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		args := []any{tenantID, page.Limit + 1}
		where := ""
		if page.Cursor != "" {
			ts, id, err := decodeTimeCursor(page.Cursor)
			if err != nil {
				return err
			}
			where = "AND (created_at, id) < ($3, $4)"
			args = append(args, ts, id)
		}
		var err error
		out, err = queryAll(ctx, tx, scanKey, `SELECT `+keyColumns+` FROM api_keys WHERE tenant_id = $1 `+where+`
			ORDER BY created_at DESC, id DESC LIMIT $2`, args...)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list keys: %w", err)
	}
	out, next := trimPage(out, page.Limit, func(k admem.APIKey) string { return encodeTimeCursor(k.CreatedAt, k.ID) })
	return out, next, nil
}

// RevokeKey marks a key revoked (idempotently: a second revoke keeps the first
// time) and audits it.
func (db *DB) RevokeKey(ctx context.Context, tenantID, id string, audit admem.AuditEvent) (admem.APIKey, error) {
	var out admem.APIKey
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanKey(tx.QueryRow(ctx, `
			UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
			WHERE tenant_id = $1 AND id = $2 RETURNING `+keyColumns, tenantID, id))
		if err != nil {
			return err
		}
		audit.TenantID, audit.TargetType, audit.TargetID = tenantID, "api_key", id
		return insertAuditAs(ctx, tx, audit)
	})
	if err != nil {
		return admem.APIKey{}, fmt.Errorf("store: revoke key %s: %w", id, err)
	}
	return out, nil
}

// SetKeyTrust marks a key of the tenant trusted for learning, or not, and
// audits it: what a trusted key reports counts on its own, as independent
// sources' reports do.
func (db *DB) SetKeyTrust(ctx context.Context, tenantID, id string, trusted bool, audit admem.AuditEvent) (admem.APIKey, error) {
	var out admem.APIKey
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanKey(tx.QueryRow(ctx, `UPDATE api_keys SET trusted_for_learning = $3
			WHERE tenant_id = $1 AND id = $2 RETURNING `+keyColumns, tenantID, id, trusted))
		if err != nil {
			return err
		}
		audit.TenantID, audit.TargetType, audit.TargetID = tenantID, "api_key", id
		audit.Details = map[string]any{"trusted_for_learning": trusted}
		return insertAuditAs(ctx, tx, audit)
	})
	if err != nil {
		return admem.APIKey{}, fmt.Errorf("store: set key trust %s: %w", id, err)
	}
	return out, nil
}

// LookupKey finds a key by its public prefix across tenants. It runs through
// a narrow SECURITY DEFINER function because the tenant is not known yet.
func (db *DB) LookupKey(ctx context.Context, prefix string) (admem.KeyRecord, error) {
	var a admem.KeyRecord
	var scopes []string
	var status string
	err := db.pool.QueryRow(ctx, `SELECT id, tenant_id, secret_hash, scopes, expires_at, revoked_at,
		tenant_status, is_platform, rate_rps, rate_burst FROM admem_lookup_key($1)`, prefix).Scan(
		&a.Key.ID, &a.Key.TenantID, &a.SecretHash, &scopes, &a.Key.ExpiresAt, &a.Key.RevokedAt,
		&status, &a.IsPlatform, &a.RateRPS, &a.RateBurst)
	if err != nil {
		return admem.KeyRecord{}, fmt.Errorf("store: lookup key: %w", translate(err))
	}
	a.Key.Prefix = prefix
	a.TenantStatus = admem.TenantStatus(status)
	for _, s := range scopes {
		a.Key.Scopes = append(a.Key.Scopes, admem.KeyScope(s))
	}
	return a, nil
}

// TouchKey records that the key was used at t. It only writes when the stored
// time is older than a minute, so a busy key does not turn every request into
// a row update.
func (db *DB) TouchKey(ctx context.Context, tenantID, id string, t time.Time) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE api_keys SET last_used_at = $3
			WHERE tenant_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < $3::timestamptz - interval '1 minute')`,
			tenantID, id, t)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("store: touch key %s: %w", id, err)
	}
	return nil
}
