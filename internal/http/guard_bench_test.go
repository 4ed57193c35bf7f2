package http_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/failures/failurestest"
)

// BenchmarkGuard measures POST /v1/guard with an active adapter and known
// failure clusters, two candidates per request, and reports the server-side
// p50 and p99 (from Server-Timing) alongside Go's ns/op (client side).
//
//	go test -run X -bench Guard -benchtime 2000x ./internal/http/
//	ADMEM_BENCH_EMBED_FILE=$PWD/.data/embed/glove-50k.bin go test -run X -bench Guard -benchtime 2000x ./internal/http/
func BenchmarkGuard(b *testing.B) {
	file := os.Getenv("ADMEM_BENCH_EMBED_FILE") // e.g. the GloVe file, as an absolute path
	if file == "" {
		file = failurestest.WordVectorFile(b)
	}
	env := apitest.New(b, apitest.WithEnv("ADMEM_EMBED_FILE", file))
	tenant, admin := env.Tenant(b, "guard-bench")
	_, agent := env.Key(b, admin, "read")
	ctx := context.Background()
	for _, tr := range trainingData(400, false) {
		if _, err := env.API.Learning.Failures.ObserveTrajectory(ctx, tenant, tr); err != nil {
			b.Fatal(err)
		}
	}
	trainer := adapters.NewTrainer(env.Infra.DB, env.API.Learning.Embedder.ID(), env.API.Learning.Notifier, adapters.TrainOptions{MinNew: 1},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if res, err := trainer.TrainTenant(ctx, tenant); err != nil || !res.Activated {
		b.Fatalf("train: %+v %v", res, err)
	}
	req := guardReq("book a flight for the user",
		map[string]any{"tool": "book", "args": map[string]any{"mode": "fast"}},
		map[string]any{"tool": "book", "args": map[string]any{"mode": "safe"}})
	// Unvalidated client: the benchmark measures the server, not the spec check.
	fast := &apitest.Env{URL: env.URL, HTTP: http.DefaultClient}
	var server []float64
	for b.Loop() {
		r := fast.Do(b, "POST", "/v1/guard", agent, req)
		if r.Status != http.StatusOK {
			b.Fatalf("guard: %d %s", r.Status, r.Body)
		}
		if v, ok := strings.CutPrefix(r.Header.Get("Server-Timing"), "app;dur="); ok {
			if ms, err := strconv.ParseFloat(v, 64); err == nil {
				server = append(server, ms)
			}
		}
	}
	if len(server) == 0 {
		return
	}
	slices.Sort(server)
	q := func(p float64) float64 { return server[min(len(server)-1, int(p*float64(len(server))))] }
	b.ReportMetric(q(0.50), "server_p50_ms")
	b.ReportMetric(q(0.99), "server_p99_ms")
}
