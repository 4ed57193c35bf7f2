package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
	"github.com/jackc/pgx/v5"
)

// TestTrajectoryTablesAreTenantIsolatedAndAppendOnly checks the second lock
// on every table of migration 000003 (a query without a tenant filter sees
// only the transaction's tenant), and that the application role cannot
// change or delete recorded steps or a closed trajectory.
func TestTrajectoryTablesAreTenantIsolatedAndAppendOnly(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	var tenants []string
	var trajIDs []string
	for _, name := range []string{"traj-rls-a", "traj-rls-b"} {
		ten, err := db.CreateTenant(ctx, admem.Tenant{Name: name, Status: admem.TenantActive}, admem.AuditEvent{Action: "tenant.created"})
		if err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, ten.ID)
		ts, err := db.RecordTrajectories(ctx, ten.ID, []store.NewTrajectory{{
			Trajectory: admem.Trajectory{Task: "t", Outcome: admem.OutcomeFailure, Steps: []admem.Step{
				{Action: "a", Status: admem.StepOK}, {Action: "b", Status: admem.StepError, Error: "Error: x"}}},
			OutcomeSource: admem.OutcomeByAgent, Signatures: []string{"", "sig"}}})
		if err != nil {
			t.Fatal(err)
		}
		trajIDs = append(trajIDs, ts[0].ID)
		if err := db.Learn(ctx, ten.ID, "c", "00000000-0000-4000-8000-00000000000"+string(rune('1'+len(tenants))), func(lt *store.LearnTx) error {
			_, err := lt.UpsertItem(admem.KindMistake, "sig", "test", func(*store.LearnedItem) (store.LearnedItem, bool, error) {
				return store.LearnedItem{State: []byte(`{}`), Content: "note", Count: 1}, true, nil
			})
			if err != nil {
				return err
			}
			_, err = lt.AddOccurrence("sig", ts[0].ID, 1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveRecall(ctx, store.RecallRecord{TenantID: ten.ID, Task: "t"}); err != nil {
			t.Fatal(err)
		}
		if err := db.AddDeadLetter(ctx, admem.DeadLetter{Event: admem.Event{ID: "00000000-0000-4000-8000-0000000000ff", TenantID: ten.ID, Type: "x"}, Attempts: 5}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(tenant, table string) int {
		var n int
		if err := db.InTenantForTest(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n) // deliberately unfiltered
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range []string{"trajectories", "trajectory_steps", "outbox", "processed_events", "dead_letters",
		"learned_items", "learned_item_versions", "mistake_occurrences", "recalls"} {
		a, b := count(tenants[0], table), count(tenants[1], table)
		if a == 0 || a != b {
			t.Errorf("%s: tenant a sees %d rows, tenant b %d; each should see only its own", table, a, b)
		}
		var none int
		if err := db.InPlatformForTest(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&none)
		}); err != nil {
			t.Fatal(err)
		}
		if none != 0 {
			t.Errorf("%s: a transaction without a tenant sees %d rows", table, none)
		}
	}
	// Another tenant's trajectory is not found, not visible.
	if _, err := db.GetTrajectory(ctx, tenants[1], trajIDs[0]); !errors.Is(err, admem.ErrNotFound) {
		t.Fatalf("cross-tenant get: %v", err)
	}
	// Append-only for the application role.
	for _, stmt := range []string{
		"UPDATE trajectory_steps SET error = 'rewritten'",
		"DELETE FROM trajectory_steps",
		"DELETE FROM trajectories",
		"UPDATE trajectories SET task = 'rewritten'",
		"UPDATE outbox SET relayed_at = now()",
		"DELETE FROM processed_events",
	} {
		err := db.InTenantForTest(ctx, tenants[0], func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, stmt)
			return store.Translate(err)
		})
		if err == nil {
			t.Errorf("%s: allowed", stmt)
		}
	}
}

func TestOutboxAndLedgerPurges(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	ten, err := db.CreateTenant(ctx, admem.Tenant{Name: "purge", Status: admem.TenantActive}, admem.AuditEvent{Action: "tenant.created"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordTrajectories(ctx, ten.ID, []store.NewTrajectory{{Trajectory: admem.Trajectory{Task: "t", Outcome: admem.OutcomeSuccess,
		Steps: []admem.Step{{Action: "a", Status: admem.StepOK}}}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Learn(ctx, ten.ID, "c", "00000000-0000-4000-8000-000000000001", func(*store.LearnTx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// Pending events are never purged; relayed ones are, once old enough.
	if n, err := db.PurgeOutbox(ctx, time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("purged %d pending events (%v)", n, err)
	}
	if _, err := db.RelayOutbox(ctx, 10, nil, func([]admem.Event) ([]string, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PurgeOutbox(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("purged %d recent events (%v)", n, err)
	}
	if n, err := db.PurgeOutbox(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("purged %d relayed events (%v), want 1", n, err)
	}
	if n, err := db.PurgeProcessedEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("purged %d ledger rows (%v), want 1", n, err)
	}
}
