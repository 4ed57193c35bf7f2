package worker_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/trajectories"
	"github.com/admem/admem/internal/worker"
)

var learnN = flag.Int("learn.n", 300, "trajectories BenchmarkLearnerBatch records and learns per iteration")

// BenchmarkLearnerBatch measures the worker's learning pass in process, with
// no stream and no HTTP in between: each iteration records -learn.n
// trajectories of a generated world in a fresh tenant, then hands their
// events (and the learned.changed events learning causes) to the worker's
// batch handler in the consumer's batch size until none is pending, and
// reports the trajectories' events learnt per second.
//
//	go test -run X -bench LearnerBatch -benchtime 1x ./internal/worker/
//	ADMEM_BENCH_EMBED_FILE=$PWD/.data/embed/glove-50k.bin go test -run X -bench LearnerBatch -benchtime 1x -cpuprofile cpu.out ./internal/worker/
func BenchmarkLearnerBatch(b *testing.B) {
	file := os.Getenv("ADMEM_BENCH_EMBED_FILE")
	if file == "" {
		file = failurestest.WordVectorFile(b)
	}
	env := apitest.New(b, apitest.WithEnv("ADMEM_EMBED_FILE", file))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	pool := playWorld(b, 1, *learnN)
	svc := trajectories.New(env.Infra.DB, trajectories.NewLearner(), log)
	handle := worker.LearnerBatchHandler(env.Config, env.Infra, log)
	batch := events.DefaultConfig("", "").Batch
	var learnt int
	var spent, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		tenantID, _ := env.Tenant(b, "learner-bench")
		record(b, svc, tenantID, pool)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		drain(b, env, tenantID, func(evs []admem.Event) {
			for i := 0; i < len(evs); i += batch {
				part := evs[i:min(i+batch, len(evs))]
				for k, err := range handle(ctx, part) {
					if err != nil {
						b.Fatalf("%s: %v", part[k].Type, err)
					}
				}
			}
			for _, ev := range evs {
				if ev.Type == admem.EventTrajectoryRecorded || ev.Type == admem.EventStepFailed {
					learnt++
				}
			}
		})
		spent += time.Since(start)
		cpu += cpuTime(b) - cpu0
	}
	b.ReportMetric(float64(learnt)/spent.Seconds(), "events/s")
	// What the pass itself costs, less sensitive than the rate to other
	// work on the machine (Postgres's share is not in it).
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(learnt), "cpu_ms/event")
}

// playWorld plays n episodes of a generated world (of seed) with no
// memory and returns their trajectories.
func playWorld(tb testing.TB, seed uint64, n int) []admem.Trajectory {
	tb.Helper()
	w := sim.Generate(sim.WorldSeeds(seed, 1)[0], sim.GenConfig{})
	eps, err := sim.Run(context.Background(), w, sim.NoMemory{}, sim.Schedule(seed, n, w.Families(), 0.2),
		sim.RunConfig{Arm: "none", Agent: sim.DefaultAgentConfig()})
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]admem.Trajectory, len(eps))
	for i, ep := range eps {
		out[i] = ep.Trajectory
	}
	return out
}

// record stores the trajectories in the tenant, a hundred at a time.
func record(tb testing.TB, svc *trajectories.Service, tenantID string, ts []admem.Trajectory) {
	tb.Helper()
	p := admem.Principal{TenantID: tenantID, Scopes: []admem.KeyScope{admem.ScopeAdmin}}
	for i := 0; i < len(ts); i += 100 {
		if _, err := svc.Record(context.Background(), p, ts[i:min(i+100, len(ts))]); err != nil {
			tb.Fatal(err)
		}
	}
}

// drain hands the tenant's pending events to apply, as the relay would,
// until learning leaves none (learned.changed events come after).
func drain(tb testing.TB, env *apitest.Env, tenantID string, apply func([]admem.Event)) {
	tb.Helper()
	ctx := context.Background()
	for {
		evs, err := env.Infra.DB.PendingEvents(ctx, tenantID)
		if err != nil {
			tb.Fatal(err)
		}
		if len(evs) == 0 {
			return
		}
		if _, err := env.Infra.DB.RelayOutbox(ctx, len(evs), nil, func([]admem.Event) ([]string, error) { return nil, nil }); err != nil {
			tb.Fatal(err)
		}
		apply(evs)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
