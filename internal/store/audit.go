package store

import (
	"context"
	"fmt"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// insertAuditAs writes an audit record inside tx. The record's tenant may
// differ from the transaction's (a platform admin acting on a tenant), so the
// tenant setting is switched for the insert and restored after.
func insertAuditAs(ctx context.Context, tx pgx.Tx, e admem.AuditEvent) error {
	if e.RequestID == "" {
		e.RequestID = admem.RequestIDFrom(ctx)
	}
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	var actor *string
	if e.ActorKeyID != "" {
		actor = &e.ActorKeyID
	}
	var prev string
	if err := tx.QueryRow(ctx, `SELECT coalesce(current_setting('admem.tenant_id', true), '')`).Scan(&prev); err != nil {
		return translate(err)
	}
	if prev != e.TenantID {
		if _, err := tx.Exec(ctx, `SELECT set_config('admem.tenant_id', $1, true)`, e.TenantID); err != nil {
			return translate(err)
		}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO audit_log (tenant_id, actor_key_id, action, target_type, target_id, details, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.TenantID, actor, e.Action, e.TargetType, e.TargetID, details, e.RequestID); err != nil {
		return translate(err)
	}
	if prev != e.TenantID {
		if _, err := tx.Exec(ctx, `SELECT set_config('admem.tenant_id', $1, true)`, prev); err != nil {
			return translate(err)
		}
	}
	return nil
}

// AppendAudit records one administrative action on its own.
func (db *DB) AppendAudit(ctx context.Context, e admem.AuditEvent) error {
	if err := db.inTenant(ctx, e.TenantID, func(tx pgx.Tx) error { return insertAuditAs(ctx, tx, e) }); err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

// ListAudit pages through the tenant's audit log, newest first.
func (db *DB) ListAudit(ctx context.Context, tenantID string, f admem.AuditFilter, page admem.Page) ([]admem.AuditEvent, string, error) {
	page = page.Normalize()
	var out []admem.AuditEvent
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := decodeIDCursor(page.Cursor)
		if err != nil {
			return err
		}
		out, err = queryAll(ctx, tx, func(r pgx.Row) (admem.AuditEvent, error) {
			var e admem.AuditEvent
			err := r.Scan(&e.ID, &e.TenantID, &e.ActorKeyID, &e.Action, &e.TargetType, &e.TargetID, &e.Details, &e.RequestID, &e.CreatedAt)
			return e, translate(err)
		}, `
			SELECT id, tenant_id, coalesce(actor_key_id::text, ''), action, target_type, target_id, details, request_id, created_at
			FROM audit_log
			WHERE tenant_id = $1 AND ($2 = 0 OR id < $2) AND ($3 = '' OR action = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)
			ORDER BY id DESC LIMIT $5`, tenantID, before, f.Action, f.Since, page.Limit+1)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	out, next := trimPage(out, page.Limit, func(e admem.AuditEvent) string { return encodeIDCursor(e.ID) })
	return out, next, nil
}
