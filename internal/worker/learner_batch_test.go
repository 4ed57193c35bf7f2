package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/trajectories"
	"github.com/admem/admem/internal/wiring"
	"github.com/admem/admem/internal/worker"
)

// TestBatchObservesFailuresAsEventByEvent learns the same trajectories of a
// generated world in two tenants, event by event in one and in the worker's
// batches in the other (where a tenant's trajectories are observed
// together): both record the same adapter examples and their signatures'
// clusters hold the same failures, and delivering the batches again adds nothing.
func TestBatchObservesFailuresAsEventByEvent(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", failurestest.WordVectorFile(t)))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	ts := playWorld(t, 3, 40)
	svc := trajectories.New(env.Infra.DB, trajectories.NewLearner(), log)
	learn := func(name string, apply func([]admem.Event)) (tenantID string) {
		tenantID, _ = env.Tenant(t, name)
		record(t, svc, tenantID, ts)
		drain(t, env, tenantID, apply)
		return tenantID
	}
	one := worker.LearnerHandler(env.Config, env.Infra, log)
	single := learn("one-at-a-time", func(evs []admem.Event) {
		for _, ev := range evs {
			if err := one(ctx, ev); err != nil {
				t.Fatalf("%s: %v", ev.Type, err)
			}
		}
	})
	batch := worker.LearnerBatchHandler(env.Config, env.Infra, log)
	var delivered [][]admem.Event
	batched := learn("batched", func(evs []admem.Event) {
		for i := 0; i < len(evs); i += 50 {
			part := evs[i:min(i+50, len(evs))]
			delivered = append(delivered, part)
			for k, err := range batch(ctx, part) {
				if err != nil {
					t.Fatalf("%s: %v", part[k].Type, err)
				}
			}
		}
	})

	emb, err := wiring.LoadEmbedder(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	// Clusters are compared by the failures each signature's clusters hold:
	// a batch checks a growing cluster's coherence after the batch rather
	// than after each trajectory, so where a split falls may differ.
	state := func(tenantID string) (examples, failed int, clusters []string) {
		exs, err := env.Infra.DB.AdapterExamples(ctx, tenantID, emb.ID(), 0, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range exs {
			if ex.Failed {
				failed++
			}
		}
		cs, _, err := env.Infra.DB.ListFailureClusters(ctx, tenantID, admem.FailureFilter{}, admem.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		bySig := map[string]int{}
		for _, c := range cs {
			bySig[c.SignatureID] += c.Count
		}
		for sig, n := range bySig {
			clusters = append(clusters, fmt.Sprintf("%s×%d", sig, n))
		}
		slices.Sort(clusters)
		return len(exs), failed, clusters
	}
	wantEx, wantFailed, wantClusters := state(single)
	if wantFailed == 0 || len(wantClusters) == 0 {
		t.Fatalf("nothing observed event by event: %d examples, %d failed, clusters %v", wantEx, wantFailed, wantClusters)
	}
	gotEx, gotFailed, gotClusters := state(batched)
	if gotEx != wantEx || gotFailed != wantFailed || !slices.Equal(gotClusters, wantClusters) {
		t.Fatalf("batched: %d examples (%d failed), clusters %v\nevent by event: %d (%d), %v",
			gotEx, gotFailed, gotClusters, wantEx, wantFailed, wantClusters)
	}
	// Redelivered, the batches change nothing.
	for _, part := range delivered {
		for k, err := range batch(ctx, part) {
			if err != nil {
				t.Fatalf("again, %s: %v", part[k].Type, err)
			}
		}
	}
	if ex, failed, clusters := state(batched); ex != wantEx || failed != wantFailed || !slices.Equal(clusters, wantClusters) {
		t.Fatalf("after a redelivery: %d examples (%d failed), clusters %v", ex, failed, clusters)
	}
}
