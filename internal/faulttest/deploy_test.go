package faulttest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/testenv"
)

// deployment is admem as an operator runs it: API and worker processes
// over one Postgres database and one Redis.
type deployment struct {
	t        *testing.T
	bins     testenv.Binaries
	pg       testenv.Postgres
	redisURL string
	prefix   string
	vars     map[string]string
	keyFile  string
	hc       *http.Client

	mu          sync.Mutex
	platformKey string
	apis        []*testenv.Process
	workers     []*testenv.Process
}

// newDeployment prepares a deployment over pg and the Redis at redisURL;
// extra overrides configuration variables of every process.
func newDeployment(t *testing.T, pg testenv.Postgres, redisURL, prefix string, extra map[string]string) *deployment {
	t.Helper()
	d := &deployment{t: t, bins: testenv.Build(t), pg: pg, redisURL: redisURL, prefix: prefix,
		keyFile: filepath.Join(t.TempDir(), "platform-key")}
	d.vars = map[string]string{
		"ADMEM_DATABASE_URL":          pg.AppURL,
		"ADMEM_MIGRATE_DATABASE_URL":  pg.OwnerURL,
		"ADMEM_REDIS_URL":             redisURL,
		"ADMEM_REDIS_PREFIX":          prefix,
		"ADMEM_JWT_SECRET":            "fault-secret-fault-secret-fault-secret-0123",
		"ADMEM_EMBED_FILE":            failurestest.WordVectorFile(t),
		"ADMEM_BOOTSTRAP_KEY_FILE":    d.keyFile,
		"ADMEM_DB_MAX_CONNS":          "6",
		"ADMEM_RATE_LIMIT_RPS":        "100000",
		"ADMEM_RATE_LIMIT_BURST":      "100000",
		"ADMEM_AUTH_FAIL_RPS":         "100000",
		"ADMEM_AUTH_FAIL_BURST":       "100000",
		"ADMEM_LOG_LEVEL":             "warn",
		"ADMEM_SHUTDOWN_TIMEOUT":      "5s",
		"ADMEM_ADAPTER_TRAIN_EVERY":   "1s",
		"ADMEM_ADAPTER_MIN_NEW":       "40",
		"ADMEM_ADAPTER_POLL":          "1s",
		"ADMEM_REDIS_REQUEST_TIMEOUT": "200ms",
		// A killed worker's events wait this long for another worker
		// (30 s by default); the tests wait for them.
		"ADMEM_EVENT_CLAIM_IDLE": "5s",
	}
	for k, v := range extra {
		d.vars[k] = v
	}
	// Responses are checked against openapi.yaml whatever the fault.
	d.hc = &http.Client{Timeout: 15 * time.Second, Transport: &apitest.Validator{T: t, Base: &http.Transport{
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}}}
	return d
}

func (d *deployment) env(extra map[string]string) map[string]string {
	m := make(map[string]string, len(d.vars)+len(extra))
	for k, v := range d.vars {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// startAPI starts one more API process; the first one bootstraps the
// platform key.
func (d *deployment) startAPI() *testenv.Process {
	d.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(d.t))
	d.mu.Lock()
	name := fmt.Sprintf("api-%d", len(d.apis)+1)
	d.mu.Unlock()
	p := testenv.StartProcess(d.t, name, d.bins.API, addr, d.env(map[string]string{"ADMEM_HTTP_ADDR": addr}))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apis = append(d.apis, p)
	if d.platformKey == "" {
		b, err := os.ReadFile(d.keyFile)
		if err != nil {
			d.t.Fatalf("platform key: %v", err)
		}
		d.platformKey = strings.TrimSpace(string(b))
	}
	return p
}

// startWorker starts one more worker process.
func (d *deployment) startWorker() *testenv.Process {
	d.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(d.t))
	d.mu.Lock()
	name := fmt.Sprintf("worker-%d", len(d.workers)+1)
	d.mu.Unlock()
	p := testenv.StartProcess(d.t, name, d.bins.Worker, addr, d.env(map[string]string{"ADMEM_WORKER_ADDR": addr}))
	d.mu.Lock()
	d.workers = append(d.workers, p)
	d.mu.Unlock()
	return p
}

// response is one HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(v any) error { return json.Unmarshal(r.Body, v) }

// send sends one request to api; a transport error (the process is gone or
// frozen) is returned, not fatal: fault tests expect them.
func (d *deployment) send(ctx context.Context, api *testenv.Process, method, path, cred string, body any, header ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+api.Addr+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// must sends a request that must get want.
func (d *deployment) must(api *testenv.Process, method, path, cred string, body any, want int) response {
	d.t.Helper()
	r, err := d.send(context.Background(), api, method, path, cred, body)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Status != want {
		d.t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r
}

// tenant creates a tenant (body: its create request's extra fields) with
// an admin key through api.
func (d *deployment) tenant(api *testenv.Process, name string, extra map[string]any) (id, adminKey string) {
	d.t.Helper()
	body := map[string]any{"name": name}
	for k, v := range extra {
		body[k] = v
	}
	var ten struct{ ID string }
	if err := d.must(api, "POST", "/v1/tenants", d.platformKey, body, http.StatusCreated).decode(&ten); err != nil {
		d.t.Fatal(err)
	}
	var k struct{ ID, Key string }
	if err := d.must(api, "POST", "/v1/tenants/"+ten.ID+"/keys", d.platformKey,
		map[string]any{"name": "admin", "scopes": []string{"admin"}}, http.StatusCreated).decode(&k); err != nil {
		d.t.Fatal(err)
	}
	// The workload is one honest agent's: its admin trusts its key for
	// learning, as the benchmarks do, so that training takes all its
	// failed steps (one untrusted source's share of a label is capped:
	// docs/trust.md).
	var trusted struct {
		Trusted bool `json:"trusted_for_learning"`
	}
	if err := d.must(api, "PUT", "/v1/keys/"+k.ID+"/learning-trust", k.Key, map[string]any{"trusted": true}, http.StatusOK).decode(&trusted); err != nil || !trusted.Trusted {
		d.t.Fatalf("trust the workload's key: %v", err)
	}
	return ten.ID, k.Key
}

// waitLearnt waits until the tenant's learning status, read through api,
// has nothing pending. The bound is liveness on a loaded machine, not a
// speed check.
func (d *deployment) waitLearnt(api *testenv.Process, adminKey string, within time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		r, err := d.send(context.Background(), api, "GET", "/v1/learning/status", adminKey, nil)
		if err == nil && r.Status == http.StatusOK {
			var st struct {
				PendingEvents int64 `json:"pending_events"`
			}
			if err := r.decode(&st); err == nil && st.PendingEvents == 0 {
				return
			}
			last = string(r.Body)
		} else if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("learning did not catch up within %v: %s", within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// errRetry marks an answer the client retries (a 503 during an outage, an
// idempotency key still held by a request a dead process left).
var errRetry = errors.New("retry")
