// Package vecmath holds the vector arithmetic that embedders, the judge,
// failure clustering and guard share, so each compares vectors the same way.
// It has no dependencies: domain packages import it without pulling in an
// embedder's runtime.
package vecmath

import "math"

// Cosine returns the cosine similarity of a and b, 0 when either is zero or
// their lengths differ (vectors of different spaces are not comparable).
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// Normalize scales v to unit L2 length in place. The zero vector stays zero:
// there is no direction to keep, and inventing one would fake similarity.
func Normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
}
