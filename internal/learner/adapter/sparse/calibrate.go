package sparse

import "math"

// fitPlatt fits the calibration map risk = σ(a·z + c) to raw logits z and
// labels y ∈ {0, 1} with weights w, by Newton's method on
//
//	Σ wᵢ ℓ(a·zᵢ + c, yᵢ) + (κ/2)((a − 1)² + c²),
//
// the κ term being worth κ pseudo-examples that keep a small validation set
// from bending the map far from the identity. It returns the identity when
// the fit fails or would reverse the ranking (a ≤ 0): a model whose held-out
// scores anti-correlate with failure has a bigger problem than calibration.
func fitPlatt(z, y, w []float64, kappa float64) (a, c float64) {
	a, c = 1, 0
	for range 50 {
		// Gradient and Hessian of the objective in (a, c).
		ga, gc := kappa*(a-1), kappa*c
		haa, hac, hcc := kappa, 0.0, kappa
		for i, zi := range z {
			p := sigmoid(a*zi + c)
			d := w[i] * (p - y[i])
			h := w[i] * p * (1 - p)
			ga += d * zi
			gc += d
			haa += h * zi * zi
			hac += h * zi
			hcc += h
		}
		det := haa*hcc - hac*hac
		if !(det > 1e-12) {
			return 1, 0
		}
		da := (hcc*ga - hac*gc) / det
		dc := (haa*gc - hac*ga) / det
		if n := math.Hypot(da, dc); n > 1 { // damp: the objective is not quadratic far out
			da, dc = da/n, dc/n
		}
		a, c = a-da, c-dc
		if math.Abs(da) < 1e-10 && math.Abs(dc) < 1e-10 {
			break
		}
	}
	if !(a > 0) || math.IsInf(a, 0) || math.IsNaN(c) || math.IsInf(c, 0) {
		return 1, 0
	}
	return a, c
}

func nanF() float64 { return math.NaN() }
