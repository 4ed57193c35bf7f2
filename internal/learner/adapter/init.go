package adapter

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// initNoise is the standard deviation of the seeded noise added to U and V.
// Without it, columns beyond the rank of the contrast matrix start at exactly
// zero, and since ∂z/∂U depends on V and vice versa they would stay there.
const initNoise = 0.01

// spectralInit sets U and V from the top-r singular vectors of the
// class-weighted contrast M = Σ wᵢ yᵢ cᵢ aᵢᵀ / Σ wᵢ (y = +1 success, −1
// failure), so that UVᵀ ≈ s·M_r starts pointing at the (context, action)
// directions that separate the classes. The scale s makes the initial
// bilinear term have unit standard deviation over the training examples: a
// logit contribution of the same order as the linear terms will learn, neither
// saturating σ nor vanishing. The linear terms start at zero, which is the
// optimum for balanced class weights when nothing else is known.
func spectralInit(l layout, theta []float64, ex []Example, idx []int, cw [2]float64, rng *rand.Rand) {
	d, r := l.d, l.r
	if r == 0 {
		return
	}
	u := theta[l.u : l.u+d*r]
	v := theta[l.v : l.v+d*r]

	m := make([]float64, d*d)
	wsum := 0.0
	for _, j := range idx {
		e := &ex[j]
		w := cw[0]
		if e.Failed {
			w = -cw[1]
		}
		wsum += math.Abs(w)
		for p, cp := range e.Context {
			wc := w * cp
			row := m[p*d : p*d+d]
			for q, aq := range e.Action {
				row[q] += wc * aq
			}
		}
	}
	for p := range m {
		m[p] /= wsum
	}

	var svd mat.SVD
	if svd.Factorize(mat.NewDense(d, d, m), mat.SVDThin) {
		var left, right mat.Dense
		svd.UTo(&left)
		svd.VTo(&right)
		sv := svd.Values(nil)
		for k := 0; k < r && k < len(sv); k++ {
			root := math.Sqrt(sv[k])
			for i := 0; i < d; i++ {
				u[i*r+k] = left.At(i, k) * root
				v[i*r+k] = right.At(i, k) * root
			}
		}
		scaleBilinear(l, theta, ex, idx)
	}
	// If the factorisation fails the model starts from noise alone, which
	// training handles, only more slowly.
	for j := range u {
		u[j] += initNoise * rng.NormFloat64()
		v[j] += initNoise * rng.NormFloat64()
	}
}

// scaleBilinear rescales U and V so that (Uᵀc)·(Vᵀa) has unit standard
// deviation over the given examples.
func scaleBilinear(l layout, theta []float64, ex []Example, idx []int) {
	t := &trainer{lay: l, sc: newScratch(l)}
	// Evaluate only the bilinear part: zero everything else in a copy.
	only := make([]float64, l.n)
	copy(only[l.u:], theta[l.u:l.u+2*l.d*l.r])
	var sum, sumSq float64
	for _, j := range idx {
		z := t.logit(only, &ex[j])
		sum += z
		sumSq += z * z
	}
	n := float64(len(idx))
	mean := sum / n
	sd := math.Sqrt(math.Max(sumSq/n-mean*mean, 0))
	if !(sd > 1e-12) {
		return
	}
	s := 1 / math.Sqrt(sd) // applied to both U and V: the product scales by 1/sd
	for j := l.u; j < l.u+2*l.d*l.r; j++ {
		theta[j] *= s
	}
}
