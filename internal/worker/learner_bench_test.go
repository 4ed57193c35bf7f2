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
	w := sim.Generate(sim.WorldSeeds(1, 1)[0], sim.GenConfig{})
	eps, err := sim.Run(ctx, w, sim.NoMemory{}, sim.Schedule(1, *learnN, w.Families(), 0.2),
		sim.RunConfig{Arm: "none", Agent: sim.DefaultAgentConfig()})
	if err != nil {
		b.Fatal(err)
	}
	pool := make([]admem.Trajectory, len(eps))
	for i, ep := range eps {
		pool[i] = ep.Trajectory
	}
	svc := trajectories.New(env.Infra.DB, trajectories.NewLearner(), log)
	handle := worker.LearnerBatchHandler(env.Config, env.Infra, log)
	batch := events.DefaultConfig("", "").Batch
	var learnt int
	var spent, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		tenantID, _ := env.Tenant(b, "learner-bench")
		p := admem.Principal{TenantID: tenantID, Scopes: []admem.KeyScope{admem.ScopeAdmin}}
		for i := 0; i < len(pool); i += 100 {
			if _, err := svc.Record(ctx, p, pool[i:min(i+100, len(pool))]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		for {
			evs, err := env.Infra.DB.PendingEvents(ctx, tenantID)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			if _, err := env.Infra.DB.RelayOutbox(ctx, len(evs), nil, func([]admem.Event) error { return nil }); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < len(evs); i += batch {
				part := evs[i:min(i+batch, len(evs))]
				for k, err := range handle(ctx, part) {
					if err != nil {
						b.Fatalf("%s: %v", part[k].Type, err)
					}
				}
				for _, ev := range part {
					if ev.Type == admem.EventTrajectoryRecorded || ev.Type == admem.EventStepFailed {
						learnt++
					}
				}
			}
		}
		spent += time.Since(start)
		cpu += cpuTime(b) - cpu0
	}
	b.ReportMetric(float64(learnt)/spent.Seconds(), "events/s")
	// What the pass itself costs, less sensitive than the rate to other
	// work on the machine (Postgres's share is not in it).
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(learnt), "cpu_ms/event")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
