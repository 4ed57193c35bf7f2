package sparse

import (
	"fmt"
	"math"
	"slices"
)

// Model is a trained adapter. It is immutable once returned by Train,
// PriorModel, Trainer.Snapshot or UnmarshalBinary, and safe for concurrent
// use.
type Model struct {
	callDim, ctxDim, dense uint32
	r                      int

	bias float32
	// evidence is the total weight of the examples behind the model.
	evidence float64
	// call rows are [wᵢ, Vᵢ₀ … Vᵢ,ᵣ₋₁]; context rows are [gⱼ, Uⱼ₀ … Uⱼ,ᵣ₋₁].
	// The first dense context rows belong to indices 0..dense−1; every
	// other row is found through its table.
	call, ctx rows32
	callTab   table
	ctxTab    table

	// calA, calB map the raw logit z to the risk σ(calA·z + calB).
	calA, calB float64

	prior      []Feat // sorted by index
	priorBias  float32
	featurizer string
	info       Info
}

// rows32 is a block of parameter rows of stride r+1 with, per row, the
// feature index it belongs to and the evidence behind it.
type rows32 struct {
	theta []float32
	idx   []uint32
	n     []float32 // total weight of the training examples holding the feature
}

func (m *Model) stride() int { return m.r + 1 }

// CallDim returns the bound on call feature indices.
func (m *Model) CallDim() uint32 { return m.callDim }

// ContextDim returns the bound on context feature indices.
func (m *Model) ContextDim() uint32 { return m.ctxDim }

// DenseContext returns the size of the dense context block.
func (m *Model) DenseContext() uint32 { return m.dense }

// Rank returns the rank of the interaction term.
func (m *Model) Rank() int { return m.r }

// Featurizer names the feature layout the model was trained on.
func (m *Model) Featurizer() string { return m.featurizer }

// Info returns the training metadata.
func (m *Model) Info() Info { return m.info }

// Calibration returns the Platt map (a, c): risk = σ(a·z + c) for the raw
// logit z. (1, 0) is the identity.
func (m *Model) Calibration() (a, c float64) { return m.calA, m.calB }

// Prior returns the prior the model was trained from: the bias and the
// weights of the call features that have one, sorted by index.
func (m *Model) Prior() (bias float32, weights []Feat) { return m.priorBias, slices.Clone(m.prior) }

// PriorHash fingerprints the prior (bias and weights), so that a caller can
// tell whether a stored model was trained from the evidence combination it
// expects.
func (m *Model) PriorHash() uint64 { return priorHash(m.priorBias, m.prior) }

// Features returns the number of call and context features the model holds
// parameters for (the dense context block included).
func (m *Model) Features() (call, context int) { return len(m.call.idx), len(m.ctx.idx) }

// Evidence returns the total weight of training examples that held call
// feature i: how much data is behind its weights (0 for an unseen feature).
func (m *Model) Evidence(i uint32) float64 {
	if r := m.callTab.get(i); r >= 0 {
		return float64(m.call.n[r])
	}
	return 0
}

// Weight returns the linear weight wᵢ of call feature i (0 for an unseen
// feature without a prior).
func (m *Model) Weight(i uint32) float64 {
	if r := m.callTab.get(i); r >= 0 {
		return float64(m.call.theta[int(r)*m.stride()])
	}
	return 0
}

// Risk returns the calibrated probability that the call fails in the
// context. Features the model has no parameters for contribute nothing.
// To score several calls in one context, use ForContext.
func (m *Model) Risk(in Input) float64 {
	return m.ForContext(in.Context).Risk(in.Call)
}

// Logit returns the raw failure log-odds z before calibration.
func (m *Model) Logit(in Input) float64 {
	return m.ForContext(in.Context).Logit(in.Call)
}

// ContextScorer scores calls in one fixed context: the context's share of
// the logit and its projection Uᵀc are computed once, so each call costs one
// row lookup and r+1 multiply-adds per feature. It is a small value safe for
// concurrent use; it refers to the (immutable) model.
type ContextScorer struct {
	m    *Model
	base float32
	uc   [MaxRank]float32
}

// ForContext folds a context into a scorer.
func (m *Model) ForContext(ctx []Feat) ContextScorer {
	s := ContextScorer{m: m, base: m.bias}
	stride := m.stride()
	uc := s.uc[:m.r]
	theta := m.ctx.theta
	for _, f := range ctx {
		var row int
		if f.I < m.dense {
			row = int(f.I)
		} else if r := m.ctxTab.get(f.I); r >= 0 {
			row = int(r)
		} else {
			continue
		}
		p := theta[row*stride : row*stride+stride]
		s.base += f.V * p[0]
		axpy(uc, f.V, p[1:])
	}
	return s
}

// Logit returns the raw failure log-odds of a call in the scorer's context.
func (s ContextScorer) Logit(call []Feat) float64 {
	m := s.m
	stride := m.stride()
	uc := s.uc[:m.r]
	theta := m.call.theta
	z := s.base
	for _, f := range call {
		r := m.callTab.get(f.I)
		if r < 0 {
			continue
		}
		p := theta[int(r)*stride : int(r)*stride+stride]
		z += f.V * (p[0] + dot(uc, p[1:]))
	}
	return float64(z)
}

// axpy adds a·x to y (x at least as long as y), four lanes at a time: the
// lanes are independent, so they overlap in the pipeline where a plain loop
// would serialise on its loop counter.
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		yy, xx := y[i:i+4:i+4], x[i:i+4:i+4]
		yy[0] += a * xx[0]
		yy[1] += a * xx[1]
		yy[2] += a * xx[2]
		yy[3] += a * xx[3]
	}
	for ; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// dot is xᵀy over len(x) (y at least as long), with four partial sums that
// break the chain of dependent additions.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xx, yy := x[i:i+4:i+4], y[i:i+4:i+4]
		s0 += xx[0] * yy[0]
		s1 += xx[1] * yy[1]
		s2 += xx[2] * yy[2]
		s3 += xx[3] * yy[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Risk returns the calibrated failure probability of a call in the
// scorer's context.
func (s ContextScorer) Risk(call []Feat) float64 {
	return sigmoid(s.m.calA*s.Logit(call) + s.m.calB)
}

// sigmoid is 1/(1+e^−z), written so that neither branch overflows.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// priorHash is FNV-1a over the prior bias and the sorted (index, weight)
// pairs.
func priorHash(bias float32, prior []Feat) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint32) {
		for range 4 {
			h ^= uint64(v & 0xff)
			h *= 1099511628211
			v >>= 8
		}
	}
	mix(math.Float32bits(bias))
	for _, f := range prior {
		mix(f.I)
		mix(math.Float32bits(f.V))
	}
	return h
}

func (m *Model) String() string {
	call, ctx := m.Features()
	return fmt.Sprintf("sparse.Model{rank %d, %d call and %d context features, featurizer %q}", m.r, call, ctx, m.featurizer)
}
