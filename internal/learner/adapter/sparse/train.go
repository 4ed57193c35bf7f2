package sparse

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Train fits a model to the examples: a full refit from the prior (or from
// warm, when given and of the same shape), by lazy Adam on minibatches with
// L2 to the prior, early stopping on a stratified validation split, then a
// Platt calibration map on that split. The loss is the plain log loss (only
// Example.Weight scales it), so risks are calibrated to the data's own
// failure rate.
//
// A cold start of rank ≥ 1 runs in two stages: the linear part (b, w, g)
// alone, then U and V, initialised from the top singular vectors of the
// failure contrast (see spectralInit), fitted at FactorLearnRate with the
// linear part held. The interaction is kept only if it beats the linear fit
// by interactionMargin on the validation split; without a split (fewer than
// MinValidation examples) it is not fitted at all. A warm start continues
// from warm's parameters in one stage that fits everything.
//
// With a split and fewer than RefitBelow examples, the split only chooses:
// the model is then refit on all examples with the chosen stages and epoch
// counts, since on small data the held-out share is worth more as training
// data than as a stopping signal. The calibration map is the one fitted on
// the split.
//
// Train accepts any data: with no examples it returns the prior model (or
// warm), and data of one class moves the model towards it within the prior's
// pull. Parameters of features that occur in no training example keep their
// starting values.
func Train(examples []Example, cfg Config, warm *Model) (*Model, Info, error) {
	if err := cfg.validate(); err != nil {
		return nil, Info{}, err
	}
	for i := range examples {
		if err := checkExample(&examples[i], &cfg); err != nil {
			return nil, Info{}, fmt.Errorf("sparse: example %d: %w", i, err)
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	trainIdx, valIdx := split(examples, cfg.ValFraction, cfg.MinValidation, rng)
	sel, err := prepare(&cfg, warm, examples, trainIdx, valIdx)
	if err != nil {
		return nil, Info{}, err
	}
	info := Info{Seed: cfg.Seed, TrainN: len(sel.train), ValN: len(sel.val), ValLoss: math.NaN(), CalLoss: math.NaN()}
	for _, it := range sel.train {
		info.TrainFails += int(it.y)
	}
	for _, it := range sel.val {
		info.ValFails += int(it.y)
	}
	info.CreatedAt = cfg.CreatedAt
	if info.CreatedAt.IsZero() {
		info.CreatedAt = time.Now().UTC()
	}
	if len(sel.train) == 0 {
		calA, calB := 1.0, 0.0
		if warm != nil {
			calA, calB = warm.calA, warm.calB
		}
		return sel.s.model(&cfg, calA, calB, info), info, nil
	}

	cold := sel.s.r > 0 && (warm == nil || zeroFactors(warm))
	p := sel.fit(rng, cold, nil, &info)
	info.ValLoss = sel.bestLoss
	calA, calB := 1.0, 0.0
	if len(sel.val) > 0 && cfg.Calibrate && info.ValFails > 0 && info.ValFails < len(sel.val) {
		calA, calB, info.CalLoss = sel.calibrate()
	} else if len(sel.val) > 0 {
		info.CalLoss = info.ValLoss
	}
	final := sel
	if len(sel.val) > 0 && len(examples) < cfg.RefitBelow {
		all := make([]int, len(examples))
		for i := range all {
			all[i] = i
		}
		if final, err = prepare(&cfg, warm, examples, all, nil); err != nil {
			return nil, Info{}, err
		}
		final.fit(rng, cold, &p, &Info{})
		info.Refit = true
		info.TrainN += info.ValN
		info.TrainFails += info.ValFails
	}
	if !final.s.finite() {
		return nil, Info{}, errors.New("sparse: training diverged (non-finite parameters); lower the learn rate")
	}
	return final.s.model(&cfg, calA, calB, info), info, nil
}

// fitter is one fit: a state, its training and validation items, and the
// best parameters seen on the validation split.
type fitter struct {
	s          *state
	cfg        *Config
	train, val []*item
	// best holds the parameters with the lowest validation loss so far and
	// bestLoss that loss; a stage may start with best set to an earlier
	// stage's result, which it must then beat.
	best     *thetaCopy
	bestLoss float64
}

// prepare builds a state from the prior (or warm) and resolves the examples
// into it, counting the training ones as evidence.
func prepare(cfg *Config, warm *Model, examples []Example, trainIdx, valIdx []int) (*fitter, error) {
	s, err := newState(cfg, warm, false)
	if err != nil {
		return nil, err
	}
	total := 0
	for i := range examples {
		total += len(examples[i].Call) + len(examples[i].Context)
	}
	buf := make([]ent, 0, total)
	items := make([]item, len(examples))
	for i := range examples {
		items[i], buf = s.resolve(&examples[i], buf)
	}
	f := &fitter{s: s, cfg: cfg, train: pick(items, trainIdx), val: pick(items, valIdx), bestLoss: math.NaN()}
	for _, it := range f.train {
		s.count(it)
	}
	return f, nil
}

// interactionMargin is the validation log likelihood, in nats, by which the
// fit with the interaction must beat the linear fit for Train to keep it.
var interactionMargin = 1.0

// plan is what a fit with a validation split chose, for replaying it on all
// the data: the epochs of the linear stage (cold starts only), whether the
// interaction stage was kept, and its epochs (of the joint stage for a warm
// start).
type plan struct {
	linear, joint int
	interaction   bool
}

// fit runs the stages. With replay nil it chooses stopping points on the
// validation split (or runs every epoch without one) and returns its
// choices; otherwise it runs replay's epoch counts without looking at any
// validation data.
func (f *fitter) fit(rng *rand.Rand, cold bool, replay *plan, info *Info) plan {
	s := f.s
	var p plan
	epochs := func(chosen int) int {
		if replay == nil {
			return -1
		}
		return chosen
	}
	if !cold {
		s.factorRate = f.cfg.FactorLearnRate / f.cfg.LearnRate
		s.seedZeroFactors(rng)
		if replay != nil {
			p.joint = replay.joint
		}
		p.joint = f.run(rng, epochs(p.joint), info)
		p.interaction = true
		return p
	}
	// Cold: the linear part alone first.
	s.ra = 0
	if replay != nil {
		p = *replay
	}
	p.linear = f.run(rng, epochs(p.linear), info)
	info.LinearEpochs = info.Epochs
	s.ra = s.r
	if replay == nil && len(f.val) == 0 || replay != nil && !replay.interaction {
		// Nothing could show (or nothing showed) that an interaction
		// helps. The factors get noise, so online updates can still grow
		// one.
		s.addNoise(rng)
		return p
	}
	// The interaction is fitted to what the linear part leaves, with the
	// linear part held: trained on together, the linear weights of rare
	// features go on memorising the training examples and leave the
	// interaction nothing but noise to fit (measured on the benchmark world:
	// AUC 0.71 → 0.76 at 10,000 examples, 0.76 → 0.86 at 40,000).
	s.resetAdam()
	s.linearRate, s.factorRate = 0, f.cfg.FactorLearnRate/f.cfg.LearnRate
	linear, linearLoss := f.best, f.bestLoss
	s.spectralInit(f.train, rng)
	p.joint = f.run(rng, epochs(p.joint), info)
	info.Epochs += info.LinearEpochs
	if replay == nil {
		wval := 0.0
		for _, it := range f.val {
			wval += it.w
		}
		// The interaction must earn its keep: a gain of interactionMargin
		// nats of validation log likelihood, not a lucky fraction of one on
		// a small split.
		p.interaction = f.best != linear && (linearLoss-f.bestLoss)*wval >= interactionMargin
		if !p.interaction {
			linear.restore(s)
			f.best, f.bestLoss = linear, linearLoss
			s.addNoise(rng) // so online updates can still grow one
		}
	}
	return p
}

// run takes Adam epochs. With fixed < 0 it runs until MaxEpochs or Patience
// epochs without a better validation loss, leaves the best parameters in
// the state and returns the epoch they are from (0: the starting point);
// without a validation split it runs every epoch. With fixed ≥ 0 it runs
// exactly that many. An epoch makes at least MinSteps/MaxEpochs Adam steps:
// on small data sets it passes over the examples several times.
func (f *fitter) run(rng *rand.Rand, fixed int, info *Info) int {
	s, cfg := f.s, f.cfg
	steps := (len(f.train) + cfg.BatchSize - 1) / cfg.BatchSize
	passes := max(1, (cfg.MinSteps+cfg.MaxEpochs*steps-1)/(cfg.MaxEpochs*steps))
	early := fixed < 0 && len(f.val) > 0
	maxEpochs := cfg.MaxEpochs
	if fixed >= 0 {
		maxEpochs = fixed
	}
	if early {
		if f.best != nil {
			f.bestLoss = f.lossOf(f.best)
		} else {
			f.bestLoss = math.Inf(1)
		}
		if l := s.meanLoss(f.val); l < f.bestLoss {
			f.bestLoss, f.best = l, snapshotTheta(s)
		}
	}
	best := 0
	info.Epochs = 0
	order := append([]*item(nil), f.train...)
	stale := 0
	for epoch := 1; epoch <= maxEpochs; epoch++ {
		info.Epochs = epoch
		for range passes {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for lo := 0; lo < len(order); lo += cfg.BatchSize {
				s.lossGrad(order[lo:min(lo+cfg.BatchSize, len(order))])
				s.step(cfg.LearnRate)
			}
		}
		if !early {
			best = epoch
			continue
		}
		if l := s.meanLoss(f.val); l < f.bestLoss {
			f.bestLoss, f.best, best, stale = l, snapshotTheta(s), epoch, 0
		} else if stale++; stale >= cfg.Patience {
			break
		}
	}
	if early {
		f.best.restore(s)
	}
	info.BestEpoch = best
	return best
}

// lossOf is the validation loss of saved parameters; the state is restored
// afterwards.
func (f *fitter) lossOf(c *thetaCopy) float64 {
	cur := snapshotTheta(f.s)
	c.restore(f.s)
	l := f.s.meanLoss(f.val)
	cur.restore(f.s)
	return l
}

// calibrate fits the Platt map on the validation split and returns it with
// the validation log loss after it.
func (f *fitter) calibrate() (a, c, loss float64) {
	n := len(f.val)
	z, y, w := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, it := range f.val {
		z[i], y[i], w[i] = f.s.forward(it), it.y, it.w
	}
	a, c = fitPlatt(z, y, w, f.cfg.CalibPrior)
	wsum := 0.0
	for i := range z {
		loss += w[i] * logLoss(a*z[i]+c, y[i])
		wsum += w[i]
	}
	return a, c, loss / wsum
}

// PriorModel returns the model of a tenant without data: the hand-set
// evidence combination σ(PriorBias + Σ Prior[i]·xᵢ), with no interaction.
func PriorModel(cfg Config) (*Model, error) {
	m, _, err := Train(nil, cfg, nil)
	return m, err
}

func checkExample(e *Example, cfg *Config) error {
	if !finite32(e.Weight) || e.Weight < 0 {
		return fmt.Errorf("weight %v must be finite and ≥ 0", e.Weight)
	}
	return checkInput(&e.Input, cfg.CallDim, cfg.ContextDim)
}

// split holds out a stratified share of each class, so the validation loss
// sees failures even when they are rare. Below minN examples it holds out
// nothing: early stopping then costs more data than it saves, and the prior
// regularises instead.
func split(examples []Example, frac float64, minN int, rng *rand.Rand) (train, val []int) {
	var fail, ok []int
	for i := range examples {
		if examples[i].Failed {
			fail = append(fail, i)
		} else {
			ok = append(ok, i)
		}
	}
	if len(examples) < max(minN, 1) || frac == 0 {
		return append(fail, ok...), nil
	}
	for _, class := range [][]int{fail, ok} {
		rng.Shuffle(len(class), func(i, j int) { class[i], class[j] = class[j], class[i] })
		k := int(math.Round(frac * float64(len(class))))
		k = max(min(k, len(class)-1), 0) // keep at least one of the class to train on
		val = append(val, class[:k]...)
		train = append(train, class[k:]...)
	}
	return train, val
}

func pick(items []item, idx []int) []*item {
	out := make([]*item, len(idx))
	for i, j := range idx {
		out[i] = &items[j]
	}
	return out
}

// meanLoss is the weighted mean log loss of the raw logits: what early
// stopping watches.
func (s *state) meanLoss(items []*item) float64 {
	loss, wsum := 0.0, 0.0
	for _, it := range items {
		loss += it.w * logLoss(s.forward(it), it.y)
		wsum += it.w
	}
	return loss / wsum
}

func (s *state) finite() bool {
	for _, x := range [][]float64{s.call.theta, s.ctx.theta, {s.bias}} {
		for _, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
	}
	return true
}

// thetaCopy saves parameters for early stopping. Rows are not added during
// the epochs, so a plain copy restores them.
type thetaCopy struct {
	call, ctx []float64
	bias      float64
}

func snapshotTheta(s *state) *thetaCopy {
	return &thetaCopy{call: append([]float64(nil), s.call.theta...), ctx: append([]float64(nil), s.ctx.theta...), bias: s.bias}
}

func (c *thetaCopy) restore(s *state) {
	copy(s.call.theta, c.call)
	copy(s.ctx.theta, c.ctx)
	s.bias = c.bias
}

// resetAdam clears the optimiser's moments and step counts, so the next
// stage's first steps are ordinary Adam first steps.
func (s *state) resetAdam() {
	for _, rs := range []*rowSet{&s.call, &s.ctx} {
		clear(rs.m)
		clear(rs.v)
		clear(rs.t)
	}
	s.biasM, s.biasV, s.biasT = 0, 0, 0
}

func zeroFactors(m *Model) bool {
	for _, rs := range []*rows32{&m.call, &m.ctx} {
		for j, v := range rs.theta {
			if j%(m.r+1) != 0 && v != 0 {
				return false
			}
		}
	}
	return true
}

// seedZeroFactors gives noise to the factor rows of features with evidence
// whose factor part is exactly zero (new since the warm model), so the
// interaction can reach them.
func (s *state) seedZeroFactors(rng *rand.Rand) {
	for _, rs := range []*rowSet{&s.call, &s.ctx} {
		for r := range rs.len() {
			p := rs.row(int32(r))[1:]
			if rs.n[r] == 0 || !allZero(p) {
				continue
			}
			for k := range p {
				p[k] = initNoise * rng.NormFloat64()
			}
		}
	}
}

func allZero(x []float64) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}
