package adapter

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Example is one labelled (context, action) pair. Vectors are shared, not
// copied, by Train and Reservoir: treat them as immutable once created.
type Example struct {
	Context []float64
	Action  []float64
	Failed  bool
	// Cluster is the failure cluster a failed step was assigned to ("" when
	// unknown or for successes); only evaluation reads it.
	Cluster string
}

// Config controls training. Start from DefaultConfig and override fields;
// Train rejects values that make no sense rather than guessing.
type Config struct {
	Rank     int      // rank r of the bilinear term, 0..MaxRank (0 = linear baseline)
	Features Features // optional terms
	L2       float64  // weight of (λ/2)‖θ‖² over all parameters but the bias

	LearnRate   float64 // Adam step size
	BatchSize   int
	MaxEpochs   int
	Patience    int     // epochs without validation improvement before stopping
	ValFraction float64 // share of each class held out for early stopping

	// Seed fixes the split, the initial noise and the batch order: the same
	// seed and the same examples in the same order give bit-identical
	// parameters.
	Seed uint64

	EmbedderID string    // recorded in the artifact
	CreatedAt  time.Time // recorded in the artifact; zero means now
}

// DefaultConfig returns the settings that measured best on the synthetic
// interaction data of this package's tests (8–24 context clusters × 20–30
// actions, 1,000–8,000 examples): full rank 16 helps once there are more
// context clusters than the rank and costs about a second on 10,000
// examples; L2 1e-3 beat 1e-4 and 1e-5 on small sets and tied on large ones;
// a learn rate of 0.003 rather than 0.01 makes early stopping less likely to
// fire on a lucky first epoch; FeatureDiagonal never moved AUC by more than
// 0.005, so it is off.
func DefaultConfig() Config {
	return Config{
		Rank:        MaxRank,
		Features:    FeatureContext,
		L2:          1e-3,
		LearnRate:   0.003,
		BatchSize:   128,
		MaxEpochs:   60,
		Patience:    6,
		ValFraction: 0.15,
		Seed:        1,
	}
}

// minValidation is the dataset size below which holding examples out costs
// more than early stopping gains; training then runs all epochs on everything
// and relies on L2.
const minValidation = 40

// ErrOneClass is returned when the training examples are all failures or all
// successes: there is no contrast to learn.
var ErrOneClass = errors.New("adapter: training needs both failures and successes")

func (cfg Config) validate() error {
	switch {
	case cfg.Rank < 0 || cfg.Rank > MaxRank:
		return fmt.Errorf("adapter: rank %d outside 0..%d", cfg.Rank, MaxRank)
	case cfg.Features&^knownFeatures != 0:
		return fmt.Errorf("adapter: unknown features %#x", uint16(cfg.Features&^knownFeatures))
	case !(cfg.L2 >= 0) || math.IsInf(cfg.L2, 0):
		return fmt.Errorf("adapter: L2 %v must be finite and ≥ 0", cfg.L2)
	case !(cfg.LearnRate > 0) || math.IsInf(cfg.LearnRate, 0):
		return fmt.Errorf("adapter: learn rate %v must be finite and > 0", cfg.LearnRate)
	case cfg.BatchSize < 1:
		return fmt.Errorf("adapter: batch size %d must be ≥ 1", cfg.BatchSize)
	case cfg.MaxEpochs < 1:
		return fmt.Errorf("adapter: max epochs %d must be ≥ 1", cfg.MaxEpochs)
	case cfg.Patience < 1:
		return fmt.Errorf("adapter: patience %d must be ≥ 1", cfg.Patience)
	case !(cfg.ValFraction >= 0 && cfg.ValFraction < 1):
		return fmt.Errorf("adapter: validation fraction %v outside [0, 1)", cfg.ValFraction)
	}
	return nil
}

