package sim

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// Agent variants RunWorlds plays.
const (
	AgentDefault  = "default"  // DefaultAgentConfig
	AgentCautious = "cautious" // CautiousAgentConfig
)

// Slot names one run of RunWorlds: a world, an arm and an agent variant.
// Each slot gets a fresh memory from the factory.
type Slot struct {
	World int    // the world's position in the run (0-based)
	W     *World // the world; immutable, shared by the slot's of the same world
	Arm   string // one of WorldsConfig.Arms, passed through as given
	Agent string // AgentDefault or AgentCautious
}

// String names the slot for logs and tenant names: w3/full/cautious.
func (s Slot) String() string { return fmt.Sprintf("w%d/%s/%s", s.World, s.Arm, s.Agent) }

// MemoryFactory returns a fresh memory for a slot: the arm's memory, empty,
// that will serve that slot's episodes and nothing else. RunWorlds calls it
// once per slot, possibly from several goroutines at once (WorldsConfig.
// Parallel), and closes the memory after the slot's last episode when it
// implements io.Closer. An error stops the whole run.
type MemoryFactory func(ctx context.Context, s Slot) (Memory, error)

// WorldsConfig configures RunWorlds.
type WorldsConfig struct {
	// Seed derives the world seeds (WorldSeeds) and, with each world's,
	// the world's episode schedule; never pick a world by hand.
	Seed   uint64
	Worlds int
	// Episodes is the number of episodes per slot; every arm and agent of
	// a world plays the same schedule.
	Episodes int
	// LongShare is the share of long-horizon tasks (0: 0.35).
	LongShare float64
	Arms      []string
	// Agents lists agent variants (nil: both, default first).
	Agents []string
	// Gen configures the worlds; Gen.DriftAt 0 means half-way through the
	// episodes (a negative DriftAt: never).
	Gen GenConfig
	// Parallel is how many slots run at once (0: 1).
	Parallel int
	// Window is the learning-curve window (0: 50).
	Window int
	// OnEpisode, when set, is called after each episode of each slot; with
	// Parallel > 1 it is called from several goroutines.
	OnEpisode func(Slot, EpisodeResult)
	// OnRun, when set, is called after each slot's last episode, before
	// its memory is closed, with the slot's result.
	OnRun func(Slot, *RunResult)
}

// RunResult is one slot's episodes and metrics.
type RunResult struct {
	Slot     Slot
	Episodes []EpisodeResult
	Metrics  Metrics
	Duration time.Duration
}

// WorldsResult is what RunWorlds returns.
type WorldsResult struct {
	Seeds  []uint64
	Worlds []*World
	// Runs holds every slot's result, ordered by world, then arm, then
	// agent as configured.
	Runs []*RunResult
	// PerWorld[i] maps "ARM.METRIC" to world i's figure (see Figures); a
	// rate with an empty denominator is left out.
	PerWorld []map[string]float64
	// Mean and SD are each figure's mean and sample standard deviation over
	// the worlds that have it; N counts those worlds.
	Mean, SD map[string]float64
	N        map[string]int
}

