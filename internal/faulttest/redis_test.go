package faulttest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/admem/admem/internal/testenv"
)

// redisFrozenFor is how long Redis stays frozen: the 30 s an operator
// meets when Redis stalls on a slow disk or a lost network. It costs this
// test's wall time, not CPU; the fault tests run in parallel.
const redisFrozenFor = 30 * time.Second

// TestRedisFrozenThenRestartedEmpty keeps recording trajectories through
// the API while Redis is frozen (SIGSTOP) for redisFrozenFor and thawed,
// then killed and, after a while without it, restarted empty (its stream,
// consumer groups and rate-limit keys gone). Every write is acknowledged
// at the first attempt throughout, and without restarting the API or the
// worker, everything recorded is learnt exactly once.
func TestRedisFrozenThenRestartedEmpty(t *testing.T) {
	t.Parallel()
	rp := testenv.PrivateRedis(t)
	pg := testenv.DB(t)
	d := newDeployment(t, pg, rp.URL, "faults:", nil)
	api := d.startAPI()
	d.startWorker()
	tenantID, key := d.tenant(api, "redis-faults", nil)
	w := newWorkload("redis-faults")
	at := func() *testenv.Process { return api }

	// Some history learnt while Redis is well.
	if err := w.run(t, d, func(int) *testenv.Process { return api }, key, 0, 30, 2, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	d.waitLearnt(api, key, time.Minute)

	f := w.feed(t, d, at, key, 30, 400*time.Millisecond)
	time.Sleep(time.Second) // some relayed and being learnt when it freezes
	rp.Freeze()
	time.Sleep(redisFrozenFor)
	rp.Thaw()
	time.Sleep(2 * time.Second)
	rp.Kill()
	time.Sleep(5 * time.Second)
	rp.Restart(t)
	time.Sleep(2 * time.Second)
	next, err := f.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.run(t, d, func(int) *testenv.Process { return api }, key, next, next+20, 2, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d trajectories recorded; statuses:%s", next+20, w.statusSummary())
	w.mu.Lock()
	for status, n := range w.statuses {
		if status != http.StatusCreated {
			t.Errorf("%d answers %d: every write must be acknowledged at once while Redis is down", n, status)
		}
	}
	w.mu.Unlock()
	d.waitLearnt(api, key, 90*time.Second)
	checkEffects(t, pg, tenantID, w)
}
