package benchkit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// session records n failed trajectories for a tenant, each with two failed
// steps of the session's own tools, and returns how many events they
// caused and how many steps failed.
func session(t *testing.T, env *apitest.Env, key, tool string, n int) (evs, failed int) {
	t.Helper()
	for i := 0; i < n; i++ {
		steps := []map[string]any{
			{"action": tool + "_lookup", "args": map[string]any{"id": fmt.Sprintf("K-%d", i)}},
			{"action": tool + "_update", "args": map[string]any{"id": fmt.Sprintf("K-%d", i), "mode": "fast"},
				"error": fmt.Sprintf("Error: record %d is locked by another writer", 1000+i)},
			{"action": tool + "_delete", "args": map[string]any{"id": fmt.Sprintf("K-%d", i)},
				"error": fmt.Sprintf("Error: record %d has dependants", 1000+i)},
		}
		r := env.Do(t, "POST", "/v1/trajectories", key, map[string]any{"task": "clean up the stale records", "outcome": "failure", "steps": steps})
		if r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
	}
	return 3 * n, 2 * n
}

// TestBackToBackSessionsWaitForTheirOwnEvents is two benchmark sessions on
// one stack, the second started while the first one's events still sit
// unconsumed in the shared Redis stream (a run interrupted before its
// worker caught up, whose stream survived). The second session waits as
// every benchmark does (benchkit.WaitLearning on its own tenant) and must
// then find everything its own trajectories teach: its failures clustered
// and its mistake notes written, none of the first session's. Waiting on
// the worker's global event counter, as the benchmarks did, returned as
// soon as the worker had chewed through as many of the first session's
// events as the second one sent, and the second session read an empty
// memory.
func TestBackToBackSessionsWaitForTheirOwnEvents(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", failurestest.WordVectorFile(t)))
	ctx := context.Background()

	// Session 1 records, and its events reach the stream (relayed as the
	// worker's relay does, for every consumer); then it stops before any
	// consumer read them.
	_, first := env.Tenant(t, "bench-first")
	firstEvents, _ := session(t, env, first, "ledger", 20)
	cfg := events.DefaultConfig(env.Config.RedisPrefix, "first-run")
	cfg.Await = events.Ledgers()
	relay := events.NewRelay(env.Infra.DB, env.Infra.Redis, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	relayed := 0
	for {
		n, err := relay.RelayOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		relayed += n
	}
	if relayed != firstEvents {
		t.Fatalf("relayed %d events of the first session, want %d", relayed, firstEvents)
	}

	// Session 2, a new tenant, sends fewer events than the backlog holds.
	_, second := env.Tenant(t, "bench-second")
	secondEvents, secondFailed := session(t, env, second, "invoice", 3)
	st, err := benchkit.WaitLearning(ctx, env.Client, benchkit.LearningWait{Timeout: time.Millisecond}, apitest.Auth(second))
	if !errors.Is(err, benchkit.ErrNotCaughtUp) || st.PendingEvents != int64(secondEvents) {
		t.Fatalf("before any worker: %+v, %v; want its own %d events pending, not the other session's", st, err, secondEvents)
	}

	wctx, stop := context.WithCancel(ctx)
	w := worker.New(env.Config, env.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	defer func() { stop(); <-done }()

	var progress strings.Builder
	// A liveness bound for a loaded machine, not a speed check.
	st, err = benchkit.WaitLearning(ctx, env.Client, benchkit.LearningWait{Label: "second", Timeout: 3 * time.Minute, Progress: &progress}, apitest.Auth(second))
	if err != nil {
		t.Fatalf("the second session's learning never caught up: %v\n%s", err, progress.String())
	}
	if st.PendingEvents != 0 || st.LastProcessedAt == nil {
		t.Fatalf("caught up with %+v", st)
	}

	// What the second session reads right after its wait.
	var clusters struct {
		Items []struct {
			Tool  string
			Count int
		}
	}
	env.Do(t, "GET", "/v1/failures", second, nil).JSON(t, &clusters)
	clustered := 0
	for _, c := range clusters.Items {
		if !strings.HasPrefix(c.Tool, "invoice_") {
			t.Errorf("the second session sees a cluster of %s", c.Tool)
		}
		clustered += c.Count
	}
	if clustered != secondFailed {
		t.Errorf("after the wait %d of the second session's %d failed steps are clustered", clustered, secondFailed)
	}
	var notes struct{ Items []struct{ Content string } }
	env.Do(t, "GET", "/v1/learned?kind=mistake", second, nil).JSON(t, &notes)
	if len(notes.Items) != 2 {
		t.Errorf("after the wait the second session has %d mistake notes, want 2 (one per failing tool)", len(notes.Items))
	}
	for _, n := range notes.Items {
		if strings.Contains(n.Content, "ledger_") {
			t.Errorf("the second session reads a note of the first: %s", n.Content)
		}
	}
}
