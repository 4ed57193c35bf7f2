package store

import (
	"context"
	"fmt"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// ReleaseQuarantine marks a quarantined entry as vouched for by the admin
// key in audit.ActorKeyID and records the release in the audit log, in one
// transaction. An entry that is not held in quarantine is a conflict.
func (db *DB) ReleaseQuarantine(ctx context.Context, tenantID, id string, audit admem.AuditEvent) (admem.Entry, error) {
	var out admem.Entry
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		cur, err := scanEntry(tx.QueryRow(ctx, `SELECT `+entryColumns+` FROM entries e WHERE e.tenant_id = $1 AND e.id = $2 FOR UPDATE`, tenantID, id))
		if err != nil {
			return err
		}
		if cur.Quarantine.Trust() != admem.TrustQuarantined {
			return &admem.Error{Code: admem.ECONFLICT, Message: "the entry is not held in quarantine"}
		}
		if out, err = scanEntry(tx.QueryRow(ctx, `UPDATE entries e SET quarantine_released_at = now(), quarantine_released_by = $3
			WHERE e.tenant_id = $1 AND e.id = $2 RETURNING `+entryColumns, tenantID, id, nullableUUID(audit.ActorKeyID))); err != nil {
			return err
		}
		audit.TenantID, audit.TargetType, audit.TargetID = tenantID, "entry", id
		if audit.Action == "" {
			audit.Action = "entry.quarantine_released"
		}
		if audit.Details == nil {
			audit.Details = map[string]any{}
		}
		audit.Details["reason"] = cur.Quarantine.Reason
		audit.Details["version"] = cur.Version
		return insertAuditAs(ctx, tx, audit)
	})
	if err != nil {
		return admem.Entry{}, fmt.Errorf("store: release entry %s: %w", id, err)
	}
	return out, nil
}
