package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
)

// PairedSteps compares steps on the episodes both runs solved (matched by
// episode index), which removes the bias of an arm that also solves the
// harder, longer tasks the other fails.
func PairedSteps(base, arm []EpisodeResult) (baseMean, armMean float64, n int) {
	ok := map[int]int{}
	for _, e := range base {
		if e.Success {
			ok[e.Index] = e.Steps
		}
	}
	var bs, as int
	for _, e := range arm {
		if s, found := ok[e.Index]; found && e.Success {
			bs += s
			as += e.Steps
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return float64(bs) / float64(n), float64(as) / float64(n), n
}

// ForgettingConfig sets up the forgetting protocol: learn one family, measure
// it, train on the other families until the memory has made UpdatesTarget
// adapter updates, and measure the first family again on the same tasks.
type ForgettingConfig struct {
	Seed          uint64
	Family        string   // the family learnt first
	Others        []string // the families trained on afterwards
	LearnEpisodes int      // recorded episodes of Family
	EvalEpisodes  int      // unrecorded episodes of Family, played before and after
	LongShare     float64
	// UpdatesTarget is how many adapter updates must happen in between
	// (the issue says 100).
	UpdatesTarget int
	// Updates reads the memory's adapter update counter. When nil, every
	// recorded episode counts as one update, a proxy for memories without
	// an adapter.
	Updates func(context.Context) (int, error)
	// AdapterVersions, when set, reads how many adapter versions the
	// memory has trained; the result reports how many were trained in
	// between, whatever counted as an update.
	AdapterVersions func(context.Context) (int, error)
	// MaxEpisodes caps the episodes played in between.
	MaxEpisodes int
	// StartIndex is the episode index the protocol starts at (drift rules
	// read it).
	StartIndex int
}

// ForgettingResult is the outcome of the forgetting protocol.
type ForgettingResult struct {
	Family string
	Before Rate // success right after learning
	After  Rate // success after the intervening updates
	// Forgetting is Before minus After, in percentage points.
	Forgetting float64
	Updates    int
	// AdapterUpdates is how many adapter versions were trained in between
	// (-1: not read).
	AdapterUpdates int
	Intervening    int // episodes played in between
	Learn          []EpisodeResult
	EvalBefore     []EpisodeResult
	Between        []EpisodeResult
	EvalAfter      []EpisodeResult
}

// RunForgetting plays the forgetting protocol against mem.
func RunForgetting(ctx context.Context, w *World, mem Memory, agent AgentConfig, cfg ForgettingConfig) (ForgettingResult, error) {
	res := ForgettingResult{Family: cfg.Family}
	if len(cfg.Others) == 0 || cfg.EvalEpisodes <= 0 {
		return res, fmt.Errorf("sim: forgetting needs other families and eval episodes")
	}
	if cfg.MaxEpisodes <= 0 {
		cfg.MaxEpisodes = 10 * max(cfg.UpdatesTarget, 1)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xf0f0))
	idx := cfg.StartIndex
	specs := func(fams []string, n int) []EpisodeSpec {
		out := make([]EpisodeSpec, n)
		for i := range out {
			out[i] = EpisodeSpec{Index: idx, Family: fams[i%len(fams)], Long: rng.Float64() < cfg.LongShare, Seed: rng.Uint64()}
			idx++
		}
		return out
	}
	learn := specs([]string{cfg.Family}, cfg.LearnEpisodes)
	eval := specs([]string{cfg.Family}, cfg.EvalEpisodes)
	var err error
	if res.Learn, err = Run(ctx, w, mem, learn, RunConfig{Agent: agent}); err != nil {
		return res, err
	}
	if res.EvalBefore, err = Run(ctx, w, mem, eval, RunConfig{Agent: agent, NoRecord: true}); err != nil {
		return res, err
	}
	start, err := updates(ctx, cfg, 0)
	if err != nil {
		return res, err
	}
	res.AdapterUpdates = -1
	versions := 0
	if cfg.AdapterVersions != nil {
		if versions, err = cfg.AdapterVersions(ctx); err != nil {
			return res, err
		}
	}
	for res.Updates < cfg.UpdatesTarget && res.Intervening < cfg.MaxEpisodes {
		spec := specs(cfg.Others, 1)
		spec[0].Family = cfg.Others[res.Intervening%len(cfg.Others)]
		eps, err := Run(ctx, w, mem, spec, RunConfig{Agent: agent})
		if err != nil {
			return res, err
		}
		res.Between = append(res.Between, eps...)
		res.Intervening++
		n, err := updates(ctx, cfg, res.Intervening)
		if err != nil {
			return res, err
		}
		res.Updates = n - start
	}
	if cfg.AdapterVersions != nil {
		n, err := cfg.AdapterVersions(ctx)
		if err != nil {
			return res, err
		}
		res.AdapterUpdates = n - versions
	}
	// The same tasks and agent streams as before, so only memory changed.
	if res.EvalAfter, err = Run(ctx, w, mem, slices.Clone(eval), RunConfig{Agent: agent, NoRecord: true}); err != nil {
		return res, err
	}
	res.Before = ComputeMetrics(res.EvalBefore, MetricsConfig{}).Success
	res.After = ComputeMetrics(res.EvalAfter, MetricsConfig{}).Success
	res.Forgetting = 100 * (res.Before.Rate - res.After.Rate)
	return res, nil
}

func updates(ctx context.Context, cfg ForgettingConfig, episodes int) (int, error) {
	if cfg.Updates == nil {
		return episodes, nil
	}
	return cfg.Updates(ctx)
}
