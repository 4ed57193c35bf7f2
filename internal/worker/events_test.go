package worker_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// TestWorkerLearnsFromRecordedTrajectories runs the real worker against the
// API's database and Redis: trajectories posted to the API become a
// procedure and a mistake note through the outbox, the stream and the
// learner, and the queue gauges return to zero.
func TestWorkerLearnsFromRecordedTrajectories(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "worker-learns")
	ctx, stop := context.WithCancel(context.Background())
	reg := prometheus.NewRegistry()
	w := worker.New(env.Config, env.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()

	for i, outcome := range []string{"failure", "success", "success"} {
		steps := []map[string]any{{"action": "get_order", "args": map[string]any{"order_id": i}}}
		if outcome == "failure" {
			// The agent reads the paid total from the error and refunds that:
			// its recovery teaches the fix.
			steps = append(steps, map[string]any{"action": "refund_order", "args": map[string]any{"order_id": i, "amount": 500},
				"error": "Error: amount 500 exceeds the paid total 120"})
		}
		steps = append(steps, map[string]any{"action": "refund_order", "args": map[string]any{"order_id": i, "amount": 120}})
		r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "refund the order of the customer", "outcome": outcome, "steps": steps})
		if r.Status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
	}
	var learned struct {
		Items []struct {
			Kind    string `json:"kind"`
			Content string `json:"content"`
			Count   int    `json:"count"`
		} `json:"items"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		learned.Items = nil
		env.Do(t, "GET", "/v1/learned", admin, nil).JSON(t, &learned)
		kinds := map[string]int{}
		for _, it := range learned.Items {
			kinds[it.Kind] = it.Count
		}
		if kinds["procedure"] == 2 && kinds["mistake"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not learn: %+v", learned.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The mistake has the fix the agent's recovery teaches.
	for _, it := range learned.Items {
		if it.Kind == "mistake" && !strings.Contains(it.Content, "Fix:") {
			t.Errorf("mistake note without a correction: %s", it.Content)
		}
	}
	if got := counter(t, reg, "admem_events_relayed_total"); got < 4 {
		t.Errorf("relayed %v events, want at least 4 (3 recorded, 1 step failed) plus learned changes", got)
	}
	// The note and the procedure are published as versioned memory entries.
	for _, kind := range []string{"mistake", "procedure"} {
		var entries struct {
			Items []struct {
				Key      string         `json:"key"`
				Content  string         `json:"content"`
				Metadata map[string]any `json:"metadata"`
			} `json:"items"`
		}
		for {
			entries.Items = nil
			env.Do(t, "GET", "/v1/entries?kind="+kind, admin, nil).JSON(t, &entries)
			want := ""
			for _, it := range learned.Items {
				if it.Kind == kind {
					want = it.Content
				}
			}
			if len(entries.Items) == 1 && strings.HasPrefix(entries.Items[0].Key, kind+":") && entries.Items[0].Content == want {
				if links, _ := entries.Items[0].Metadata["trajectory_ids"].([]any); len(links) == 0 {
					t.Fatalf("%s entry without trajectory links: %v", kind, entries.Items[0].Metadata)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s entry was published: %+v", kind, entries.Items)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
