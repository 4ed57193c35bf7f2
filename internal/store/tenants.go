package store

import (
	"context"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

const tenantColumns = `id, name, display_name, status, is_platform, rate_rps, rate_burst, created_at, updated_at`

func scanTenant(row pgx.Row) (admem.Tenant, error) {
	var t admem.Tenant
	var status string
	err := row.Scan(&t.ID, &t.Name, &t.DisplayName, &status, &t.IsPlatform, &t.RateRPS, &t.RateBurst, &t.CreatedAt, &t.UpdatedAt)
	t.Status = admem.TenantStatus(status)
	return t, translate(err)
}

// CreateTenant inserts a tenant and audits it under the new tenant.
func (db *DB) CreateTenant(ctx context.Context, t admem.Tenant, audit admem.AuditEvent) (admem.Tenant, error) {
	var out admem.Tenant
	err := db.inPlatform(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanTenant(tx.QueryRow(ctx, `
			INSERT INTO tenants (name, display_name, status, is_platform, rate_rps, rate_burst)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+tenantColumns,
			t.Name, t.DisplayName, string(t.Status), t.IsPlatform, t.RateRPS, t.RateBurst))
		if err != nil {
			return err
		}
		audit.TenantID, audit.TargetID = out.ID, out.ID
		return insertAuditAs(ctx, tx, audit)
	})
	if err != nil {
		return admem.Tenant{}, fmt.Errorf("store: create tenant %s: %w", t.Name, err)
	}
	return out, nil
}

// PlatformTenant returns the platform tenant.
func (db *DB) PlatformTenant(ctx context.Context) (admem.Tenant, error) {
	var out admem.Tenant
	err := db.inPlatform(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE is_platform`))
		return err
	})
	if err != nil {
		return admem.Tenant{}, fmt.Errorf("store: platform tenant: %w", err)
	}
	return out, nil
}

// GetTenant returns one tenant. Without platform rights only the caller's own
// tenant is visible (RLS), so asking for another one is ErrNotFound.
func (db *DB) GetTenant(ctx context.Context, p admem.Principal, id string) (admem.Tenant, error) {
	var out admem.Tenant
	run := func(tx pgx.Tx) error {
		var err error
		out, err = scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
		return err
	}
	var err error
	if p.Can(admem.ScopePlatform) {
		err = db.inPlatform(ctx, run)
	} else {
		if id != p.TenantID {
			return admem.Tenant{}, admem.ErrNotFound
		}
		err = db.inTenant(ctx, p.TenantID, run)
	}
	if err != nil {
		return admem.Tenant{}, fmt.Errorf("store: get tenant %s: %w", id, err)
	}
	return out, nil
}

// ListTenants pages through all tenants, newest first (platform only).
func (db *DB) ListTenants(ctx context.Context, page admem.Page) ([]admem.Tenant, string, error) {
	page = page.Normalize()
	var out []admem.Tenant
	err := db.inPlatform(ctx, func(tx pgx.Tx) error {
		args := []any{page.Limit + 1}
		where := ""
		if page.Cursor != "" {
			ts, id, err := decodeTimeCursor(page.Cursor)
			if err != nil {
				return err
			}
			where = "WHERE (created_at, id) < ($2, $3)"
			args = append(args, ts, id)
		}
		var err error
		out, err = queryAll(ctx, tx, scanTenant, `SELECT `+tenantColumns+` FROM tenants `+where+` ORDER BY created_at DESC, id DESC LIMIT $1`, args...)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list tenants: %w", err)
	}
	out, next := trimPage(out, page.Limit, func(t admem.Tenant) string { return encodeTimeCursor(t.CreatedAt, t.ID) })
	return out, next, nil
}

// UpdateTenant applies u and audits it under the tenant.
func (db *DB) UpdateTenant(ctx context.Context, id string, u admem.TenantUpdate, audit admem.AuditEvent) (admem.Tenant, error) {
	var out admem.Tenant
	err := db.inPlatform(ctx, func(tx pgx.Tx) error {
		var status *string
		if u.Status != nil {
			s := string(*u.Status)
			status = &s
		}
		var err error
		out, err = scanTenant(tx.QueryRow(ctx, `
			UPDATE tenants SET
			  display_name = coalesce($2, display_name),
			  status = coalesce($3, status),
			  rate_rps = coalesce($4, rate_rps),
			  rate_burst = coalesce($5, rate_burst),
			  updated_at = $6
			WHERE id = $1 RETURNING `+tenantColumns,
			id, u.DisplayName, status, u.RateRPS, u.RateBurst, time.Now()))
		if err != nil {
			return err
		}
		if out.IsPlatform && out.Status == admem.TenantDisabled {
			return admem.Errorf(admem.ECONFLICT, "the platform tenant cannot be disabled")
		}
		audit.TenantID, audit.TargetID = out.ID, out.ID
		return insertAuditAs(ctx, tx, audit)
	})
	if err != nil {
		return admem.Tenant{}, fmt.Errorf("store: update tenant %s: %w", id, err)
	}
	return out, nil
}
