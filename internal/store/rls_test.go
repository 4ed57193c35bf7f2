package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

func openTest(t *testing.T) *store.DB {
	t.Helper()
	return testenv.DB(t).Store(t)
}

// TestRowLevelSecurityBlocksUnfilteredQueries proves the second lock: a query
// that forgets its tenant filter still sees only the current tenant's rows,
// and a transaction with no tenant sees none.
func TestRowLevelSecurityBlocksUnfilteredQueries(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	var ids []string
	for _, name := range []string{"rls-a", "rls-b"} {
		tenantID := testenv.Tenant(t, db, name)
		ids = append(ids, tenantID)
		for i := 0; i < 2; i++ {
			if _, err := db.CreateKey(ctx, admem.APIKey{TenantID: tenantID, Name: "k", Prefix: name + "-" + string(rune('0'+i)),
				Scopes: []admem.KeyScope{admem.ScopeRead}}, []byte("h"), admem.AuditEvent{Action: "key.created"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(tenant, table string) int {
		var n int
		err := db.InTenantForTest(ctx, tenant, func(tx pgx.Tx) error {
			// Deliberately no WHERE tenant_id = …
			return tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range []string{"api_keys", "audit_log"} {
		if got := count(ids[0], table); got == 0 || got != count(ids[1], table) {
			t.Fatalf("%s: tenant a sees %d rows, tenant b %d; each should see only its own", table, got, count(ids[1], table))
		}
	}
	if n := count(ids[0], "api_keys"); n != 2 {
		t.Fatalf("tenant a sees %d keys without a filter, want its own 2", n)
	}
	// No tenant set: nothing is visible, not everything.
	var n int
	if err := db.PoolForTest().QueryRow(ctx, "SELECT count(*) FROM api_keys").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("without a tenant the app role sees %d keys, want 0", n)
	}
	// A tenant cannot write a row for another tenant.
	err := db.InTenantForTest(ctx, ids[0], func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO audit_log (tenant_id, action) VALUES ($1, 'forged')`, ids[1])
		return store.Translate(err)
	})
	if admem.ErrorCode(err) != admem.EFORBIDDEN {
		t.Fatalf("cross-tenant insert: %v, want forbidden by RLS", err)
	}
	// Only the platform setting sees all tenants, and it still sees no tenant's keys.
	var tenants, keys int
	err = db.InPlatformForTest(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM tenants").Scan(&tenants); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM api_keys").Scan(&keys)
	})
	if err != nil || tenants != 2 || keys != 0 {
		t.Fatalf("platform view: tenants=%d keys=%d err=%v, want 2 and 0", tenants, keys, err)
	}
	// The application role really lacks BYPASSRLS and owns nothing.
	var bypass bool
	if err := db.PoolForTest().QueryRow(ctx, `SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&bypass); err != nil || bypass {
		t.Fatalf("app role bypasses RLS (%v, %v)", bypass, err)
	}
}

func TestIdempotencyClaims(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	tenantID := testenv.Tenant(t, db, "idem")
	if r, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h1"), store.IdempotencyTTLForTest, time.Minute); r != nil || err != nil {
		t.Fatalf("first claim: %v %v", r, err)
	}
	if _, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h1"), store.IdempotencyTTLForTest, time.Minute); err != store.ErrIdempotencyInFlight {
		t.Fatalf("in flight: %v", err)
	}
	if err := db.CompleteIdempotent(ctx, tenantID, "k", store.IdempotentResponse{Status: 201, ContentType: "application/json", Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	r, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h1"), store.IdempotencyTTLForTest, time.Minute)
	if err != nil || r == nil || r.Status != 201 || string(r.Body) != "x" {
		t.Fatalf("replay: %+v %v", r, err)
	}
	if _, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h2"), store.IdempotencyTTLForTest, time.Minute); err != store.ErrIdempotencyMismatch {
		t.Fatalf("mismatch: %v", err)
	}
	// Aborting a claim frees the key.
	if _, err := db.BeginIdempotent(ctx, tenantID, "k2", []byte("h"), store.IdempotencyTTLForTest, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := db.AbortIdempotent(ctx, tenantID, "k2"); err != nil {
		t.Fatal(err)
	}
	if r, err := db.BeginIdempotent(ctx, tenantID, "k2", []byte("other"), store.IdempotencyTTLForTest, time.Minute); r != nil || err != nil {
		t.Fatalf("claim after abort: %v %v", r, err)
	}
}

// TestIdempotencyClaimOfADeadRequestLapses: a claim whose request stopped
// renewing it (its process died before completing or releasing it) lapses
// when its lease runs out, and a retry then claims the key instead of
// meeting 409 for the key's whole lifetime. A claim still renewed
// conflicts whatever its age, and a completed request replays whatever its
// age within the key's retention.
func TestIdempotencyClaimOfADeadRequestLapses(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	db := pg.Store(t)
	ctx := context.Background()
	tenantID := testenv.Tenant(t, db, "idem-lease")
	ttl := 24 * time.Hour
	if _, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h"), ttl, time.Minute); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	set := func(key, column string, ago time.Duration) {
		t.Helper()
		if _, err := owner.Exec(ctx, `UPDATE idempotency_keys SET `+column+` = now() - $3::interval WHERE tenant_id = $1 AND key = $2`,
			tenantID, key, ago.String()); err != nil {
			t.Fatal(err)
		}
	}
	// A request running for an hour, renewing its claim.
	set("k", "created_at", time.Hour)
	if err := db.RenewIdempotent(ctx, tenantID, "k", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h"), ttl, time.Minute); err != store.ErrIdempotencyInFlight {
		t.Fatalf("a claim an hour old and still renewed: %v, want in flight", err)
	}
	// Its process died: no renewal since its lease ran out.
	set("k", "lease_until", time.Second)
	if r, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h"), ttl, time.Minute); r != nil || err != nil {
		t.Fatalf("a claim whose lease ran out: %v %v, want the key claimed again", r, err)
	}
	// A completed request replays at any age within the retention.
	if err := db.CompleteIdempotent(ctx, tenantID, "k", store.IdempotentResponse{Status: 201, ContentType: "application/json", Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	set("k", "created_at", ttl-time.Minute)
	if r, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h"), ttl, time.Minute); err != nil || r == nil || r.Status != 201 {
		t.Fatalf("a completed request near the end of its retention: %+v %v, want its response", r, err)
	}
	set("k", "created_at", ttl+time.Minute)
	if r, err := db.BeginIdempotent(ctx, tenantID, "k", []byte("h"), ttl, time.Minute); r != nil || err != nil {
		t.Fatalf("a key past its retention: %+v %v, want it claimed anew", r, err)
	}
}
