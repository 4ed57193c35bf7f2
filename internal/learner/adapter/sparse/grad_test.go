package sparse

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gradState builds a state with random parameters far from zero (so σ is
// far from linear), a prior on some call features and a prior bias, and
// random items resolved against it.
func gradState(t *testing.T, rank int) (*state, []*item) {
	t.Helper()
	f := testFeaturizer(5)
	cfg := f.config(rank)
	cfg.Prior = map[uint32]float32{f.namedIndex(0): 1.5, f.namedIndex(1): -0.7}
	cfg.PriorBias = -1.2
	cfg.PriorL2, cfg.L2, cfg.FactorL2, cfg.FactorDecay = 3, 0.7, 0.4, 0.05
	s, err := newState(&cfg, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	var items []*item
	for i := range 14 {
		e := Example{Failed: i%3 == 0, Weight: float32(0.5 + rng.Float64())}
		for range 1 + rng.IntN(4) {
			e.Call = append(e.Call, f.callName(randName(rng, "c")[:5])) // few names: features repeat
		}
		e.Call = append(e.Call, Feat{I: f.namedIndex(rng.IntN(2)), V: float32(rng.Float64())})
		if i%4 == 0 { // a repeated index within one input
			e.Call = append(e.Call, e.Call[0])
		}
		for _, x := range randUnit(rng, 5) {
			e.Context = append(e.Context, Feat{I: uint32(len(e.Context)), V: float32(x)})
		}
		e.Context = append(e.Context, f.ctxName(randName(rng, "x")[:5]))
		it, _ := s.resolve(&e, nil)
		s.count(&it)
		items = append(items, &it)
	}
	// Factor entries of sd r^−¼ keep (Uᵀc)·(Vᵀx) of order one at any rank:
	// large logits would make the finite differences, not the gradient, wrong.
	fsd := math.Pow(float64(max(rank, 1)), -0.25)
	for _, rs := range []*rowSet{&s.call, &s.ctx} {
		for j := range rs.theta {
			if j%rs.stride == 0 {
				rs.theta[j] = rng.NormFloat64()
			} else {
				rs.theta[j] = fsd * rng.NormFloat64()
			}
		}
	}
	s.bias = rng.NormFloat64()
	return s, items
}

// TestGradientMatchesFiniteDifferences checks lossGrad's gradient against
// central differences of the objective it returns, for every parameter of
// every block (b, w, g, U, V), the L2-to-prior shares included, on the full
// data set and on a batch.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	t.Parallel()
	for _, rank := range []int{0, 1, 3, MaxRank} {
		s, items := gradState(t, rank)
		for _, batch := range [][]*item{items, {items[1], items[4], items[5], items[9]}} {
			s.lossGrad(batch)
			type coord struct {
				rs *rowSet
				j  int
			}
			analytic := map[coord]float64{}
			for _, b := range []struct {
				rs      *rowSet
				touched []int32
			}{{&s.call, s.touchedCall}, {&s.ctx, s.touchedCtx}} {
				for _, r := range b.touched {
					for k := range b.rs.stride {
						j := int(r)*b.rs.stride + k
						analytic[coord{b.rs, j}] = b.rs.g[j]
					}
				}
			}
			biasG := s.biasG

			const h = 1e-6
			fd := func(p *float64) float64 {
				orig := *p
				*p = orig + h
				up := s.lossGrad(batch)
				*p = orig - h
				down := s.lossGrad(batch)
				*p = orig
				return (up - down) / (2 * h)
			}
			var diff2, sum2, worst float64
			check := func(a, n float64) {
				diff2 += (a - n) * (a - n)
				sum2 += (a + n) * (a + n)
				worst = math.Max(worst, math.Abs(a-n)/math.Max(math.Abs(a)+math.Abs(n), 1e-6))
			}
			check(biasG, fd(&s.bias))
			for c, a := range analytic {
				check(a, fd(&c.rs.theta[c.j]))
			}
			// Rows the batch does not hold must have no gradient at all.
			for _, rs := range []*rowSet{&s.call, &s.ctx} {
				for r := range rs.len() {
					if _, ok := analytic[coord{rs, r * rs.stride}]; ok {
						continue
					}
					if n := fd(&rs.theta[r*rs.stride]); n != 0 {
						t.Errorf("rank %d: untouched row %d has numeric gradient %g", rank, r, n)
					}
				}
			}
			overall := math.Sqrt(diff2 / sum2)
			t.Logf("rank %d, batch of %d: %d parameters, ‖g−fd‖/‖g+fd‖ = %.1e, worst coordinate %.1e",
				rank, len(batch), len(analytic)+1, overall, worst)
			if overall > 1e-7 || worst > 1e-5 {
				t.Errorf("rank %d: gradient mismatch: overall %.2e, worst %.2e", rank, overall, worst)
			}
		}
	}
}

// TestFullBatchObjectiveIsDataPlusPrior checks that the per-example L2
// shares add up, over the whole data set, to exactly the stated objective:
// the mean log loss plus ½Σλ(θ − θ⁰)² over W.
func TestFullBatchObjectiveIsDataPlusPrior(t *testing.T) {
	t.Parallel()
	s, items := gradState(t, 3)
	got := s.lossGrad(items)
	var loss, w float64
	for _, it := range items {
		loss += it.w * logLoss(s.forward(it), it.y)
		w += it.w
	}
	pen := s.lamB * (s.bias - s.bias0) * (s.bias - s.bias0)
	for _, rs := range []*rowSet{&s.call, &s.ctx} {
		for r := range rs.len() {
			if rs.n[r] == 0 {
				continue // not in the data: not in the objective
			}
			p := rs.row(int32(r))
			pen += rs.lam[r] * (p[0] - rs.w0[r]) * (p[0] - rs.w0[r])
			for _, v := range p[1:] {
				pen += (s.lamF + s.decayF*rs.n[r]) * v * v
			}
		}
	}
	want := (loss + 0.5*pen) / w
	if math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Fatalf("objective %v, want %v", got, want)
	}
}
