package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"
)

// closingMemory counts the memories RunWorlds closes.
type closingMemory struct {
	OracleMemory
	closed *int
	mu     *sync.Mutex
}

func (m *closingMemory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	*m.closed++
	return nil
}

func TestRunWorlds(t *testing.T) {
	var mu sync.Mutex
	var slots []string
	closed := 0
	factory := func(_ context.Context, s Slot) (Memory, error) {
		mu.Lock()
		slots = append(slots, s.String())
		mu.Unlock()
		if s.Arm == "oracle" {
			return &closingMemory{closed: &closed, mu: &mu}, nil
		}
		return NoMemory{}, nil
	}
	cfg := WorldsConfig{Seed: 0x5eed, Worlds: 3, Episodes: 12, Arms: []string{"none", "oracle"}}
	var results []*WorldsResult
	for _, par := range []int{1, 3} {
		cfg.Parallel = par
		slots, closed = nil, 0
		res, err := RunWorlds(context.Background(), cfg, factory)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
		if len(slots) != 12 || closed != 6 {
			t.Fatalf("parallel %d: %d slots made, %d closed: want 12 and 6", par, len(slots), closed)
		}
		slices.Sort(slots)
		for w := range 3 {
			for _, arm := range cfg.Arms {
				for _, ag := range []string{AgentDefault, AgentCautious} {
					if s := fmt.Sprintf("w%d/%s/%s", w, arm, ag); !slices.Contains(slots, s) {
						t.Fatalf("no slot %s in %v", s, slots)
					}
				}
			}
		}
		if len(res.Runs) != 12 || len(res.PerWorld) != 3 || len(res.Worlds) != 3 {
			t.Fatalf("%d runs, %d worlds", len(res.Runs), len(res.PerWorld))
		}
		for _, k := range []string{"none.success", "none.cautious_success", "oracle.success", "oracle.cautious_success", "oracle.guard_fpr", "none.guard_tpr_repeat"} {
			if _, ok := res.Mean[k]; !ok || res.N[k] != 3 {
				t.Fatalf("figure %s: mean present %v over %d worlds", k, ok, res.N[k])
			}
		}
		if res.Mean["oracle.success"] < 0.95 || res.Mean["oracle.success"] <= res.Mean["none.success"] {
			t.Fatalf("oracle %.2f, none %.2f", res.Mean["oracle.success"], res.Mean["none.success"])
		}
	}
	for i := range results[0].PerWorld {
		if !maps.Equal(results[0].PerWorld[i], results[1].PerWorld[i]) {
			t.Fatalf("world %d: figures depend on Parallel", i)
		}
	}
	// Each world's mean is the mean of the per-world figures.
	res := results[0]
	var xs []float64
	for _, pw := range res.PerWorld {
		xs = append(xs, pw["none.success"])
	}
	if m, sd := MeanSD(xs); m != res.Mean["none.success"] || sd != res.SD["none.success"] {
		t.Fatal("mean and sd are not those of the worlds' figures")
	}
}

func TestRunWorldsStopsOnFactoryError(t *testing.T) {
	boom := errors.New("boom")
	_, err := RunWorlds(context.Background(), WorldsConfig{Seed: 1, Worlds: 2, Episodes: 3, Arms: []string{"x"}, Parallel: 2},
		func(context.Context, Slot) (Memory, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if _, err := RunWorlds(context.Background(), WorldsConfig{Seed: 1, Worlds: 1, Episodes: 1, Arms: []string{"x"}, Agents: []string{"reckless"}},
		func(context.Context, Slot) (Memory, error) { return NoMemory{}, nil }); err == nil {
		t.Fatal("an unknown agent variant was accepted")
	}
}

func TestMeanSD(t *testing.T) {
	for _, c := range []struct {
		xs       []float64
		mean, sd float64
	}{
		{nil, 0, 0}, {[]float64{0.5}, 0.5, 0}, {[]float64{1, 3}, 2, math.Sqrt2}, {[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7)},
	} {
		m, sd := MeanSD(c.xs)
		if math.Abs(m-c.mean) > 1e-12 || math.Abs(sd-c.sd) > 1e-12 {
			t.Errorf("MeanSD(%v) = %v, %v; want %v, %v", c.xs, m, sd, c.mean, c.sd)
		}
	}
}

// Calibration of the generated worlds and the agent's noise: without
// memory the agent solves about half the tasks, with the oracle nearly all,
// whether it obeys the oracle's guard or not.
func TestCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 2,000 episodes")
	}
	res, err := RunWorlds(context.Background(), WorldsConfig{Seed: 0xca1, Worlds: 10, Episodes: 50, Arms: []string{"none", "oracle"}, Parallel: 2},
		func(_ context.Context, s Slot) (Memory, error) {
			if s.Arm == "oracle" {
				return &OracleMemory{}, nil
			}
			return NoMemory{}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		k      string
		lo, hi float64
	}{{"none.success", 0.42, 0.63}, {"oracle.success", 0.99, 1}, {"oracle.cautious_success", 0.97, 1}} {
		m := res.Mean[c.k]
		if m < c.lo || m > c.hi {
			t.Errorf("%s %.3f ± %.3f over 10 worlds, want %.2f-%.2f", c.k, m, res.SD[c.k], c.lo, c.hi)
		}
		t.Logf("%s %.3f ± %.3f", c.k, m, res.SD[c.k])
	}
}

// BenchmarkEpisode measures one generated episode in-process: the agent and
// the world's simulation, with no memory and with the oracle (whose guard
// probes every candidate). Tasks are generated before the clock starts, as
// RunWorlds generates each once for all the slots of a world.
func BenchmarkEpisode(b *testing.B) {
	for _, arm := range []string{"none", "oracle"} {
		b.Run(arm, func(b *testing.B) {
			type job struct {
				w    *World
				spec EpisodeSpec
			}
			var jobs []job
			for _, s := range testSeeds(4) {
				w := Generate(s, GenConfig{DriftAt: 50})
				for _, spec := range Schedule(s, 50, w.Families(), 0.35) {
					if _, err := w.NewTask(spec); err != nil {
						b.Fatal(err)
					}
					jobs = append(jobs, job{w, spec})
				}
			}
			n := 0
			for b.Loop() {
				j := jobs[n%len(jobs)]
				var mem Memory = NoMemory{}
				if arm == "oracle" {
					mem = &OracleMemory{}
				}
				if _, err := Run(context.Background(), j.w, mem, []EpisodeSpec{j.spec}, RunConfig{Agent: DefaultAgentConfig()}); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}
