package sparse

import "math"

// lossGrad computes the training objective on a batch and accumulates its
// gradient into the rows' g buffers (and biasG), recording the touched rows
// in touchedCall and touchedCtx for the sparse Adam step.
//
// The objective over a data set D with total weight W is
//
//	J(θ) = (1/W) [ Σₑ ωₑ ℓₑ(θ) + ½ Σ_rows Λ_row(θ_row) ],
//	Λ(call row i) = λᵢ(wᵢ − w⁰ᵢ)² + (λ_f + κNᵢ)‖Vᵢ‖²,
//	Λ(context row j) = λ_g gⱼ² + (λ_f + κNⱼ)‖Uⱼ‖²,   Λ(bias) = λ_b(b − b⁰)²,
//
// the log loss summed over examples plus L2 to the prior in examples' worth,
// and on the factor rows a decay κ per example holding the feature: a
// frequent feature's factor row fits many contexts and would otherwise grow
// to memorise them.
// To make a batch's gradient an estimate of J's that only touches the rows
// present in the batch, each example carries the share ωₑ/Nᵣ of the penalty
// of every row r it holds, Nᵣ being the row's evidence (the total weight of
// the examples holding it, the bias's being W), and ωₑκ of each factor
// row's decay: summed over D the shares make exactly ½Λ_row. So on a batch B with weight W_B,
//
//	J_B(θ) = (1/W_B) Σ_{e∈B} ωₑ [ ℓₑ(θ) + ½ Σ_{r∈e} Λᵣ(θᵣ)/Nᵣ ],
//
// and J_D = J. This is what lossGrad returns and differentiates; every row of
// the batch must have Nᵣ > 0. With ℓ = softplus(z) − y·z, ∂ℓ/∂z = σ(z) − y, and
// ∂z/∂wᵢ = xᵢ, ∂z/∂gⱼ = cⱼ, ∂z/∂Vᵢₖ = xᵢ(Uᵀc)ₖ, ∂z/∂Uⱼₖ = cⱼ(Vᵀx)ₖ.
func (s *state) lossGrad(batch []*item) float64 {
	s.stamp++
	if s.stamp == 0 { // wrapped: old marks could collide with new stamps
		clear(s.call.mark)
		clear(s.ctx.mark)
		s.stamp = 1
	}
	s.touchedCall, s.touchedCtx = s.touchedCall[:0], s.touchedCtx[:0]
	s.biasG = 0
	wsum := 0.0
	for _, it := range batch {
		wsum += it.w
	}
	if wsum == 0 {
		return 0
	}
	loss := 0.0
	db := s.bias - s.bias0
	for _, it := range batch {
		z := s.forward(it)
		sw := it.w / wsum
		dz := sw * (sigmoid(z) - it.y)
		loss += sw * logLoss(z, it.y)
		rb := sw * s.lamB / s.biasN
		loss += 0.5 * rb * db * db
		s.biasG += dz + rb*db
		loss += s.backward(&s.ctx, it.ctx, &s.touchedCtx, dz, sw, s.vx[:s.ra])
		loss += s.backward(&s.call, it.call, &s.touchedCall, dz, sw, s.uc[:s.ra])
	}
	return loss
}

// backward adds one example's gradient to the rows it holds (ents) in rs:
// dz·v for the linear weight and dz·v·other for the factor row, where other
// is the opposite side's projection, plus the rows' L2 shares. It returns
// the example's penalty.
func (s *state) backward(rs *rowSet, ents []ent, touched *[]int32, dz, sw float64, other []float64) float64 {
	pen := 0.0
	st := rs.stride
	for _, e := range ents {
		r := e.row
		g := rs.g[int(r)*st : int(r+1)*st]
		if rs.mark[r] != s.stamp {
			rs.mark[r] = s.stamp
			*touched = append(*touched, r)
			clear(g)
		}
		p := rs.theta[int(r)*st : int(r+1)*st]
		share := sw / rs.n[r]
		dv := dz * float64(e.v)
		d0 := p[0] - rs.w0[r]
		g[0] += dv + share*rs.lam[r]*d0
		pen += share * rs.lam[r] * d0 * d0
		lf := share*s.lamF + sw*s.decayF
		sq := 0.0
		gk, pk := g[1:1+len(other)], p[1:1+len(other)]
		for k, o := range other {
			gk[k] += dv*o + lf*pk[k]
			sq += pk[k] * pk[k]
		}
		pen += lf * sq
	}
	return 0.5 * pen
}

