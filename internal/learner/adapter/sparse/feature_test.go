package sparse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestHashStaysInRangeAndSpreads(t *testing.T) {
	t.Parallel()
	const dim, offset, n = 1 << 12, 100, 1000
	seen := map[uint32]int{}
	for i := range n {
		h := Hash(fmt.Sprintf("tool=t%d|arg=a|shape=9/9/9", i), dim, offset)
		if h < offset || h >= offset+dim {
			t.Fatalf("index %d outside [%d, %d)", h, offset, offset+dim)
		}
		seen[h]++
	}
	if Hash("x", dim, offset) != Hash("x", dim, offset) {
		t.Fatal("hash is not deterministic")
	}
	// n names in dim buckets: n − dim(1 − (1 − 1/dim)ⁿ) collide on average.
	want := n - dim*(1-math.Pow(1-1.0/dim, n))
	got := n - len(seen)
	t.Logf("%d names in %d buckets: %d collisions (uniform hashing expects %.0f)", n, dim, got, want)
	if math.Abs(float64(got)-want) > 4*math.Sqrt(want) {
		t.Errorf("%d collisions, a uniform hash gives %.0f ± %.0f", got, want, 2*math.Sqrt(want))
	}
}

func TestTableMatchesMap(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	tab := newTable(0)
	want := map[uint32]int32{}
	for i := range 5000 {
		k := rng.Uint32N(1 << 14)
		if i%7 == 0 {
			k = math.MaxUint32 - 1 // the largest valid index
		}
		tab.put(k, int32(i))
		want[k] = int32(i)
	}
	if tab.n != len(want) {
		t.Fatalf("table holds %d keys, want %d", tab.n, len(want))
	}
	for k, v := range want {
		if got := tab.get(k); got != v {
			t.Fatalf("key %d: row %d, want %d", k, got, v)
		}
	}
	for range 1000 {
		k := rng.Uint32N(1<<14) + 1<<14
		if tab.get(k) != -1 {
			t.Fatalf("absent key %d found", k)
		}
	}
}

// TestRepeatedFeaturesAdd: an index listed twice counts as the sum of its
// values, in scoring and in training alike.
func TestRepeatedFeaturesAdd(t *testing.T) {
	t.Parallel()
	m, ex := artifactModel(t)
	in := ex[0].Input
	twice := Input{Call: append(append([]Feat(nil), in.Call...), in.Call[0]), Context: in.Context}
	merged := Input{Call: append([]Feat(nil), in.Call...), Context: in.Context}
	merged.Call[0].V *= 2
	if a, b := m.Logit(twice), m.Logit(merged); math.Abs(a-b) > 1e-5 {
		t.Errorf("logit %v with the feature twice, %v with its value doubled", a, b)
	}
}

func TestContextScorerMatchesRisk(t *testing.T) {
	t.Parallel()
	m, ex := artifactModel(t)
	s := m.ForContext(ex[0].Context)
	for i := range ex[:50] {
		in := Input{Call: ex[i].Call, Context: ex[0].Context}
		if a, b := s.Risk(in.Call), m.Risk(in); a != b {
			t.Fatalf("call %d: scorer %v, model %v", i, a, b)
		}
	}
}
