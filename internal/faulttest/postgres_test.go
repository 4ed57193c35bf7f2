package faulttest_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// reader keeps reading through the API until stopped and counts the
// statuses; every answer must be 200, or 503 with Retry-After.
type reader struct {
	stop                     chan struct{}
	wg                       sync.WaitGroup
	ok, unavailable, refused atomic.Int64
}

func startReader(t *testing.T, d *deployment, api *testenv.Process, key string) *reader {
	r := &reader{stop: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		paths := []string{"/v1/trajectories?limit=5", "/v1/entries?limit=5", "/v1/learning/status", "/v1/failures"}
		for i := 0; ; i++ {
			select {
			case <-r.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := d.send(ctx, api, "GET", paths[i%len(paths)], key, nil)
			cancel()
			switch {
			case err != nil:
				r.refused.Add(1)
			case resp.Status == http.StatusOK:
				r.ok.Add(1)
			case resp.Status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
				r.unavailable.Add(1)
			default:
				t.Errorf("GET %s while Postgres restarts: %d %s", paths[i%len(paths)], resp.Status, resp.Body)
			}
		}
	}()
	return r
}

func (r *reader) Stop() { close(r.stop); r.wg.Wait() }

// TestPostgresRestartedUnderLoad restarts the database twice while
// trajectories keep arriving through the API and the API is read from:
// a clean restart (pg_ctl stop -m fast, down a few seconds) and a crash
// (-m immediate, recovery at start). Clients meet 503 with Retry-After,
// never another 5xx; retried with their Idempotency-Key, every write is
// acknowledged once; the API and the worker reconnect by themselves and
// every effect is there exactly once.
func TestPostgresRestartedUnderLoad(t *testing.T) {
	t.Parallel()
	pg := testenv.PrivatePostgres(t)
	redisURL, prefix := testenv.Redis(t)
	d := newDeployment(t, pg.Postgres, redisURL, prefix, nil)
	api := d.startAPI()
	d.startWorker()
	tenantID, key := d.tenant(api, "pg-restart", nil)
	w := newWorkload("pg-restart")
	at := func() *testenv.Process { return api }

	rd := startReader(t, d, api, key)
	var feeders []*feeder
	for c := 0; c < 2; c++ {
		feeders = append(feeders, w.feed(t, d, at, key, c*100000, 50*time.Millisecond))
	}
	time.Sleep(2 * time.Second)
	for _, fault := range []struct {
		mode string
		down time.Duration
	}{{"fast", 4 * time.Second}, {"immediate", time.Second}} {
		if err := pg.Stop(fault.mode); err != nil {
			t.Fatal(err)
		}
		time.Sleep(fault.down)
		if err := pg.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
	}
	for _, f := range feeders {
		if _, err := f.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	rd.Stop()
	t.Logf("writes:%s; reads: %d ok, %d 503, %d refused", w.statusSummary(), rd.ok.Load(), rd.unavailable.Load(), rd.refused.Load())
	w.mu.Lock()
	unavailable := w.statuses[http.StatusServiceUnavailable]
	w.mu.Unlock()
	if unavailable+int(rd.unavailable.Load()) == 0 {
		t.Fatal("no request met the database down: the test tested nothing")
	}
	d.waitLearnt(api, key, 90*time.Second)
	checkEffects(t, pg.Postgres, tenantID, w)
}

// TestPostgresRestoredFromBackup restores the database from a backup
// taken mid-learning (events relayed to the stream and not yet learnt)
// while Redis keeps its stream: the stream then holds entries of events
// (and trajectories) the restored database does not have, some left
// unacknowledged by a worker killed mid-batch, and has acknowledged long
// ago the events the backup holds as not yet learnt. The outcome,
// documented in docs/operations.md: what was written after the backup is
// gone (that is what restoring means); every event the stream still owed
// a consumer that the restored database lacks is dead-lettered with its
// reason; every event the restored database holds is learnt (none stays
// pending), exactly once, on top of the backup's state, as is everything
// written after the restore; the API and the worker reconnect without a
// restart.
func TestPostgresRestoredFromBackup(t *testing.T) {
	t.Parallel()
	pg := testenv.PrivatePostgres(t)
	redisURL, prefix := testenv.Redis(t)
	d := newDeployment(t, pg.Postgres, redisURL, prefix, nil)
	api := d.startAPI()
	worker := d.startWorker()
	tenantID, key := d.tenant(api, "pg-restore", nil)
	at := func(int) *testenv.Process { return api }
	deadline := time.Now().Add(3 * time.Minute)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}

	w := newWorkload("pg-restore")
	if err := w.run(t, d, at, key, 0, 20, 3, deadline); err != nil {
		t.Fatal(err)
	}
	d.waitLearnt(api, key, time.Minute)

	// The backup is taken with the worker frozen while it has relayed
	// events it has not learnt, and no write in flight.
	next, unlearnt := 20, 0
	for attempt := 0; unlearnt == 0; attempt++ {
		if attempt == 30 {
			t.Fatal("the worker was never caught with relayed events not learnt")
		}
		f := w.feed(t, d, func() *testenv.Process { return api }, key, next, 20*time.Millisecond)
		time.Sleep(time.Duration(200+37*attempt) * time.Millisecond)
		worker.Freeze()
		if next, err = f.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE tenant_id = $1
			AND relayed_at IS NOT NULL AND pending_consumers <> '{}'`, tenantID).Scan(&unlearnt); err != nil {
			t.Fatal(err)
		}
		if unlearnt == 0 {
			worker.Thaw()
		}
	}
	backup := pg.Dump(t)
	worker.Thaw()
	t.Logf("backup taken with %d events relayed and not learnt", unlearnt)
	// They are learnt now, and acknowledged in the stream.
	d.waitLearnt(api, key, time.Minute)

	// After the backup: 40 more, the worker killed while learning them.
	lost := newWorkload("pg-restore")
	if err := lost.run(t, d, at, key, next, next+40, 3, deadline); err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, owner, tenantID, processedCount(t, owner, tenantID)+5)
	owner.Close(ctx)
	worker.Kill()
	owed := streamOwed(t, redisURL, prefix+"events", events.Learner.Group)

	pg.Restore(t, backup)
	worker.Start(t)

	// After the restore: 30 more, learnt on top of the backup's state.
	if err := w.run(t, d, at, key, next+40, next+70, 3, deadline); err != nil {
		t.Fatal(err)
	}
	d.waitLearnt(api, key, 90*time.Second)
	checkEffects(t, pg.Postgres, tenantID, w)
	checkOwedDeadLettered(t, pg.Postgres, tenantID, owed)
	if !worker.Running() {
		t.Fatal("the worker exited")
	}
}

// streamOwed returns the ids of the events whose entries group has not
// finished: pending (read, never acknowledged) or not delivered yet.
func streamOwed(t *testing.T, redisURL, stream, group string) []string {
	t.Helper()
	ctx := context.Background()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	groups, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	last := ""
	for _, g := range groups {
		if g.Name == group {
			last = g.LastDeliveredID
		}
	}
	pending, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: group, Start: "-", End: "+", Count: 100000}).Result()
	if err != nil {
		t.Fatal(err)
	}
	var owed []string
	entry := func(id string) {
		msgs, err := rdb.XRange(ctx, stream, id, id).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if s, ok := m.Values["id"].(string); ok {
				owed = append(owed, s)
			}
		}
	}
	for _, p := range pending {
		entry(p.ID)
	}
	undelivered, err := rdb.XRange(ctx, stream, "("+last, "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range undelivered {
		entry(m.ID)
	}
	return owed
}

// checkOwedDeadLettered waits until every owed event the database does not
// hold has a dead letter that says why. (The ones it holds are learnt:
// checkEffects.)
func checkOwedDeadLettered(t *testing.T, pg testenv.Postgres, tenantID string, owed []string) {
	t.Helper()
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	deadline := time.Now().Add(time.Minute) // reclaiming a dead worker's entries takes ADMEM_EVENT_CLAIM_IDLE
	for {
		var missing, unknown int
		if err := owner.QueryRow(ctx, `SELECT count(*) FILTER (WHERE d.event_id IS NULL), count(*)
			FROM unnest($2::uuid[]) AS e (id)
			LEFT JOIN dead_letters d ON d.tenant_id = $1 AND d.event_id = e.id AND d.last_error = $3
			WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.id)`,
			tenantID, owed, events.ReasonUnknownEvent).Scan(&missing, &unknown); err != nil {
			t.Fatal(err)
		}
		if missing == 0 {
			t.Logf("%d events owed at the restore, %d of them unknown to the restored database: all dead-lettered", len(owed), unknown)
			if unknown == 0 {
				t.Error("no owed event was unknown to the restored database: the test tested nothing")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d owed events the restored database lacks were not dead-lettered with a reason", missing, unknown)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