// Adam's constants (Kingma & Ba's defaults).
const (
	beta1   = 0.9
	beta2   = 0.999
	adamEps = 1e-8
)

// step applies one lazy Adam update with learn rate lr to the rows the last
// lossGrad touched and to the bias. Each row keeps its own step count for
// bias correction, so a feature first seen after thousands of steps takes
// ordinary first steps rather than the √(1/(1−β₂)) ≈ 32-fold ones a global
// count would give its fresh moments.
func (s *state) step(lr float64) {
	adamRows(&s.call, s.touchedCall, lr, s.linearRate, s.factorRate)
	adamRows(&s.ctx, s.touchedCtx, lr, s.linearRate, s.factorRate)
	s.biasT++
	s.biasM, s.biasV, s.bias = adamOne(s.biasM, s.biasV, s.bias, s.biasG, lr*s.linearRate, s.biasT)
}

// adamRows steps the touched rows: the first (linear) parameter of each row
// at linearRate times the learn rate, the factor part at factorRate times.
func adamRows(rs *rowSet, touched []int32, lr, linearRate, factorRate float64) {
	st := rs.stride
	for _, r := range touched {
		rs.t[r]++
		k1, k2 := adamCorrection(rs.t[r])
		c1 := lr * k1
		c2 := k2
		lo, hi := int(r)*st, int(r+1)*st
		g, m, v, p := rs.g[lo:hi], rs.m[lo:hi], rs.v[lo:hi], rs.theta[lo:hi]
		m, v, p = m[:len(g)], v[:len(g)], p[:len(g)]
		for k, gk := range g {
			m[k] = beta1*m[k] + (1-beta1)*gk
			v[k] = beta2*v[k] + (1-beta2)*gk*gk
			d := c1 * m[k] / (math.Sqrt(v[k]*c2) + adamEps)
			if k > 0 {
				d *= factorRate
			} else {
				d *= linearRate
			}
			p[k] -= d
		}
	}
}

func adamOne(m, v, p, g, lr float64, t uint32) (float64, float64, float64) {
	m = beta1*m + (1-beta1)*g
	v = beta2*v + (1-beta2)*g*g
	k1, k2 := adamCorrection(t)
	p -= lr * k1 * m / (math.Sqrt(v*k2) + adamEps)
	return m, v, p
}

// adamCorrection returns Adam's bias corrections 1/(1−β₁ᵗ) and 1/(1−β₂ᵗ).
// Every touched row needs them at every step, so they come from a table:
// math.Pow was a third of an online update's time.
func adamCorrection(t uint32) (float64, float64) {
	if t < uint32(len(adamTable)) {
		c := &adamTable[t]
		return c[0], c[1]
	}
	return 1, 1 / (1 - math.Pow(beta2, float64(t)))
}

// adamTable holds the corrections for t < 1<<14; beyond, β₁ᵗ is below
// 1e-600 and only β₂ᵗ (about 1e-7 there) is still computed.
var adamTable = func() *[1 << 14][2]float64 {
	var tab [1 << 14][2]float64
	b1, b2 := 1.0, 1.0
	for t := 1; t < len(tab); t++ {
		b1 *= beta1
		b2 *= beta2
		tab[t] = [2]float64{1 / (1 - b1), 1 / (1 - b2)}
	}
	return &tab
}()