// Train fits a model to the examples. To limit forgetting, pass the new
// examples together with a Reservoir's sample of past ones.
//
// Every call is a fresh fit from the spectral initialisation, never a
// continuation of the active model. Warm-starting was tried and measured
// worse: U and V of a model fitted to one task family sit on that family's
// context directions, and gradient steps from there fit a new family by
// memorising it (training loss falls, validation loss rises from the first
// epoch) where the contrast matrix of the combined data points straight at
// both families' directions.
func Train(examples []Example, cfg Config) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, errors.New("adapter: no training examples")
	}
	d := len(examples[0].Context)
	if d == 0 {
		return nil, errors.New("adapter: empty embeddings")
	}
	if err := checkExamples(examples, d); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	trainIdx, valIdx := split(examples, cfg.ValFraction, rng)
	nFail := 0
	for _, i := range trainIdx {
		if examples[i].Failed {
			nFail++
		}
	}
	if nFail == 0 || nFail == len(trainIdx) {
		return nil, ErrOneClass
	}
	cw := classWeights(len(trainIdx), nFail)

	lay := newLayout(d, cfg.Rank, cfg.Features)
	theta := make([]float64, lay.n)
	spectralInit(lay, theta, examples, trainIdx, cw, rng)

	t := &trainer{lay: lay, ex: examples, cw: cw, l2: cfg.L2, grad: make([]float64, lay.n), sc: newScratch(lay)}
	opt := newAdam(lay.n, cfg.LearnRate)
	best := append([]float64(nil), theta...)
	bestLoss := math.NaN()
	if len(valIdx) > 0 {
		bestLoss = t.dataLoss(theta, valIdx)
	}
	info := TrainInfo{Seed: cfg.Seed, TrainN: len(trainIdx), ValN: len(valIdx), TrainFails: nFail}
	order := append([]int(nil), trainIdx...)
	stale := 0
	for epoch := 1; epoch <= cfg.MaxEpochs; epoch++ {
		info.Epochs = epoch
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for lo := 0; lo < len(order); lo += cfg.BatchSize {
			batch := order[lo:min(lo+cfg.BatchSize, len(order))]
			t.lossGrad(theta, batch)
			opt.step(theta, t.grad)
		}
		if len(valIdx) == 0 {
			copy(best, theta)
			info.BestEpoch = epoch
			continue
		}
		if vl := t.dataLoss(theta, valIdx); vl < bestLoss {
			bestLoss, info.BestEpoch, stale = vl, epoch, 0
			copy(best, theta)
		} else if stale++; stale >= cfg.Patience {
			break
		}
	}
	if !allFinite(best) {
		return nil, errors.New("adapter: training diverged (non-finite parameters); lower the learn rate")
	}
	info.ValLoss = bestLoss
	info.CreatedAt = cfg.CreatedAt
	if info.CreatedAt.IsZero() {
		info.CreatedAt = time.Now().UTC()
	}
	return &Model{lay: lay, theta: best, embedder: cfg.EmbedderID, info: info}, nil
}

func checkExamples(examples []Example, d int) error {
	for i, e := range examples {
		if len(e.Context) != d || len(e.Action) != d {
			return fmt.Errorf("adapter: example %d has dimensions %d/%d, want %d", i, len(e.Context), len(e.Action), d)
		}
		if !allFinite(e.Context) || !allFinite(e.Action) {
			return fmt.Errorf("adapter: example %d has a non-finite embedding value", i)
		}
	}
	return nil
}

