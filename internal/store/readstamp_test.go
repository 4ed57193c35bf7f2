package store_test

import (
	"context"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// A one-round-trip read runs under its tenant's row-level security, and
// the tenant setting does not outlive it on the pooled connection: the
// next user of the connection sees no tenant.
func TestOneTripReadIsTenantScoped(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	db, err := store.Open(context.Background(), pg.AppURL, 1) // one connection: every call reuses it
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, b := testenv.Tenant(t, db, "trip-a"), testenv.Tenant(t, db, "trip-b")
	for _, tenant := range []string{a, b} {
		ls, err := db.LearningSettings(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		ls.LearningQuorum = 3 // moves the tenant's guard stamp
		if _, err := db.PutLearningSettings(ctx, tenant, ls, admem.AuditEvent{Action: "learning.settings_updated"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tenant := range []string{a, b} {
		var setting string
		var rows int
		batch := &pgx.Batch{}
		batch.Queue(`SELECT current_setting('admem.tenant_id')`)
		batch.Queue(`SELECT count(*) FROM learned_versions`) // no tenant filter: RLS alone
		err := db.InTenantOneTripForTest(ctx, tenant, batch, func(br pgx.BatchResults) error {
			if err := br.QueryRow().Scan(&setting); err != nil {
				return err
			}
			return br.QueryRow().Scan(&rows)
		})
		if err != nil {
			t.Fatal(err)
		}
		if setting != tenant || rows != 1 {
			t.Fatalf("one-trip read for %s: setting %q, %d learned_versions rows visible (want its own 1)", tenant, setting, rows)
		}
		var after string
		if err := db.PoolForTest().QueryRow(ctx, `SELECT coalesce(current_setting('admem.tenant_id', true), '')`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != "" {
			t.Fatalf("the tenant setting outlived the read: %q", after)
		}
		st, err := db.GuardStamp(ctx, tenant)
		if err != nil || st.Policy == 0 {
			t.Fatalf("guard stamp of %s after a quorum change: %+v %v", tenant, st, err)
		}
	}
	// Settings go with the BEGIN as literals: one that could end the
	// literal is refused, never run.
	if err := db.InTenantForTest(ctx, a+"'; DROP TABLE tenants; --", func(pgx.Tx) error { return nil }); err == nil {
		t.Fatal("a tenant id with a quote opened a transaction")
	}
	if _, err := db.LearnedVersion(ctx, a); err != nil {
		t.Fatalf("read after a refused one: %v", err)
	}
	// A failed statement leaves the connection usable for the next read.
	bad := &pgx.Batch{}
	bad.Queue(`SELECT 1/0`)
	if err := db.InTenantOneTripForTest(ctx, a, bad, func(br pgx.BatchResults) error { _, err := br.Exec(); return err }); err == nil {
		t.Fatal("a division by zero did not fail")
	}
	if _, err := db.LearnedVersion(ctx, a); err != nil {
		t.Fatalf("read after a failed one: %v", err)
	}
}
