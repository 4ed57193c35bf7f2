package http_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/jackc/pgx/v5"
)

// TestIdempotentRetryNeverRunsTwice drives a create whose first attempt
// is held up in the database (a table lock the test holds) far beyond the
// claim's lease and beyond any fixed age a claim could be given: a retry
// meanwhile gets 409 with Retry-After, not a second execution, because the
// running request renews its claim. Once the first attempt completed,
// retries replay its response at any age within the key's retention.
func TestIdempotentRetryNeverRunsTwice(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_IDEMPOTENCY_LEASE", "1s"))
	tenantID, admin := env.Tenant(t, "idem-slow")
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, env.PG.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	lock, err := pgx.Connect(ctx, env.PG.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(ctx)
	tx, err := lock.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // released below
	if _, err := tx.Exec(ctx, `LOCK TABLE trajectories IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	body := bookingTrajectory("book a table for two", "success")
	first := make(chan apitest.Response, 1)
	go func() { first <- env.Do(t, "POST", "/v1/trajectories", admin, body, "Idempotency-Key", "slow-1") }()
	// Wait until the first attempt holds the key and waits on the lock.
	deadline := time.Now().Add(time.Minute) // liveness on a loaded machine
	for {
		var claimed, waiting bool
		if err := owner.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM idempotency_keys WHERE tenant_id = $1 AND key = 'slow-1' AND status IS NULL),
			EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
				AND query LIKE '%trajectories%')`,
			tenantID).Scan(&claimed, &waiting); err != nil {
			t.Fatal(err)
		}
		if claimed && waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first attempt never reached the locked table")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Three leases pass, and the claim looks an hour old: only renewal
	// keeps it.
	time.Sleep(3 * time.Second)
	if _, err := owner.Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - interval '1 hour'
		WHERE tenant_id = $1 AND key = 'slow-1'`, tenantID); err != nil {
		t.Fatal(err)
	}
	retry := env.Do(t, "POST", "/v1/trajectories", admin, body, "Idempotency-Key", "slow-1")
	if retry.Status != http.StatusConflict || retry.Header.Get("Retry-After") == "" {
		t.Fatalf("retry while the first attempt runs: %d (Retry-After %q) %s, want 409 with Retry-After",
			retry.Status, retry.Header.Get("Retry-After"), retry.Body)
	}
	retry.Problem(t)

	if err := tx.Rollback(ctx); err != nil { // the database frees up
		t.Fatal(err)
	}
	done := <-first
	if done.Status != http.StatusCreated {
		t.Fatalf("first attempt: %d %s", done.Status, done.Body)
	}
	// Completed: replayed, however old, within the retention.
	for _, age := range []string{"0", "23 hours"} {
		if _, err := owner.Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - $2::interval
			WHERE tenant_id = $1 AND key = 'slow-1'`, tenantID, age); err != nil {
			t.Fatal(err)
		}
		again := env.Do(t, "POST", "/v1/trajectories", admin, body, "Idempotency-Key", "slow-1")
		if again.Status != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(done.Body) {
			t.Fatalf("retry of the completed request (%s old): %d %s, want the first response replayed", age, again.Status, again.Body)
		}
	}
	var n int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM trajectories WHERE tenant_id = $1`, tenantID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d trajectories stored, want 1: a retry ran the create again", n)
	}
}