// split holds out a stratified share of each class so that the validation
// loss sees failures even when they are rare.
func split(examples []Example, frac float64, rng *rand.Rand) (train, val []int) {
	var fail, ok []int
	for i, e := range examples {
		if e.Failed {
			fail = append(fail, i)
		} else {
			ok = append(ok, i)
		}
	}
	if len(examples) < minValidation || frac == 0 {
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

// classWeights balances the classes so that each contributes half of the
// loss: failures are usually the minority, and they are what the adapter is for.
func classWeights(n, nFail int) [2]float64 {
	return [2]float64{
		float64(n) / (2 * float64(n-nFail)), // [0]: success
		float64(n) / (2 * float64(nFail)),   // [1]: failure
	}
}

// scratch holds per-example projections so the gradient loop never allocates.
type scratch struct{ uc, va []float64 }

func newScratch(l layout) *scratch {
	return &scratch{uc: make([]float64, l.r), va: make([]float64, l.r)}
}

type trainer struct {
	lay  layout
	ex   []Example
	cw   [2]float64
	l2   float64
	grad []float64
	sc   *scratch
}

// logit computes z for one example, leaving Uᵀc and Vᵀa in the scratch for
// the backward pass.
func (t *trainer) logit(theta []float64, e *Example) float64 {
	l, c, a := t.lay, e.Context, e.Action
	uc, va := t.sc.uc, t.sc.va
	clear(uc)
	clear(va)
	z := theta[0]
	wa := theta[l.wa : l.wa+l.d]
	var wcz, hz, az float64
	for i := 0; i < l.d; i++ {
		ci, ai := c[i], a[i]
		az += wa[i] * ai
		if l.wc >= 0 {
			wcz += theta[l.wc+i] * ci
		}
		if l.h >= 0 {
			hz += theta[l.h+i] * ci * ai
		}
		if l.r > 0 {
			urow := theta[l.u+i*l.r : l.u+i*l.r+l.r]
			vrow := theta[l.v+i*l.r : l.v+i*l.r+l.r]
			for k := range urow {
				uc[k] += ci * urow[k]
				va[k] += ai * vrow[k]
			}
		}
	}
	z += az + wcz + hz
	for k := range uc {
		z += uc[k] * va[k]
	}
	return z
}

// exampleLoss is the cross-entropy of one example given its logit, computed
// from z directly so that confident mistakes do not overflow to +Inf.
func exampleLoss(z float64, failed bool) float64 {
	if failed { // y = 0: −log(1−σ(z)) = softplus(z)
		return softplus(z)
	}
	return softplus(-z) // y = 1: −log σ(z)
}

func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// lossGrad returns the objective on the batch,
//
//	L(θ) = Σᵢ wᵢ ℓᵢ / Σᵢ wᵢ + (λ/2)‖θ without b‖²,
//
// and writes ∂L/∂θ into t.grad. With ℓ the cross-entropy of σ(z), ∂ℓ/∂z = σ(z) − y,
// and z is linear in b, wa, wc, h and bilinear in (U, V):
// ∂z/∂U[i,k] = cᵢ (Vᵀa)ₖ, ∂z/∂V[i,k] = aᵢ (Uᵀc)ₖ.
func (t *trainer) lossGrad(theta []float64, batch []int) float64 {
	l, g := t.lay, t.grad
	clear(g)
	loss, wsum := 0.0, 0.0
	for _, idx := range batch {
		e := &t.ex[idx]
		z := t.logit(theta, e)
		y, w := 1.0, t.cw[0]
		if e.Failed {
			y, w = 0, t.cw[1]
		}
		loss += w * exampleLoss(z, e.Failed)
		wsum += w
		dz := w * (sigmoid(z) - y)
		g[0] += dz
		c, a := e.Context, e.Action
		for i := 0; i < l.d; i++ {
			ci, ai := c[i], a[i]
			g[l.wa+i] += dz * ai
			if l.wc >= 0 {
				g[l.wc+i] += dz * ci
			}
			if l.h >= 0 {
				g[l.h+i] += dz * ci * ai
			}
			if l.r > 0 {
				gu := g[l.u+i*l.r : l.u+i*l.r+l.r]
				gv := g[l.v+i*l.r : l.v+i*l.r+l.r]
				dci, dai := dz*ci, dz*ai
				for k := range gu {
					gu[k] += dci * t.sc.va[k]
					gv[k] += dai * t.sc.uc[k]
				}
			}
		}
	}
	inv := 1 / wsum
	loss *= inv
	reg := 0.0
	g[0] *= inv
	for j := 1; j < l.n; j++ {
		reg += theta[j] * theta[j]
		g[j] = g[j]*inv + t.l2*theta[j]
	}
	return loss + 0.5*t.l2*reg
}

// dataLoss is the class-weighted log loss without regularisation: what early
// stopping watches.
func (t *trainer) dataLoss(theta []float64, idx []int) float64 {
	loss, wsum := 0.0, 0.0
	for _, i := range idx {
		e := &t.ex[i]
		w := t.cw[0]
		if e.Failed {
			w = t.cw[1]
		}
		loss += w * exampleLoss(t.logit(theta, e), e.Failed)
		wsum += w
	}
	return loss / wsum
}

// adam is the Adam optimiser (Kingma & Ba) over the flat parameter vector.
type adam struct {
	lr, b1, b2, eps float64
	m, v            []float64
	b1t, b2t        float64 // β₁ᵗ, β₂ᵗ for bias correction
}

func newAdam(n int, lr float64) *adam {
	return &adam{lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8, m: make([]float64, n), v: make([]float64, n), b1t: 1, b2t: 1}
}

func (o *adam) step(theta, g []float64) {
	o.b1t *= o.b1
	o.b2t *= o.b2
	c1, c2 := 1/(1-o.b1t), 1/(1-o.b2t)
	for j, gj := range g {
		o.m[j] = o.b1*o.m[j] + (1-o.b1)*gj
		o.v[j] = o.b2*o.v[j] + (1-o.b2)*gj*gj
		theta[j] -= o.lr * (o.m[j] * c1) / (math.Sqrt(o.v[j]*c2) + o.eps)
	}
}

func allFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
