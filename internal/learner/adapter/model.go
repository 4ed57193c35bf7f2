package adapter

import (
	"fmt"
	"math"
	"time"
)

// MaxRank is the largest rank of the bilinear term. Beyond it a per-tenant
// model stops being "small enough to train in seconds" and tenants rarely
// have the data to fit it.
const MaxRank = 16

// DefaultDim is the embedding dimension of the offline default embedder.
// Models accept any dimension; this is only what DefaultConfig expects.
const DefaultDim = 100

// Features selects optional terms of the model on top of the required
// b + waᵀa + (Uᵀc)·(Vᵀa).
type Features uint16

const (
	// FeatureContext adds wcᵀc: some contexts (a flaky environment, a hard
	// task) make every action riskier, and without this term the bilinear
	// part would spend rank on it.
	FeatureContext Features = 1 << iota
	// FeatureDiagonal adds hᵀ(c ⊙ a), a full-rank diagonal interaction that
	// catches "the action mentions what the context is about" matches which a
	// rank-r term can only approximate.
	FeatureDiagonal

	knownFeatures = FeatureContext | FeatureDiagonal
)

// TrainInfo records how a model was produced; it travels in the artifact.
type TrainInfo struct {
	CreatedAt  time.Time
	Seed       uint64
	TrainN     int     // examples used for gradient steps
	ValN       int     // examples held out for early stopping
	Epochs     int     // epochs run before stopping
	BestEpoch  int     // epoch whose parameters were kept (1-based; 0 = initialisation)
	ValLoss    float64 // class-weighted validation log loss at BestEpoch (NaN without a validation split)
	TrainFails int     // failures among the training examples
}

// layout maps the flat parameter vector θ to the model's terms. Keeping all
// parameters in one slice makes Adam, L2, copying and serialisation single
// loops over θ.
type layout struct {
	d, r int
	feat Features
	// offsets into θ; wc and h are -1 when their feature is off. θ[0] is b.
	wa, wc, h, u, v, n int
}

func newLayout(d, r int, feat Features) layout {
	l := layout{d: d, r: r, feat: feat, wc: -1, h: -1}
	off := 1
	l.wa, off = off, off+d
	if feat&FeatureContext != 0 {
		l.wc, off = off, off+d
	}
	if feat&FeatureDiagonal != 0 {
		l.h, off = off, off+d
	}
	l.u, off = off, off+d*r
	l.v, off = off, off+d*r
	l.n = off
	return l
}

// Model is a trained adapter. It is immutable once returned by Train or
// filled by UnmarshalBinary, and safe for concurrent use.
type Model struct {
	lay      layout
	theta    []float64
	embedder string
	info     TrainInfo
}

// Dim returns the embedding dimension d the model expects.
func (m *Model) Dim() int { return m.lay.d }

// Rank returns the rank r of the bilinear term (0 for a linear-only model).
func (m *Model) Rank() int { return m.lay.r }

// Features returns the optional terms the model uses.
func (m *Model) Features() Features { return m.lay.feat }

// EmbedderID names the embedding space the model was trained in; scoring
// vectors from another embedder is meaningless.
func (m *Model) EmbedderID() string { return m.embedder }

// Info returns the training metadata.
func (m *Model) Info() TrainInfo { return m.info }

// Risk returns the probability that action a fails in context c, 1 − p(success).
// Both vectors must have length Dim (it panics otherwise: dimensions are fixed
// by the embedder, so a mismatch is a wiring bug, not bad input). To score
// many actions in one context, use ForContext.
func (m *Model) Risk(c, a []float64) float64 {
	m.checkDim("context", c)
	m.checkDim("action", a)
	var buf [MaxRank]float64
	uc := buf[:m.lay.r]
	m.projectContext(c, uc)
	base := m.contextBase(c)
	// The same arithmetic, in the same order, as ForContext followed by
	// ContextScorer.Risk, so both paths return bit-identical risks.
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * m.actionWeight(i, c[i], uc)
		s1 += a[i+1] * m.actionWeight(i+1, c[i+1], uc)
		s2 += a[i+2] * m.actionWeight(i+2, c[i+2], uc)
		s3 += a[i+3] * m.actionWeight(i+3, c[i+3], uc)
	}
	for ; i < len(a); i++ {
		s0 += a[i] * m.actionWeight(i, c[i], uc)
	}
	return sigmoid(-(base + ((s0 + s1) + (s2 + s3))))
}

// ContextScorer scores actions in one fixed context. It folds the context
// into a single vector q so that each action costs one d-length dot product.
// It is a value safe for concurrent use; it keeps no reference to the model.
type ContextScorer struct {
	q    []float64
	base float64
}

// ForContext precomputes everything that depends only on the context c.
func (m *Model) ForContext(c []float64) ContextScorer {
	m.checkDim("context", c)
	var buf [MaxRank]float64
	uc := buf[:m.lay.r]
	m.projectContext(c, uc)
	q := make([]float64, m.lay.d)
	for i := range q {
		q[i] = m.actionWeight(i, c[i], uc)
	}
	return ContextScorer{q: q, base: m.contextBase(c)}
}

// Risk returns the failure probability of action a in the scorer's context.
func (s ContextScorer) Risk(a []float64) float64 {
	if len(a) != len(s.q) {
		panic(fmt.Sprintf("adapter: action has dimension %d, model expects %d", len(a), len(s.q)))
	}
	return sigmoid(-(s.base + dot(a, s.q)))
}

// projectContext writes Uᵀc into uc.
func (m *Model) projectContext(c, uc []float64) {
	r := m.lay.r
	if r == 0 {
		return
	}
	u := m.theta[m.lay.u : m.lay.u+m.lay.d*r]
	for i, ci := range c {
		row := u[i*r : i*r+r]
		for k, x := range row {
			uc[k] += ci * x
		}
	}
}

// contextBase is b + wcᵀc, the part of the logit that ignores the action.
func (m *Model) contextBase(c []float64) float64 {
	base := m.theta[0]
	if m.lay.wc >= 0 {
		wc := m.theta[m.lay.wc : m.lay.wc+m.lay.d]
		s := 0.0
		for i, ci := range c {
			s += ci * wc[i]
		}
		base += s
	}
	return base
}

// actionWeight is coordinate i of q = wa + h ⊙ c + V(Uᵀc), the vector the
// action is dotted with.
func (m *Model) actionWeight(i int, ci float64, uc []float64) float64 {
	l, th := m.lay, m.theta
	w := th[l.wa+i]
	if l.h >= 0 {
		w += th[l.h+i] * ci
	}
	row := th[l.v+i*l.r : l.v+i*l.r+l.r]
	return w + dot(row, uc)
}

// dot is xᵀy with four independent partial sums, which break the chain of
// dependent additions that otherwise bounds a dot product by add latency
// (about 2× faster at d = 100). Model.Risk sums in the same order, so the
// two scoring paths agree bit for bit.
func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func (m *Model) checkDim(what string, x []float64) {
	if len(x) != m.lay.d {
		panic(fmt.Sprintf("adapter: %s has dimension %d, model expects %d", what, len(x), m.lay.d))
	}
}

// sigmoid is 1/(1+e^−z), written so that neither branch overflows.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
