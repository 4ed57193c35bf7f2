package sparse

import (
	"fmt"
	"sync"
)

// Trainer holds a model's parameters in mutable form for online updates: the
// worker calls Observe within seconds of new evidence and publishes Snapshot
// to the scorers; the periodic refit (Train) hands its model to Reset.
// Its methods are safe for concurrent use.
type Trainer struct {
	mu         sync.Mutex
	cfg        Config
	s          *state
	calA, calB float64
	info       Info
	replay     reservoir
	gen        uint64 // bumped by Reset: replay caches from older states are stale
	batch      []*item
	drawn      []*slot
}

// NewTrainer starts online training from m (nil: the prior model of cfg),
// whose shape must match cfg. history seeds the replay reservoir, typically
// with the examples m was trained on; they are not counted again as
// evidence.
func NewTrainer(m *Model, history []Example, cfg Config) (*Trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	for i := range history {
		if err := checkExample(&history[i], &cfg); err != nil {
			return nil, fmt.Errorf("sparse: history example %d: %w", i, err)
		}
	}
	t := &Trainer{cfg: cfg, replay: newReservoir(cfg.ReplayCapacity, cfg.Seed^0x2545f4914f6cdd1d)}
	if err := t.reset(m); err != nil {
		return nil, err
	}
	for _, e := range history {
		t.replay.add(e)
	}
	return t, nil
}

// Reset replaces the parameters with those of m (a fresh refit), keeping
// the replay reservoir: examples observed while the refit ran are still
// replayed. Observe them again after Reset if the refit did not see them.
func (t *Trainer) Reset(m *Model) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reset(m)
}

func (t *Trainer) reset(m *Model) error {
	s, err := newState(&t.cfg, m, true)
	if err != nil {
		return err
	}
	s.newRowNoise = initNoise
	s.factorRate = t.cfg.OnlineFactorRate
	t.s, t.calA, t.calB, t.info = s, 1, 0, Info{Seed: t.cfg.Seed, ValLoss: nanF(), CalLoss: nanF()}
	if m != nil {
		t.calA, t.calB, t.info = m.calA, m.calB, m.info
	}
	t.gen++
	return nil
}

// Observe applies new labelled examples: they are added to the model's
// evidence, then OnlineSteps Adam steps are taken, each on the new examples
// together with OnlineReplay examples drawn from the reservoir so that what
// was learnt before is rehearsed rather than overwritten; finally the
// examples join the reservoir. Invalid examples are rejected before anything
// changes.
func (t *Trainer) Observe(examples []Example) error {
	for i := range examples {
		if err := checkExample(&examples[i], &t.cfg); err != nil {
			return fmt.Errorf("sparse: example %d: %w", i, err)
		}
	}
	if len(examples) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.s
	fresh := make([]item, len(examples))
	var buf []ent
	for i := range examples {
		fresh[i], buf = s.resolve(&examples[i], buf)
		s.count(&fresh[i])
	}
	for range t.cfg.OnlineSteps {
		batch := t.batch[:0]
		for i := range fresh {
			batch = append(batch, &fresh[i])
		}
		t.drawn = t.replay.draw(t.cfg.OnlineReplay, t.drawn)
		for _, sl := range t.drawn {
			batch = append(batch, t.cached(sl))
		}
		t.batch = batch
		s.lossGrad(batch)
		s.step(t.cfg.OnlineLearnRate)
	}
	for _, e := range examples {
		t.replay.add(e)
	}
	t.info.Updates++
	t.info.Observed += uint64(len(examples))
	return nil
}

// cached returns a replay slot's item resolved against the current state.
// A replayed feature the state holds no evidence for (the refit after which
// Reset was called never saw it) is counted once, so that its L2 share in
// lossGrad is defined.
func (t *Trainer) cached(sl *slot) *item {
	if sl.gen != t.gen {
		sl.it, _ = t.s.resolve(&sl.ex, nil)
		sl.gen = t.gen
		for _, e := range sl.it.call {
			if t.s.call.n[e.row] == 0 {
				t.s.call.n[e.row] = sl.it.w
			}
		}
		for _, e := range sl.it.ctx {
			if t.s.ctx.n[e.row] == 0 {
				t.s.ctx.n[e.row] = sl.it.w
			}
		}
		if t.s.biasN == 0 {
			t.s.biasN = sl.it.w
		}
	}
	return &sl.it
}

// Snapshot returns an immutable copy of the current parameters, for
// publishing. Its Info counts the updates since the refit.
func (t *Trainer) Snapshot() *Model {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.model(&t.cfg, t.calA, t.calB, t.info)
}

// ReplayLen returns the number of examples held for replay.
func (t *Trainer) ReplayLen() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.replay.slots)
}
