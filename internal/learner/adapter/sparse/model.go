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
	s := ContextScorer{m: m}
	switch m.r {
	case 0:
		s.base = m.fold0(ctx)
	case 8:
		s.base = m.fold8(ctx, (*[8]float32)(s.uc[:8]))
	case 16:
		// Two passes of eight columns: sixteen sums do not fit in registers.
		s.base = m.fold16(ctx, 1, (*[8]float32)(s.uc[:8]))
		m.fold16(ctx, 9, (*[8]float32)(s.uc[8:16]))
	default:
		s.base = m.fold(ctx, s.uc[:m.r])
	}
	return s
}

// The folds return b + gᵀc and write Uᵀc into uc. fold serves any rank;
// fold0, fold8 and fold16 are the common ranks written out with constant
// strides and the sums in registers, which takes 30–60 % of the
// instructions off scoring. Each writes out the row lookup: as a function it
// is too big for the inliner, and a call per feature costs more than its
// arithmetic. Fields are copied to locals first, or the loop reloads them.

func (m *Model) fold(ctx []Feat, uc []float32) float32 {
	base, st := m.bias, m.r+1
	dense, theta, tab := m.dense, m.ctx.theta, &m.ctxTab
	for _, f := range ctx {
		row := int(f.I)
		if f.I >= dense {
			if row = int(tab.get(f.I)); row < 0 {
				continue
			}
		}
		p := theta[row*st : row*st+st]
		base += f.V * p[0]
		for k, x := range p[1:] {
			uc[k] += f.V * x
		}
	}
	return base
}

func (m *Model) fold0(ctx []Feat) float32 {
	base := m.bias
	dense, theta, tab := m.dense, m.ctx.theta, &m.ctxTab
	for _, f := range ctx {
		row := int(f.I)
		if f.I >= dense {
			if row = int(tab.get(f.I)); row < 0 {
				continue
			}
		}
		base += f.V * theta[row]
	}
	return base
}

func (m *Model) fold8(ctx []Feat, uc *[8]float32) float32 {
	base := m.bias
	dense, theta, tab := m.dense, m.ctx.theta, &m.ctxTab
	var u0, u1, u2, u3, u4, u5, u6, u7 float32
	for _, f := range ctx {
		row := int(f.I)
		if f.I >= dense {
			if row = int(tab.get(f.I)); row < 0 {
				continue
			}
		}
		p := (*[9]float32)(theta[row*9:])
		v := f.V
		base += v * p[0]
		u0 += v * p[1]
		u1 += v * p[2]
		u2 += v * p[3]
		u3 += v * p[4]
		u4 += v * p[5]
		u5 += v * p[6]
		u6 += v * p[7]
		u7 += v * p[8]
	}
	*uc = [8]float32{u0, u1, u2, u3, u4, u5, u6, u7}
	return base
}

// fold16 sums columns off−1 … off+6 of U (off is 1 or 9: the offset in the
// row of 17).
func (m *Model) fold16(ctx []Feat, off int, uc *[8]float32) float32 {
	base := m.bias
	dense, theta, tab := m.dense, m.ctx.theta, &m.ctxTab
	var u0, u1, u2, u3, u4, u5, u6, u7 float32
	for _, f := range ctx {
		row := int(f.I)
		if f.I >= dense {
			if row = int(tab.get(f.I)); row < 0 {
				continue
			}
		}
		v := f.V
		base += v * theta[row*17]
		p := (*[8]float32)(theta[row*17+off:])
		u0 += v * p[0]
		u1 += v * p[1]
		u2 += v * p[2]
		u3 += v * p[3]
		u4 += v * p[4]
		u5 += v * p[5]
		u6 += v * p[6]
		u7 += v * p[7]
	}
	*uc = [8]float32{u0, u1, u2, u3, u4, u5, u6, u7}
	return base
}

// Logit returns the raw failure log-odds of a call in the scorer's context.
func (s ContextScorer) Logit(call []Feat) float64 {
	m := s.m
	z := s.base
	switch m.r {
	case 0:
		theta, tab := m.call.theta, &m.callTab
		for _, f := range call {
			if r := tab.get(f.I); r >= 0 {
				z += f.V * theta[r]
			}
		}
	case 8:
		u := (*[8]float32)(s.uc[:8])
		theta, tab := m.call.theta, &m.callTab
		for _, f := range call {
			r := tab.get(f.I)
			if r < 0 {
				continue
			}
			p := (*[9]float32)(theta[int(r)*9:])
			q := p[0] + (p[1]*u[0] + p[2]*u[1] + p[3]*u[2] + p[4]*u[3]) + (p[5]*u[4] + p[6]*u[5] + p[7]*u[6] + p[8]*u[7])
			z += f.V * q
		}
	case 16:
		u := (*[16]float32)(s.uc[:16])
		theta, tab := m.call.theta, &m.callTab
		for _, f := range call {
			r := tab.get(f.I)
			if r < 0 {
				continue
			}
			p := (*[17]float32)(theta[int(r)*17:])
			q := p[0] + (p[1]*u[0] + p[2]*u[1] + p[3]*u[2] + p[4]*u[3]) + (p[5]*u[4] + p[6]*u[5] + p[7]*u[6] + p[8]*u[7]) +
				(p[9]*u[8] + p[10]*u[9] + p[11]*u[10] + p[12]*u[11]) + (p[13]*u[12] + p[14]*u[13] + p[15]*u[14] + p[16]*u[15])
			z += f.V * q
		}
	default:
		st := m.r + 1
		uc := s.uc[:m.r]
		theta, tab := m.call.theta, &m.callTab
		for _, f := range call {
			r := tab.get(f.I)
			if r < 0 {
				continue
			}
			p := theta[int(r)*st : int(r)*st+st]
			q := p[0]
			for k, x := range p[1:] {
				q += x * uc[k]
			}
			z += f.V * q
		}
	}
	return float64(z)
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
