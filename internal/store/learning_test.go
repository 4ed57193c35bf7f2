package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// TestLearningTablesAreTenantIsolated proves row-level security on the
// failure-learning tables: unfiltered queries see only the current
// tenant's clusters, examples and adapter versions, a transaction without
// a tenant sees none, and the store's lookups by id do not cross tenants.
func TestLearningTablesAreTenantIsolated(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	var ids []string
	var clusterIDs []string
	for _, name := range []string{"learn-a", "learn-b"} {
		tenantID := testenv.Tenant(t, db, name)
		ids = append(ids, tenantID)
		steps := []admem.LabelledStep{
			{TrajectoryID: "t1", StepIndex: 0, EmbedderID: "e", Context: []float32{1, 0}, Action: []float32{0, 1}, Failed: true,
				SignatureID: "s", Signature: "x: Error", Tool: "x", SeenAt: time.Now()},
			{TrajectoryID: "t1", StepIndex: 1, EmbedderID: "e", Context: []float32{1, 0}, Action: []float32{1, 0}},
		}
		var cid string
		assign := func(s admem.LabelledStep, same []admem.FailureCluster) admem.FailureCluster {
			if len(same) != 0 {
				t.Errorf("tenant %s sees another tenant's cluster", name)
			}
			return admem.FailureCluster{SignatureID: s.SignatureID, Signature: s.Signature, Tool: s.Tool, EmbedderID: "e",
				Centroid: s.Context, Count: 1, FirstSeenAt: s.SeenAt, LastSeenAt: s.SeenAt}
		}
		n, err := db.RecordLabelledSteps(ctx, tenantID, steps, assign)
		if err != nil || n != 2 {
			t.Fatalf("record: %d %v", n, err)
		}
		// Recording the same steps again adds nothing.
		if n, err := db.RecordLabelledSteps(ctx, tenantID, steps, assign); err != nil || n != 0 {
			t.Fatalf("re-record: %d %v", n, err)
		}
		cs, _, err := db.ListFailureClusters(ctx, tenantID, admem.FailureFilter{}, admem.Page{})
		if err != nil || len(cs) != 1 || cs[0].Count != 1 || len(cs[0].Centroid) != 2 {
			t.Fatalf("clusters: %+v %v", cs, err)
		}
		cid = cs[0].ID
		clusterIDs = append(clusterIDs, cid)
		if _, err := db.SaveAdapterVersion(ctx, tenantID, admem.AdapterVersion{Status: admem.AdapterActive, Blob: []byte("x"), EmbedderID: "e", Dim: 2},
			0, admem.AdapterTrainingState{TrainedThrough: 1}); err != nil {
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
	for _, table := range []string{"failure_clusters", "adapter_examples", "adapter_versions", "adapter_state"} {
		if a, b := count(ids[0], table), count(ids[1], table); a == 0 || a != b {
			t.Fatalf("%s: tenant a sees %d rows, b %d; each should see only its own", table, a, b)
		}
		var n int
		if err := db.PoolForTest().QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s without a tenant: %d rows (%v), want 0", table, n, err)
		}
	}
	if _, err := db.GetFailureCluster(ctx, ids[0], clusterIDs[1]); !errors.Is(err, admem.ErrNotFound) {
		t.Fatalf("tenant a reads b's cluster: %v", err)
	}
	if _, err := db.MergeFailureClusters(ctx, ids[0], "", clusterIDs[0], clusterIDs[1], nil); !errors.Is(err, admem.ErrNotFound) {
		t.Fatalf("tenant a merges b's cluster: %v", err)
	}
	// Writing a row for another tenant fails the RLS check.
	err := db.InTenantForTest(ctx, ids[0], func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO adapter_versions (tenant_id, version, status, blob, embedder_id, dim, rank) VALUES ($1, 9, 'rejected', 'x', 'e', 2, 0)`, ids[1])
		return err
	})
	if err == nil {
		t.Fatal("inserted an adapter version for another tenant")
	}
	// A trainer that lost the race to another trainer saves nothing.
	if _, err := db.SaveAdapterVersion(ctx, ids[0], admem.AdapterVersion{Status: admem.AdapterActive, Blob: []byte("y"), EmbedderID: "e", Dim: 2},
		0, admem.AdapterTrainingState{TrainedThrough: 2}); !errors.Is(err, admem.ErrConflict) {
		t.Fatalf("stale watermark: %v, want conflict", err)
	}
	active, err := db.ActiveAdapterVersions(ctx)
	if err != nil || len(active) != 2 || active[ids[0]] != 1 || active[ids[1]] != 1 {
		t.Fatalf("active versions across tenants: %v %v", active, err)
	}
}
