package http_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus"
)

type learningStatusBody struct {
	PendingEvents      int64      `json:"pending_events"`
	OldestPendingAt    *time.Time `json:"oldest_pending_at"`
	LastProcessedAt    *time.Time `json:"last_processed_at"`
	DeadLetteredEvents int64      `json:"dead_lettered_events"`
}

func learningStatus(t *testing.T, env *apitest.Env, key string) learningStatusBody {
	t.Helper()
	r := env.Do(t, "GET", "/v1/learning/status", key, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("learning status: %d %s", r.Status, r.Body)
	}
	var st learningStatusBody
	r.JSON(t, &st)
	return st
}

// TestLearningStatusFollowsTheWorker: a trajectory with failed steps leaves
// its tenant's events pending (and no other tenant's) until the worker's
// consumers have all finished them; once the status says nothing is
// pending, what the worker learns from them is there to read, with no
// further waiting.
func TestLearningStatusFollowsTheWorker(t *testing.T) {
	t.Parallel()
	env := learningEnv(t) // with an embedder: the worker runs every consumer
	_, admin := env.Tenant(t, "status-a")
	_, read := env.Key(t, admin, "read")
	_, otherAdmin := env.Tenant(t, "status-b")

	if r := env.Do(t, "GET", "/v1/learning/status", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", r.Status)
	}
	st := learningStatus(t, env, read)
	if st.PendingEvents != 0 || st.OldestPendingAt != nil || st.LastProcessedAt != nil || st.DeadLetteredEvents != 0 {
		t.Fatalf("a new tenant's status: %+v", st)
	}

	steps := []map[string]any{
		{"action": "get_order", "args": map[string]any{"order_id": "A-1"}},
		{"action": "refund_order", "args": map[string]any{"order_id": "A-1", "amount": 500}, "error": "Error: amount 500 exceeds the paid total 120"},
		{"action": "cancel_order", "args": map[string]any{"order_id": "A-1"}, "error": "Error: order A-1 already shipped"},
	}
	r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "refund the customer's order", "outcome": "failure", "steps": steps})
	if r.Status != http.StatusCreated {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	// One trajectory.recorded and one step.failed per failed step, and no
	// worker yet.
	st = learningStatus(t, env, read)
	if st.PendingEvents != 3 || st.OldestPendingAt == nil || st.LastProcessedAt != nil {
		t.Fatalf("status after the POST: %+v, want 3 pending since the POST", st)
	}
	if other := learningStatus(t, env, otherAdmin); other.PendingEvents != 0 || other.OldestPendingAt != nil {
		t.Fatalf("another tenant sees pending events: %+v", other)
	}

	ctx, stop := context.WithCancel(context.Background())
	w := worker.New(env.Config, env.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()

	deadline := time.Now().Add(2 * time.Minute) // a liveness bound for a loaded machine, not a speed check
	for {
		st = learningStatus(t, env, read)
		if st.PendingEvents == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker never caught up: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.OldestPendingAt != nil || st.LastProcessedAt == nil || st.DeadLetteredEvents != 0 {
		t.Fatalf("status once caught up: %+v", st)
	}

	// Caught up means learnt: both failures clustered, both mistake notes
	// written and published as memory entries (the notes' learned.changed
	// events were pending too).
	var failures struct{ Items []struct{ Count int } }
	env.Do(t, "GET", "/v1/failures", read, nil).JSON(t, &failures)
	clustered := 0
	for _, c := range failures.Items {
		clustered += c.Count
	}
	if clustered != 2 {
		t.Errorf("%d failed steps clustered when the status said caught up, want 2: %+v", clustered, failures.Items)
	}
	var notes struct{ Items []struct{ Kind string } }
	env.Do(t, "GET", "/v1/learned?kind=mistake", read, nil).JSON(t, &notes)
	var entries struct{ Items []struct{ Key string } }
	env.Do(t, "GET", "/v1/entries?kind=mistake", read, nil).JSON(t, &entries)
	if len(notes.Items) != 2 || len(entries.Items) != 2 {
		t.Errorf("%d mistake notes and %d mistake entries when the status said caught up, want 2 each", len(notes.Items), len(entries.Items))
	}
}