// RunWorlds generates cfg.Worlds worlds from cfg.Seed and plays, in each,
// every arm with every agent variant on a fresh memory from newMem, over the
// same schedule of cfg.Episodes episodes. It returns each slot's episodes
// and metrics and every figure per world, with its mean and standard
// deviation over the worlds. Results do not depend on Parallel.
func RunWorlds(ctx context.Context, cfg WorldsConfig, newMem MemoryFactory) (*WorldsResult, error) {
	if cfg.Worlds <= 0 || cfg.Episodes <= 0 || len(cfg.Arms) == 0 {
		return nil, fmt.Errorf("sim: RunWorlds needs worlds, episodes and arms (got %d, %d, %v)", cfg.Worlds, cfg.Episodes, cfg.Arms)
	}
	if cfg.LongShare == 0 {
		cfg.LongShare = 0.35
	}
	if cfg.Agents == nil {
		cfg.Agents = []string{AgentDefault, AgentCautious}
	}
	for _, a := range cfg.Agents {
		if a != AgentDefault && a != AgentCautious {
			return nil, fmt.Errorf("sim: unknown agent variant %q", a)
		}
	}
	switch {
	case cfg.Gen.DriftAt == 0:
		cfg.Gen.DriftAt = cfg.Episodes / 2
	case cfg.Gen.DriftAt < 0:
		cfg.Gen.DriftAt = 0
	}
	res := &WorldsResult{Seeds: WorldSeeds(cfg.Seed, cfg.Worlds)}
	var slots []Slot
	scheds := make([][]EpisodeSpec, cfg.Worlds)
	for i, seed := range res.Seeds {
		w := Generate(seed, cfg.Gen)
		res.Worlds = append(res.Worlds, w)
		scheds[i] = Schedule(seed^cfg.Seed, cfg.Episodes, w.Families(), cfg.LongShare)
		for _, arm := range cfg.Arms {
			for _, ag := range cfg.Agents {
				slots = append(slots, Slot{World: i, W: w, Arm: arm, Agent: ag})
			}
		}
	}
	res.Runs = make([]*RunResult, len(slots))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range max(1, cfg.Parallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := runSlot(ctx, cfg, slots[i], scheds[slots[i].World], newMem)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("sim: %s: %w", slots[i], err)
					cancel()
				}
				res.Runs[i] = r
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range slots {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.aggregate(cfg.Agents)
	return res, nil
}

func runSlot(ctx context.Context, cfg WorldsConfig, s Slot, sched []EpisodeSpec, newMem MemoryFactory) (*RunResult, error) {
	mem, err := newMem(ctx, s)
	if err != nil {
		return nil, err
	}
	agent := DefaultAgentConfig()
	if s.Agent == AgentCautious {
		agent = CautiousAgentConfig()
	}
	start := time.Now()
	rc := RunConfig{Arm: s.Arm, Agent: agent}
	if cfg.OnEpisode != nil {
		rc.OnEpisode = func(e EpisodeResult) { cfg.OnEpisode(s, e) }
	}
	eps, err := Run(ctx, s.W, mem, sched, rc)
	r := &RunResult{Slot: s, Episodes: eps, Metrics: ComputeMetrics(eps, MetricsConfig{Window: cfg.Window}), Duration: time.Since(start)}
	if err == nil && cfg.OnRun != nil {
		cfg.OnRun(s, r)
	}
	if c, ok := mem.(io.Closer); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return r, err
}

// Figures are a slot's named numbers, without the arm prefix. The default
// agent's slot gives success, long_horizon_success, frr, rmr,
// steps_per_success, guard_fpr, guard_tpr_repeat, transient_warned,
// bad_suggestions, foreign_literals (a count), suggestions (a count),
// transient_steps and gave_up (shares of episodes ended so); the
// cautious agent's gives cautious_success, and all its other figures under
// "cautious.". A rate whose denominator is empty is left out.
func Figures(r *RunResult) map[string]float64 {
	m, q := r.Metrics, r.Metrics.Quality
	out := map[string]float64{}
	set := func(k string, x Rate) {
		if x.N > 0 {
			out[k] = x.Rate
		}
	}
	set("success", m.Success)
	set("long_horizon_success", m.LongHorizon)
	set("frr", m.FRR)
	set("rmr", m.RMR)
	if m.Success.Hits > 0 {
		out["steps_per_success"] = m.StepsPerSuccess
	}
	set("guard_fpr", q.GuardFPR)
	set("guard_tpr_repeat", q.GuardTPRRepeat)
	set("transient_warned", q.TransientWarned)
	set("bad_suggestions", q.BadSuggestions)
	out["foreign_literals"] = float64(q.ForeignLiterals)
	out["suggestions"] = float64(q.Suggestions)
	out["transient_steps"] = float64(m.TransientSteps)
	if m.Episodes > 0 {
		out["gave_up"] = float64(m.Ends[EndGaveUp]+m.Ends[EndCautious]) / float64(m.Episodes)
	}
	if r.Slot.Agent != AgentCautious {
		return out
	}
	c := map[string]float64{}
	for k, v := range out {
		if k != "success" {
			c["cautious."+k] = v
		}
	}
	if v, ok := out["success"]; ok {
		c["cautious_success"] = v
	}
	return c
}

func (res *WorldsResult) aggregate(agents []string) {
	res.PerWorld = make([]map[string]float64, len(res.Worlds))
	for i := range res.PerWorld {
		res.PerWorld[i] = map[string]float64{}
	}
	for _, r := range res.Runs {
		for k, v := range Figures(r) {
			res.PerWorld[r.Slot.World][r.Slot.Arm+"."+k] = v
		}
	}
	vals := map[string][]float64{}
	for _, pw := range res.PerWorld {
		for k, v := range pw {
			vals[k] = append(vals[k], v)
		}
	}
	res.Mean, res.SD, res.N = map[string]float64{}, map[string]float64{}, map[string]int{}
	for k, xs := range vals {
		res.Mean[k], res.SD[k] = MeanSD(xs)
		res.N[k] = len(xs)
	}
}

// MeanSD returns the mean and the sample standard deviation of xs (0 for
// fewer than two values).
func MeanSD(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// Keys returns the figure names of a result, sorted.
func (res *WorldsResult) Keys() []string {
	out := make([]string, 0, len(res.Mean))
	for k := range res.Mean {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
