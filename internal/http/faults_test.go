package http_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// TestRedisOutageDegrades runs the API on a Redis of its own, then freezes
// it (SIGSTOP: connections open, nothing answers) and later kills it
// (connections refused). Throughout, reads and writes succeed; readiness
// says "degraded" with a 200, not down; and once Redis is back, rate limits
// apply again without a restart. (How long requests take meanwhile is
// measured by BenchmarkRedisFaults, not asserted here.)
func TestRedisOutageDegrades(t *testing.T) {
	t.Parallel()
	rp := testenv.PrivateRedis(t)
	env := apitest.New(t, apitest.WithEnv("ADMEM_REDIS_URL", rp.URL), apitest.WithEnv("ADMEM_REDIS_REQUEST_TIMEOUT", "100ms"))
	_, admin := env.Tenant(t, "redis-outage")
	if r := env.Do(t, "GET", "/v1/me", admin, nil); r.Status != http.StatusOK || r.Header.Get("RateLimit-Limit") == "" {
		t.Fatalf("with Redis up: %d, rate limit headers %q", r.Status, r.Header.Get("RateLimit-Limit"))
	}
	readiness := func() (int, string, map[string]string) {
		var h struct {
			Status string
			Checks map[string]string
		}
		r := env.Do(t, "GET", "/readyz", "", nil)
		r.JSON(t, &h)
		return r.Status, h.Status, h.Checks
	}
	posted := 0
	for _, fault := range []struct {
		name         string
		start, after func()
	}{{"frozen", rp.Freeze, rp.Thaw}, {"killed", rp.Kill, nil}} {
		fault.start()
		for i := 0; i < 10; i++ {
			r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "ship order " + fault.name,
				"steps": []any{map[string]any{"action": "ship", "error": "timeout"}}})
			if r.Status != http.StatusCreated {
				t.Fatalf("Redis %s: record a trajectory: %d %s", fault.name, r.Status, r.Body)
			}
			posted++
			if r := env.Do(t, "GET", "/v1/me", admin, nil); r.Status != http.StatusOK {
				t.Fatalf("Redis %s: read: %d %s", fault.name, r.Status, r.Body)
			}
		}
		status, overall, checks := readiness()
		if status != http.StatusOK || overall != "degraded" || checks["postgres"] != "ok" || !strings.HasPrefix(checks["redis"], "unavailable") {
			t.Fatalf("Redis %s: readiness %d %s %v, want 200 degraded", fault.name, status, overall, checks)
		}
		if m := env.Do(t, "GET", "/metrics", env.PlatformKey, nil); !strings.Contains(string(m.Body), "admem_redis_breaker_open 1") {
			t.Fatalf("Redis %s: the breaker did not open", fault.name)
		}
		if fault.after == nil {
			continue
		}
		fault.after()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, overall, _ := readiness(); overall == "ok" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Redis %s, then back: readiness never ok again", fault.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if r := env.Do(t, "GET", "/v1/me", admin, nil); r.Header.Get("RateLimit-Limit") == "" {
			t.Fatalf("Redis back: no rate limit headers: %v", r.Header)
		}
	}
	var list struct{ Items []any }
	env.Do(t, "GET", "/v1/trajectories?limit=500", admin, nil).JSON(t, &list)
	if len(list.Items) != posted {
		t.Fatalf("%d trajectories listed, %d recorded while Redis was down", len(list.Items), posted)
	}
}

// TestLostDatabaseConnectionIs503 kills the API's Postgres connections
// (pg_terminate_backend, as a restart or failover does) between requests: a
// request that meets a dead connection gets a 503 with Retry-After, never a
// 500, and once the pool has replaced its dead connections (one request
// each at most) requests work again.
func TestLostDatabaseConnectionIs503(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "pg-outage")
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, env.PG.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	unavailable := 0
	for i := 0; i < 5; i++ {
		for _, path := range []string{"/v1/entries", "/v1/trajectories"} {
			env.Do(t, "GET", path, admin, nil) // use the pool's connections
			if _, err := owner.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = current_database() AND application_name = 'admem'`); err != nil {
				t.Fatal(err)
			}
			r := env.Do(t, "GET", path, admin, nil)
			switch r.Status {
			case http.StatusOK:
			case http.StatusServiceUnavailable:
				unavailable++
				if r.Header.Get("Retry-After") == "" || r.Problem(t)["code"] != "unavailable" {
					t.Fatalf("%s on a killed connection: 503 without Retry-After: %v %s", path, r.Header, r.Body)
				}
			default:
				t.Fatalf("%s on a killed connection: %d %s, want 503", path, r.Status, r.Body)
			}
			// Each pooled connection that died meets one request (the
			// adapter poll keeps more than one in the pool); then the
			// pool has replaced them all.
			for attempt := 1; ; attempt++ {
				r := env.Do(t, "GET", path, admin, nil)
				if r.Status == http.StatusOK {
					break
				}
				if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || attempt == int(env.Config.DBMaxConns) {
					t.Fatalf("%s after (attempt %d): %d %s", path, attempt, r.Status, r.Body)
				}
			}
		}
	}
	if unavailable == 0 {
		t.Fatal("no request ever met a killed connection: the test did not test anything")
	}
}
