package faulttest_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
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
// taken earlier while Redis keeps its stream: the stream then holds
// entries of events (and trajectories) the restored database does not
// have, some of them left unacknowledged by a worker killed mid-batch.
// The outcome, documented in docs/operations.md: what was written after
// the backup is gone (that is what restoring means); the worker skips
// events whose rows are gone (nothing dead-lettered, nothing wedged), the
// API reconnects without a restart, and everything written after the
// restore is learnt exactly once on top of the backup's state.
func TestPostgresRestoredFromBackup(t *testing.T) {
	t.Parallel()
	pg := testenv.PrivatePostgres(t)
	redisURL, prefix := testenv.Redis(t)
	d := newDeployment(t, pg.Postgres, redisURL, prefix, nil)
	api := d.startAPI()
	worker := d.startWorker()
	tenantID, key := d.tenant(api, "pg-restore", nil)
	at := func(int) *testenv.Process { return api }
	deadline := time.Now().Add(2 * time.Minute)

	// The backup holds 30 trajectories, learnt.
	w := newWorkload("pg-restore")
	if err := w.run(t, d, at, key, 0, 30, 3, deadline); err != nil {
		t.Fatal(err)
	}
	d.waitLearnt(api, key, time.Minute)
	backup := pg.Dump(t)

	// After the backup: 40 more, the worker killed while learning them.
	lost := newWorkload("pg-restore")
	if err := lost.run(t, d, at, key, 30, 70, 3, deadline); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(context.Background(), pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, owner, tenantID, processedCount(t, owner, tenantID)+5)
	owner.Close(context.Background())
	worker.Kill()

	pg.Restore(t, backup)
	worker.Start(t)

	// After the restore: 30 more, learnt on top of the backup's state.
	if err := w.run(t, d, at, key, 70, 100, 3, deadline); err != nil {
		t.Fatal(err)
	}
	d.waitLearnt(api, key, 90*time.Second)
	checkEffects(t, pg.Postgres, tenantID, w)
	if !worker.Running() {
		t.Fatal("the worker exited")
	}
}
