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
// Train accepts any data: with no examples it returns the prior model (or
// warm), and data of one class simply moves the model towards it within the
// prior's pull. Parameters of features that occur in no training example
// keep their starting values. A cold start initialises U and V spectrally
// (see spectralInit); a warm start keeps warm's factors unless they are all
// zero.
func Train(examples []Example, cfg Config, warm *Model) (*Model, Info, error) {
	if err := cfg.validate(); err != nil {
		return nil, Info{}, err
	}
	for i := range examples {
		if err := checkExample(&examples[i], &cfg); err != nil {
			return nil, Info{}, fmt.Errorf("sparse: example %d: %w", i, err)
		}
	}
	s, err := newState(&cfg, warm, false)
	if err != nil {
		return nil, Info{}, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	trainIdx, valIdx := split(examples, cfg.ValFraction, cfg.MinValidation, rng)

	total := 0
	for i := range examples {
		total += len(examples[i].Call) + len(examples[i].Context)
	}
	buf := make([]ent, 0, total)
	items := make([]item, len(examples))
	for i := range examples {
		items[i], buf = s.resolve(&examples[i], buf)
	}
	train, val := pick(items, trainIdx), pick(items, valIdx)
	info := Info{Seed: cfg.Seed, TrainN: len(train), ValN: len(val), ValLoss: math.NaN(), CalLoss: math.NaN()}
	for _, it := range train {
		s.count(it)
		info.TrainFails += int(it.y)
	}
	for _, it := range val {
		info.ValFails += int(it.y)
	}
	info.CreatedAt = cfg.CreatedAt
	if info.CreatedAt.IsZero() {
		info.CreatedAt = time.Now().UTC()
	}
	if len(train) == 0 {
		calA, calB := 1.0, 0.0
		if warm != nil {
			calA, calB = warm.calA, warm.calB
		}
		return s.model(&cfg, calA, calB, info), info, nil
	}

	if warm == nil || zeroFactors(warm) {
		s.spectralInit(train, cfg.InitScale, rng)
	} else {
		s.seedZeroFactors(rng)
	}

	steps := (len(train) + cfg.BatchSize - 1) / cfg.BatchSize
	passes := max(1, (cfg.MinSteps+cfg.MaxEpochs*steps-1)/(cfg.MaxEpochs*steps))
	best := snapshotTheta(s)
	bestLoss := math.Inf(1)
	if len(val) > 0 {
		bestLoss = s.meanLoss(val)
	}
	order := append([]*item(nil), train...)
	stale := 0
	for epoch := 1; epoch <= cfg.MaxEpochs; epoch++ {
		info.Epochs = epoch
		for range passes {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for lo := 0; lo < len(order); lo += cfg.BatchSize {
				s.lossGrad(order[lo:min(lo+cfg.BatchSize, len(order))])
				s.step(cfg.LearnRate)
			}
		}
		if len(val) == 0 {
			info.BestEpoch = epoch
			continue
		}
		if vl := s.meanLoss(val); vl < bestLoss {
			bestLoss, info.BestEpoch, stale = vl, epoch, 0
			best = snapshotTheta(s)
		} else if stale++; stale >= cfg.Patience {
			break
		}
	}
	if len(val) > 0 {
		best.restore(s)
		info.ValLoss = bestLoss
	}
	if !s.finite() {
		return nil, Info{}, errors.New("sparse: training diverged (non-finite parameters); lower the learn rate")
	}

	calA, calB := 1.0, 0.0
	if len(val) > 0 && cfg.Calibrate && info.ValFails > 0 && info.ValFails < len(val) {
		z, y, w := make([]float64, len(val)), make([]float64, len(val)), make([]float64, len(val))
		for i, it := range val {
			z[i], y[i], w[i] = s.forward(it), it.y, it.w
		}
		calA, calB = fitPlatt(z, y, w, cfg.CalibPrior)
		loss, wsum := 0.0, 0.0
		for i := range z {
			loss += w[i] * logLoss(calA*z[i]+calB, y[i])
			wsum += w[i]
		}
		info.CalLoss = loss / wsum
	} else if len(val) > 0 {
		info.CalLoss = info.ValLoss
	}
	return s.model(&cfg, calA, calB, info), info, nil
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

func snapshotTheta(s *state) thetaCopy {
	return thetaCopy{call: append([]float64(nil), s.call.theta...), ctx: append([]float64(nil), s.ctx.theta...), bias: s.bias}
}

func (c thetaCopy) restore(s *state) {
	copy(s.call.theta, c.call)
	copy(s.ctx.theta, c.ctx)
	s.bias = c.bias
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
