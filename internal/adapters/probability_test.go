package adapters_test

import (
	"math"
	"testing"

	"github.com/admem/admem/internal/adapters"
)

func TestActiveProbability(t *testing.T) {
	cases := []struct {
		name       string
		base, risk float64
		want       float64
	}{
		{"unknown base rate: unchanged", 0, 0.8, 0.8},
		{"balanced classes: unchanged", 0.5, 0.8, 0.8},
		{"rare failures: balanced 0.9 is even odds at 10 %", 0.1, 0.9, 0.5},
		{"rare failures: balanced 0.5 is the base rate", 0.1, 0.5, 0.1},
		{"certain stays certain", 0.1, 1, 1},
		{"never stays never", 0.1, 0, 0},
		{"common failures raise the risk", 0.75, 0.5, 0.75},
	}
	for _, c := range cases {
		a := &adapters.Active{BaseRate: c.base}
		if got := a.Probability(c.risk); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Probability(%v) at base rate %v = %v, want %v", c.name, c.risk, c.base, got, c.want)
		}
	}
	// Monotone in the risk: calibration never reorders candidates.
	a := &adapters.Active{BaseRate: 0.07}
	prev := -1.0
	for r := 0.0; r <= 1; r += 0.01 {
		p := a.Probability(r)
		if p < prev {
			t.Fatalf("Probability not monotone at %v: %v < %v", r, p, prev)
		}
		prev = p
	}
}
