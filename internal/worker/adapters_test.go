package worker_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// TestWorkerClustersFailuresForGuard posts failing trajectories to the API
// and waits for the worker's failure consumer to cluster them; guard then
// cites the cluster. Redelivery safety is the store's (tested there): here
// the count must match the failures posted, no more.
func TestWorkerClustersFailuresForGuard(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", failurestest.WordVectorFile(t)))
	_, admin := env.Tenant(t, "worker-failures")
	ctx, stop := context.WithCancel(context.Background())
	w := worker.New(env.Config, env.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()

	posted := time.Now()
	for i := range 3 {
		steps := []map[string]any{
			{"action": "search", "args": map[string]any{"mode": "fast"}},
			{"action": "book", "args": map[string]any{"mode": "fast", "seat": i}, "error": "Error: payment method not found"},
		}
		r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "book a flight for the user", "outcome": "failure", "steps": steps})
		if r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
	}
	var list struct {
		Items []struct {
			ID    string `json:"id"`
			Tool  string `json:"tool"`
			Count int    `json:"count"`
		} `json:"items"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		list.Items = nil
		env.Do(t, "GET", "/v1/failures", admin, nil).JSON(t, &list)
		if len(list.Items) == 1 && list.Items[0].Count == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clusters never reached one cluster of 3 failures: %+v", list.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := env.Do(t, "POST", "/v1/guard", admin, map[string]any{"task": "book a flight for the user",
		"candidates": []any{map[string]any{"tool": "book", "args": map[string]any{"mode": "fast", "seat": 7}}}})
	var g struct {
		Results []struct {
			Decision string
			Reasons  []struct {
				ClusterID string `json:"cluster_id"`
			}
		}
	}
	r.JSON(t, &g)
	if g.Results[0].Decision == "allow" || len(g.Results[0].Reasons) == 0 || g.Results[0].Reasons[0].ClusterID != list.Items[0].ID {
		t.Fatalf("guard does not cite the worker's cluster: %s", r.Body)
	}
	t.Logf("posted → clustered → flagged by guard in %v", time.Since(posted).Round(time.Millisecond))
}
