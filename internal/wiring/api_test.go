package wiring_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/testenv"
	"github.com/admem/admem/internal/wiring"
	"github.com/prometheus/client_golang/prometheus"
)

// followers counts the goroutines following adapter activations.
func followers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "adapters.(*Registry).Follow(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestAPICloseStopsTheAdapterFollower: the adapter follower an API starts
// lives as long as the API: Close stops it and waits for it, before the
// infrastructure it uses closes. Not parallel: it counts the process's
// goroutines, and parallel tests only start after it.
func TestAPICloseStopsTheAdapterFollower(t *testing.T) {
	pg := testenv.DB(t)
	redisURL, prefix := testenv.Redis(t)
	vars := map[string]string{"ADMEM_DATABASE_URL": pg.AppURL, "ADMEM_MIGRATE_DATABASE_URL": pg.OwnerURL, "ADMEM_REDIS_URL": redisURL,
		"ADMEM_REDIS_PREFIX": prefix, "ADMEM_JWT_SECRET": "test-secret-test-secret-test-secret-0123"}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	infra, err := wiring.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer infra.Close()
	before := followers()
	api := wiring.NewAPI(cfg, infra, log, prometheus.NewRegistry())
	for deadline := time.Now().Add(10 * time.Second); followers() != before+1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("NewAPI started %d adapter followers, want 1", followers()-before)
		}
	}
	api.Close()
	if n := followers(); n != before {
		t.Fatalf("after Close %d adapter followers run, want %d", n, before)
	}
	// Redis still works after Close: the follower did not take it down.
	if err := infra.Redis.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis after Close: %v", err)
	}
	api.Close() // a second Close is harmless
}
