package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
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

// AdapterCount is how many adapter versions a memory has trained so far
// (candidates, whatever the gate decided) and how many of them it published
// (made active).
type AdapterCount struct {
	Trained   int
	Published int
}

// UpdateKind says what the forgetting protocol counts as one adapter update.
type UpdateKind string

// Update kinds.
const (
	// UpdateTrained counts every trained candidate: new training data went
	// through the trainer, whether or not the gate let the candidate serve.
	UpdateTrained UpdateKind = "trained"
	// UpdatePublished counts only versions the gate published.
	UpdatePublished UpdateKind = "published"
)

func (k UpdateKind) of(c AdapterCount) int {
	if k == UpdatePublished {
		return c.Published
	}
	return c.Trained
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
	// Adapter reads the memory's adapter counters. When nil, every
	// recorded episode counts as one update, a proxy for memories without
	// an adapter.
	Adapter func(context.Context) (AdapterCount, error)
	// Count is what counts as an update ("": UpdateTrained).
	Count UpdateKind
	// UpdateWait is how long the protocol waits, after each recorded
	// episode of the other families, for the counted adapter counter to
	// move before it plays the next episode (0: 60 s); UpdatePoll is how
	// often it reads the counters meanwhile (0: 200 ms). An episode after
	// which no update came in time is counted in the result's Timeouts.
	UpdateWait time.Duration
	UpdatePoll time.Duration
	// MaxEpisodes caps the episodes played in between (0: three times
	// UpdatesTarget).
	MaxEpisodes int
	// StartIndex is the episode index the protocol starts at (drift rules
	// read it).
	StartIndex int
	// Progress, when set, is called after each intervening episode with
	// the updates counted and the episodes played so far.
	Progress func(updates, episodes int)
}

// ForgettingResult is the outcome of the forgetting protocol.
type ForgettingResult struct {
	Family string
	Before Rate // success right after learning
	After  Rate // success after the intervening updates
	// Forgetting is Before minus After, in percentage points.
	Forgetting float64
	// Updates is how many updates were counted in between: adapter
	// versions of the config's Count kind, or recorded episodes when Proxy.
	Updates int
	Proxy   bool
	Count   UpdateKind
	// Trained and Published are the adapter versions trained and
	// published in between (-1: not read).
	Trained   int
	Published int
	// Timeouts counts intervening episodes after which no update came
	// within UpdateWait.
	Timeouts    int
	Intervening int // episodes played in between
	Learn       []EpisodeResult
	EvalBefore  []EpisodeResult
	Between     []EpisodeResult
	EvalAfter   []EpisodeResult
}

// RunForgetting plays the forgetting protocol against mem. With an Adapter
// counter it waits after each intervening episode until the memory has
// made one more update (or UpdateWait passed), so the second evaluation
// rests on UpdatesTarget real updates, not on a number of episodes.
func RunForgetting(ctx context.Context, w *World, mem Memory, agent AgentConfig, cfg ForgettingConfig) (ForgettingResult, error) {
	res := ForgettingResult{Family: cfg.Family, Proxy: cfg.Adapter == nil, Count: cfg.Count, Trained: -1, Published: -1}
	if res.Count == "" {
		res.Count = UpdateTrained
	}
	if len(cfg.Others) == 0 || cfg.EvalEpisodes <= 0 {
		return res, fmt.Errorf("sim: forgetting needs other families and eval episodes")
	}
	if cfg.MaxEpisodes <= 0 {
		cfg.MaxEpisodes = 3 * max(cfg.UpdatesTarget, 1)
	}
	if cfg.UpdateWait <= 0 {
		cfg.UpdateWait = time.Minute
	}
	if cfg.UpdatePoll <= 0 {
		cfg.UpdatePoll = 200 * time.Millisecond
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
	var start, now AdapterCount
	if cfg.Adapter != nil {
		if start, err = cfg.Adapter(ctx); err != nil {
			return res, err
		}
		now = start
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
		if cfg.Adapter == nil {
			res.Updates = res.Intervening
			if cfg.Progress != nil {
				cfg.Progress(res.Updates, res.Intervening)
			}
			continue
		}
		var moved bool
		if now, moved, err = waitUpdate(ctx, cfg, res.Count, now); err != nil {
			return res, err
		}
		if !moved {
			res.Timeouts++
		}
		res.Updates = res.Count.of(now) - res.Count.of(start)
		if cfg.Progress != nil {
			cfg.Progress(res.Updates, res.Intervening)
		}
	}
	if cfg.Adapter != nil {
		res.Trained, res.Published = now.Trained-start.Trained, now.Published-start.Published
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

// waitUpdate polls the adapter counters until the counted one exceeds
// last's, or until cfg.UpdateWait has passed; it returns the last reading
// and whether the counter moved.
func waitUpdate(ctx context.Context, cfg ForgettingConfig, kind UpdateKind, last AdapterCount) (AdapterCount, bool, error) {
	deadline := time.Now().Add(cfg.UpdateWait)
	for {
		c, err := cfg.Adapter(ctx)
		if err != nil {
			return last, false, err
		}
		if kind.of(c) > kind.of(last) {
			return c, true, nil
		}
		if !time.Now().Before(deadline) {
			return c, false, nil
		}
		select {
		case <-ctx.Done():
			return c, false, ctx.Err()
		case <-time.After(cfg.UpdatePoll):
		}
	}
}
