package faulttest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// servedVersion asks api's guard which adapter version it scores with (0:
// none).
func servedVersion(d *deployment, api *testenv.Process, key string) (int, error) {
	r, err := d.send(context.Background(), api, "POST", "/v1/guard", key, map[string]any{"task": "book a flight for the user",
		"candidates": []any{map[string]any{"tool": "book", "args": map[string]any{"order_id": "O99999"}}}})
	if err != nil {
		return 0, err
	}
	if r.Status != http.StatusOK {
		return 0, fmt.Errorf("guard: %d %s", r.Status, r.Body)
	}
	var g struct {
		AdapterVersion *int `json:"adapter_version"`
	}
	if err := r.decode(&g); err != nil {
		return 0, err
	}
	if g.AdapterVersion == nil {
		return 0, nil
	}
	return *g.AdapterVersion, nil
}

// waitServed waits until api serves version and returns how long it took.
func waitServed(t *testing.T, d *deployment, api *testenv.Process, key string, version int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		v, err := servedVersion(d, api, key)
		if err == nil && v == version {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s serves adapter version %d (%v), not %d, after %v", api.Name, v, err, version, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// adapterVersions lists the tenant's versions and the active one from
// the database.
func adapterVersions(t *testing.T, owner *pgx.Conn, tenantID string) (versions []int, active []int) {
	t.Helper()
	rows, err := owner.Query(context.Background(), `SELECT version, status FROM adapter_versions WHERE tenant_id = $1 ORDER BY version`, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var status string
		if err := rows.Scan(&v, &status); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
		if status == "active" {
			active = append(active, v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return versions, active
}

// waitVersions waits until the tenant has at least n adapter versions.
func waitVersions(t *testing.T, owner *pgx.Conn, tenantID string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if vs, _ := adapterVersions(t, owner, tenantID); len(vs) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d adapter versions trained", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// trainTwice records the workload in two parts, each enough for a training
// of its own (adapters.DefaultMinTrain labelled steps, then the deployment's
// ADMEM_ADAPTER_MIN_NEW more), and waits for each version. One burst of
// trajectories may train only once: a worker learns a batch's examples
// together, and a training needs DefaultMinTrain examples in all.
func trainTwice(t *testing.T, d *deployment, w *workload, api func(int) *testenv.Process, key string, owner *pgx.Conn, tenantID string, clients int) {
	t.Helper()
	next := 0
	upTo := func(examples int) {
		for w.labelled() < examples {
			if err := w.run(t, d, api, key, next, next+10, clients, time.Now().Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			next += 10
		}
	}
	upTo(adapters.DefaultMinTrain + 10)
	waitVersions(t, owner, tenantID, 1)
	upTo(w.labelled() + 40 + 10)
	waitVersions(t, owner, tenantID, 2)
}

// metric reads one sample's value from a process's /metrics (0 when absent).
func metric(t *testing.T, p *testenv.Process, sample string) string {
	t.Helper()
	status, body, err := p.Get(context.Background(), "/metrics")
	if err != nil || status != http.StatusOK {
		t.Fatalf("%s /metrics: %d %v", p.Name, status, err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			return rest
		}
	}
	return "0"
}

// TestReplicas runs two API and two worker processes over one database
// and Redis. Trajectories recorded through both APIs are learnt exactly
// once between the workers (procedure support included); the workers train
// a tenant one at a time (no version thrown away); an adapter activated
// through one API is served by both, by pub/sub (the poll is the default
// 15 s); and a tenant's rate limit holds across both APIs together.
func TestReplicas(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	redisURL, prefix := testenv.Redis(t)
	d := newDeployment(t, pg, redisURL, prefix, map[string]string{"ADMEM_ADAPTER_POLL": "15s"})
	apis := []*testenv.Process{d.startAPI(), d.startAPI()}
	workers := []*testenv.Process{d.startWorker(), d.startWorker()}
	tenantID, key := d.tenant(apis[0], "replicas", nil)
	owner, err := pgx.Connect(context.Background(), pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())

	w := newWorkload("replicas")
	trainTwice(t, d, w, func(i int) *testenv.Process { return apis[i%2] }, key, owner, tenantID, 4)
	d.waitLearnt(apis[1], key, 90*time.Second)
	checkEffects(t, pg, tenantID, w)
	for _, p := range workers {
		if n := metric(t, p, `admem_worker_job_runs_total{job="adapter-train",result="error"}`); n != "0" {
			t.Errorf("%s: %s adapter trainings failed (two trainers on one tenant?)", p.Name, n)
		}
		if strings.Contains(p.Output(), "another trainer advanced") {
			t.Errorf("%s threw a training away: another worker trained the tenant at the same time", p.Name)
		}
	}

	// Activation through one API reaches both. The workers stop first: a
	// training they finish meanwhile would activate a version of its own.
	for _, p := range workers {
		p.Kill()
	}
	versions, active := adapterVersions(t, owner, tenantID)
	target := versions[0]
	if len(active) == 1 && active[0] == target {
		target = versions[len(versions)-1]
	}
	for _, api := range apis {
		servedVersion(d, api, key) //nolint:errcheck // loads the tenant's model on each replica first
	}
	start := time.Now()
	d.must(apis[0], "POST", fmt.Sprintf("/v1/adapters/%d/activate", target), key, nil, http.StatusOK)
	acked := time.Since(start)
	var slowest time.Duration
	for _, api := range apis {
		slowest = max(slowest, waitServed(t, d, api, key, target, 10*time.Second))
	}
	t.Logf("adapter v%d activated (answered in %v): both APIs serve it %v after the answer", target, acked.Round(time.Millisecond),
		slowest.Round(time.Millisecond))

	// A rate limit of 10 requests (no refill to speak of) is the tenant's,
	// whichever replica serves it. The burst is 11: d.tenant spends one
	// request of the tenant's key on trusting it for learning.
	_, limited := d.tenant(apis[0], "replicas-limited", map[string]any{"rate_limit": map[string]any{"requests_per_second": 0.001, "burst": 11}})
	var ok, limitedN int
	for i := 0; i < 20; i++ {
		r, err := d.send(context.Background(), apis[i%2], "GET", "/v1/me", limited, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch r.Status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limitedN++
		default:
			t.Fatalf("GET /v1/me: %d %s", r.Status, r.Body)
		}
	}
	if ok != 10 || limitedN != 10 {
		t.Fatalf("a burst of 10 across two replicas let %d of 20 requests through (%d limited), want 10", ok, limitedN)
	}
}

// TestAPIKilledDuringActivation kills (SIGKILL) the API replica serving
// an adapter activation at various points of the request. Each time the
// activation either happened (the version active, audited) or did not (the
// previous version active, no audit record): never half. The other replica
// serves whatever is active, and the killed replica, restarted, too. Last,
// an activation whose pub/sub message is lost (Redis frozen) reaches both
// replicas within 2 s by their poll.
func TestAPIKilledDuringActivation(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	rp := testenv.PrivateRedis(t)
	d := newDeployment(t, pg, rp.URL, "activation:", nil)
	a, b := d.startAPI(), d.startAPI()
	worker := d.startWorker()
	tenantID, key := d.tenant(a, "activation-kill", nil)
	owner, err := pgx.Connect(context.Background(), pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	w := newWorkload("activation-kill")
	trainTwice(t, d, w, func(i int) *testenv.Process { return b }, key, owner, tenantID, 3)
	// No training from here on: one would activate a version of its own.
	worker.Kill()
	audits := func() int {
		var n int
		if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'adapter.activated'`,
			tenantID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	activated := 0
	killAfter := []time.Duration{0, 8 * time.Millisecond, 15 * time.Millisecond, 25 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}
	for round := range killAfter {
		versions, active := adapterVersions(t, owner, tenantID)
		if len(active) > 1 {
			t.Fatalf("round %d: versions %v active at once", round, active)
		}
		previous := 0
		if len(active) == 1 {
			previous = active[0]
		}
		target := versions[round%len(versions)]
		if target == previous {
			target = versions[(round+1)%len(versions)]
		}
		before := audits()
		answered := make(chan int, 1)
		go func() {
			r, err := d.send(context.Background(), a, "POST", fmt.Sprintf("/v1/adapters/%d/activate", target), key, nil)
			if err != nil {
				answered <- 0
				return
			}
			answered <- r.Status
		}()
		// From before the request is read to after it answered (it
		// takes some 30 ms here): each round kills at another point.
		time.Sleep(killAfter[round])
		a.Kill()
		status := <-answered

		_, active = adapterVersions(t, owner, tenantID)
		after := audits()
		switch {
		case len(active) != 1:
			t.Fatalf("round %d: active versions %v after the kill, want exactly one", round, active)
		case active[0] == target && after == before+1:
			activated++
		case active[0] == previous && after == before && status != http.StatusOK:
		default:
			t.Fatalf("round %d: v%d → v%d, answered %d: v%d active with %d new audit records", round, previous, target, status,
				active[0], after-before)
		}
		// The other replica serves what is active (by pub/sub, or by its
		// poll if the killed one died before announcing it), and so does
		// the killed one once restarted.
		waitServed(t, d, b, key, active[0], 10*time.Second)
		a.Start(t)
		waitServed(t, d, a, key, active[0], 10*time.Second)
	}
	t.Logf("%d of %d activations committed before the kill", activated, len(killAfter))

	// A lost notification: Redis is frozen, so the activation's message
	// never goes out and no subscriber would get it anyway. Both replicas
	// serve the new version within 2 s all the same, by their poll
	// (ADMEM_ADAPTER_POLL, 1 s here and by default).
	versions, active := adapterVersions(t, owner, tenantID)
	target := versions[0]
	if len(active) == 1 && active[0] == target {
		target = versions[len(versions)-1]
	}
	rp.Freeze()
	defer rp.Thaw()
	start := time.Now()
	d.must(a, "POST", fmt.Sprintf("/v1/adapters/%d/activate", target), key, nil, http.StatusOK)
	for _, api := range []*testenv.Process{a, b} {
		waitServed(t, d, api, key, target, 2*time.Second-time.Since(start))
	}
	t.Logf("with Redis frozen, v%d activated and served by both replicas %v after the request", target, time.Since(start).Round(time.Millisecond))
}
