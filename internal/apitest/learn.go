package apitest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// StartWorker runs the real worker (relay, learner, failure learning,
// adapter training) against the env's database and Redis until the test
// ends. Calling it again does nothing.
func (e *Env) StartWorker(t testing.TB) {
	t.Helper()
	e.workerOnce.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		w := worker.New(e.Config, e.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
	})
}

// Learn starts the worker if need be and waits until the tenant's learning
// status shows nothing pending: guard and recall then see everything posted
// so far.
func (e *Env) Learn(t testing.TB, tenantID string) {
	t.Helper()
	e.StartWorker(t)
	status := events.NewStatus(e.Infra.DB)
	deadline := time.Now().Add(60 * time.Second) // a liveness bound for a loaded machine, not a speed check
	for {
		st, err := status.LearningStatus(context.Background(), tenantID)
		if err != nil {
			t.Fatalf("apitest: learn: %v", err)
		}
		if st.PendingEvents == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("apitest: %d events of tenant %s still unlearnt after a minute", st.PendingEvents, tenantID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LearnPending applies the tenant's events still in the outbox with the
// worker's learning pass (worker.LearnerHandler), at once and in order, as
// the worker would after relaying them. Applying an event again (calling
// LearnPending twice) is a redelivery: it must change nothing.
func (e *Env) LearnPending(t testing.TB, tenantID string) {
	t.Helper()
	ctx := context.Background()
	evs, err := e.Infra.DB.PendingEvents(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	h := worker.LearnerHandler(e.Config, e.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, ev := range evs {
		if err := h(ctx, ev); err != nil {
			t.Fatalf("apitest: learn %s: %v", ev.Type, err)
		}
	}
}
