package simhttp_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/simhttp"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// embedFile is the real word vectors when the checkout has them
// (scripts/embeddings.sh), else the test vocabulary.
func embedFile(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("..", "..", ".data", "embed", "glove-50k.bin"))
	if err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return failurestest.WordVectorFile(t)
}

// TestClosedLoopFullBeatsNone is the benchmark's smoke test: a short seeded
// closed loop through the real API and the real worker (clustering failures
// for guard), full admem against no memory on the same episodes. The full
// arm must succeed more often and repeat fewer mistakes. Three rounds of the
// eight families keep it to a minute or two under -race on a loaded
// machine; the none arm needs no HTTP at all.
func TestClosedLoopFullBeatsNone(t *testing.T) {
	const (
		seed     = 7
		episodes = 24
	)
	// The worker trains adapters as make bench-sim has it do: every few
	// seconds, once a new labelled step arrived.
	env := apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", embedFile(t)),
		apitest.WithEnv("ADMEM_ADAPTER_TRAIN_EVERY", "3s"), apitest.WithEnv("ADMEM_ADAPTER_MIN_NEW", "1"))
	ctx, stop := context.WithCancel(context.Background())
	w := worker.New(env.Config, env.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()

	world := sim.NewWorld(sim.Config{Seed: seed, DriftAt: episodes / 2})
	sched := sim.Schedule(seed, episodes, world.Families(), 0.35)
	metrics := map[simhttp.Arm]sim.Metrics{}
	for _, arm := range []simhttp.Arm{simhttp.ArmNone, simhttp.ArmFull} {
		_, key := env.TrustedTenant(t, "sim-"+string(arm))
		mem, hm, err := simhttp.New(simhttp.Config{BaseURL: env.URL, Key: key, HTTP: env.HTTP, Arm: arm, SyncRecord: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		eps, err := sim.Run(ctx, world, mem, sched, sim.RunConfig{Arm: string(arm), Agent: sim.DefaultAgentConfig()})
		if err != nil {
			t.Fatalf("%s: %v", arm, err)
		}
		memErrs := 0
		for _, e := range eps {
			memErrs += e.MemoryErrors
		}
		if memErrs > 0 {
			t.Errorf("%s: %d memory calls failed", arm, memErrs)
		}
		m := sim.ComputeMetrics(eps, sim.MetricsConfig{Window: 8})
		metrics[arm] = m
		t.Logf("%-5s SR %.2f (%d/%d)  long %.2f (n=%d)  FRR %.2f (n=%d)  RMR %.2f (%d/%d)  steps/succ %.1f  guard warned %d blocked %d suggested %d",
			arm, m.Success.Rate, m.Success.Hits, m.Success.N, m.LongHorizon.Rate, m.LongHorizon.N, m.FRR.Rate, m.FRR.N,
			m.RMR.Rate, m.RMR.Hits, m.RMR.N, m.StepsPerSuccess, m.Guard.Warned, m.Guard.Blocked, m.Guard.Suggested)
		if hm != nil {
			// The forgetting protocol's counters: the worker trained the
			// full arm's adapter from its episodes.
			c, err := hm.AdapterCounts(ctx)
			if err != nil || c.Trained < 1 || c.Published > c.Trained {
				t.Errorf("%s: adapter versions %+v, %v: want at least one trained", arm, c, err)
			}
			t.Logf("%-5s adapter versions trained %d, published %d", arm, c.Trained, c.Published)
			if err := hm.LearnerError(); err != nil {
				t.Logf("%-5s Record did not always wait for the learning to catch up: %v", arm, err)
			}
			ttl, never := hm.TimeToLearn()
			t.Logf("%-5s time-to-learn: %d signatures cited by guard, %d never; recalled items %v; recall fallbacks %d", arm, len(ttl), never, hm.Recalled(), hm.Fallbacks())
		}
	}
	full, none := metrics[simhttp.ArmFull], metrics[simhttp.ArmNone]
	if full.Success.Rate <= none.Success.Rate {
		t.Errorf("full admem succeeds %.2f, no memory %.2f: want full > none", full.Success.Rate, none.Success.Rate)
	}
	if full.RMR.Rate >= none.RMR.Rate {
		t.Errorf("full admem repeats %.2f of its mistakes, no memory %.2f: want full < none", full.RMR.Rate, none.RMR.Rate)
	}
}

// TestGeneratedWorldThroughAPI plays a generated world through the real API
// with RunWorlds, both agents on fresh tenants: the loop the benchmark runs
// by default. Every memory call must work and the guard quality metrics
// must have something to count.
func TestGeneratedWorldThroughAPI(t *testing.T) {
	env := apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", embedFile(t)))
	ctx, stop := context.WithCancel(context.Background())
	w := worker.New(env.Config, env.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()

	res, err := sim.RunWorlds(ctx, sim.WorldsConfig{Seed: 0x5eed, Worlds: 1, Episodes: 6, Arms: []string{string(simhttp.ArmFull)}},
		func(ctx context.Context, s sim.Slot) (sim.Memory, error) {
			_, key := env.TrustedTenant(t, "sim-"+s.Agent)
			mem, _, err := simhttp.New(simhttp.Config{BaseURL: env.URL, Key: key, HTTP: env.HTTP, Arm: simhttp.ArmFull, SyncRecord: 20 * time.Second})
			return mem, err
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Runs {
		judged, memErrs := 0, 0
		for _, e := range r.Episodes {
			judged += len(e.Judged)
			memErrs += e.MemoryErrors
		}
		q := r.Metrics.Quality
		t.Logf("%s: success %.2f, guard FPR %.2f (n=%d), TPR on repeats %.2f (n=%d), suggestions %d, foreign %d",
			r.Slot, r.Metrics.Success.Rate, q.GuardFPR.Rate, q.GuardFPR.N, q.GuardTPRRepeat.Rate, q.GuardTPRRepeat.N, q.Suggestions, q.ForeignLiterals)
		if memErrs > 0 || judged == 0 || q.GuardFPR.N == 0 {
			t.Errorf("%s: %d memory errors, %d judged candidates", r.Slot, memErrs, judged)
		}
	}
}
