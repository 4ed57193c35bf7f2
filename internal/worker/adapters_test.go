package worker_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// TestWorkerClustersFailuresForGuard posts failing trajectories to the API
// and waits for the worker's learning pass to cluster them; guard then
// cites the mistake the same pass learnt. Redelivery safety is the store's
// (tested there): here the count must match the failures posted, no more.
func TestWorkerClustersFailuresForGuard(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", failurestest.WordVectorFile(t)))
	tenantID, admin := env.Tenant(t, "worker-failures")
	ctx, stop := context.WithCancel(context.Background())
	w := worker.New(env.Config, env.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	// With an embedder the worker runs every consumer the learning status
	// waits for: a listed consumer it never ran would leave every event
	// pending forever.
	if got := w.Consumers(); !slices.Equal(got, events.Consumers) {
		t.Fatalf("the worker runs %v, the learning status waits for %v", got, events.Consumers)
	}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()

	posted := time.Now()
	clusterID := clusterThreeFailures(t, env, admin, "book a flight for the user", "clusters never reached one cluster of 3 failures")
	env.Learn(t, tenantID) // a failure may be clustered before its trajectory's event is learnt
	r := env.Do(t, "POST", "/v1/guard", admin, map[string]any{"task": "book a flight for the user",
		"candidates": []any{map[string]any{"tool": "book", "args": map[string]any{"mode": "fast", "seat": 7}}}})
	var g struct {
		Results []struct {
			Decision string
			Reasons  []struct {
				Kind      string
				Signature string
				Count     int
			}
		}
	}
	r.JSON(t, &g)
	var cluster struct{ Signature string }
	env.Do(t, "GET", "/v1/failures/"+clusterID, admin, nil).JSON(t, &cluster)
	if g.Results[0].Decision == "allow" || len(g.Results[0].Reasons) == 0 || g.Results[0].Reasons[0].Kind != "mistake_note" ||
		g.Results[0].Reasons[0].Signature != cluster.Signature || g.Results[0].Reasons[0].Count != 3 {
		t.Fatalf("guard does not cite the mistake of the worker's cluster %s: %s", cluster.Signature, r.Body)
	}
	t.Logf("posted → clustered → flagged by guard in %v", time.Since(posted).Round(time.Millisecond))
}

// clusterThreeFailures records three failing bookings for task and waits
// until the worker has clustered them into one cluster of three; it returns
// the cluster's id. why says what a timeout means.
func clusterThreeFailures(t *testing.T, env *apitest.Env, admin, task, why string) string {
	t.Helper()
	for i := range 3 {
		steps := []map[string]any{
			{"action": "search", "args": map[string]any{"mode": "fast"}},
			{"action": "book", "args": map[string]any{"mode": "fast", "seat": i}, "error": "Error: payment method not found"},
		}
		r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": task, "outcome": "failure", "steps": steps})
		if r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
	}
	var list struct {
		Items []struct {
			ID    string `json:"id"`
			Count int    `json:"count"`
		} `json:"items"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		list.Items = nil
		env.Do(t, "GET", "/v1/failures", admin, nil).JSON(t, &list)
		if len(list.Items) == 1 && list.Items[0].Count == 3 {
			return list.Items[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %+v", why, list.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
