package faulttest_test

import (
	"context"
	"testing"
	"time"

	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// processedCount counts the tenant's events the learner committed.
func processedCount(t *testing.T, owner *pgx.Conn, tenantID string) int {
	t.Helper()
	var n int
	if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM processed_events WHERE tenant_id = $1`, tenantID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitProcessed waits until the learner committed more than n of the
// tenant's events.
func waitProcessed(t *testing.T, owner *pgx.Conn, tenantID string, n int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for processedCount(t, owner, tenantID) <= n {
		if time.Now().After(deadline) {
			t.Fatalf("the worker never processed more than %d events", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWorkerKilledMidBatch kills worker processes with SIGKILL while
// trajectories keep arriving through the API and the worker is learning:
// the first worker dies, a second one takes over and is killed in turn,
// then the first is restarted. What the dead ones left (outbox rows claimed
// by a relay that never committed, stream entries read and never
// acknowledged, effects committed and not acknowledged) is relayed or
// reclaimed; every effect must be there exactly once.
func TestWorkerKilledMidBatch(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	redisURL, prefix := testenv.Redis(t)
	d := newDeployment(t, pg, redisURL, prefix, nil)
	api := d.startAPI()
	w1 := d.startWorker()
	tenantID, key := d.tenant(api, "killed-worker", nil)
	owner, err := pgx.Connect(context.Background(), pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())

	start := time.Now()
	w := newWorkload("killed-worker")
	const n = 90
	deadline := time.Now().Add(2 * time.Minute)
	done := make(chan error, 1)
	go func() {
		done <- w.run(t, d, func(int) *testenv.Process { return api }, key, 0, n, 4, deadline)
	}()

	waitProcessed(t, owner, tenantID, 20)
	w1.Kill()
	t.Logf("worker 1 killed after %d events processed (%v)", processedCount(t, owner, tenantID), time.Since(start).Round(time.Millisecond))
	w2 := d.startWorker()
	waitProcessed(t, owner, tenantID, processedCount(t, owner, tenantID)+20)
	w2.Kill()
	t.Logf("worker 2 killed after %d events processed (%v)", processedCount(t, owner, tenantID), time.Since(start).Round(time.Millisecond))
	w1.Start(t)

	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("all acknowledged after %v", time.Since(start).Round(time.Millisecond))
	// What a dead consumer read stays pending for the claim timeout
	// (ADMEM_EVENT_CLAIM_IDLE) before the live one reclaims it.
	d.waitLearnt(api, key, 2*time.Minute)
	t.Logf("all learnt after %v; statuses:%s", time.Since(start).Round(time.Millisecond), w.statusSummary())
	checkEffects(t, pg, tenantID, w)
}
