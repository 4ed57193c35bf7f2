package adapter

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// randomExamples returns n examples with unit vectors and random labels,
// enough to exercise every code path without learning anything.
func randomExamples(n, d int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 7))
	ex := make([]Example, n)
	for i := range ex {
		ex[i] = Example{Context: randUnit(rng, d), Action: randUnit(rng, d), Failed: i%3 == 0}
	}
	return ex
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	t.Parallel()
	const d = 7
	for _, tc := range []struct {
		name string
		r    int
		feat Features
	}{
		{"linear", 0, 0},
		{"rank1", 1, 0},
		{"rank3 context", 3, FeatureContext},
		{"rank3 all", 3, FeatureContext | FeatureDiagonal},
		{"rank16 all", MaxRank, FeatureContext | FeatureDiagonal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := randomExamples(12, d, 11)
			lay := newLayout(d, tc.r, tc.feat)
			rng := rand.New(rand.NewPCG(3, 4))
			theta := make([]float64, lay.n)
			for j := range theta {
				theta[j] = rng.NormFloat64() // large enough that σ is far from linear
			}
			tr := &trainer{lay: lay, ex: ex, cw: classWeights(len(ex), 4), l2: 0.05,
				grad: make([]float64, lay.n), sc: newScratch(lay)}
			batch := []int{0, 1, 2, 3, 5, 8, 9, 11}
			tr.lossGrad(theta, batch)
			analytic := append([]float64(nil), tr.grad...)

			const h = 1e-5
			var diff2, sum2, worst float64
			for j := range theta {
				orig := theta[j]
				theta[j] = orig + h
				up := tr.lossGrad(theta, batch)
				theta[j] = orig - h
				down := tr.lossGrad(theta, batch)
				theta[j] = orig
				numeric := (up - down) / (2 * h)
				diff := analytic[j] - numeric
				diff2 += diff * diff
				sum2 += (analytic[j] + numeric) * (analytic[j] + numeric)
				// Per coordinate, relative to the gradient's scale so that
				// near-zero entries do not divide by ~0.
				rel := math.Abs(diff) / math.Max(math.Abs(analytic[j])+math.Abs(numeric), 1e-6)
				worst = math.Max(worst, rel)
			}
			overall := math.Sqrt(diff2) / math.Sqrt(sum2)
			t.Logf("%d parameters: ‖g−fd‖/‖g+fd‖ = %.2e, worst coordinate %.2e", lay.n, overall, worst)
			if overall > 1e-7 || worst > 1e-5 {
				t.Errorf("gradient mismatch: overall %.2e, worst coordinate %.2e", overall, worst)
			}
		})
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	t.Parallel()
	ex := newWorld(5, 24, 10).family(6, "A", 4, 0.3).sample(600, 7)
	cfg := DefaultConfig()
	cfg.Seed = 42
	cfg.Rank = 6
	cfg.MaxEpochs = 8 // determinism shows within a few epochs; more only costs time under -race
	a, err := Train(ex, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(ex, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for j := range a.theta {
		if math.Float64bits(a.theta[j]) != math.Float64bits(b.theta[j]) {
			t.Fatalf("parameter %d differs between runs with the same seed: %v vs %v", j, a.theta[j], b.theta[j])
		}
	}
	if a.info.Epochs != b.info.Epochs || a.info.BestEpoch != b.info.BestEpoch {
		t.Errorf("epochs differ: %+v vs %+v", a.info, b.info)
	}

	cfg.Seed = 43
	c, err := Train(ex, cfg)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for j := range a.theta {
		same = same && a.theta[j] == c.theta[j]
	}
	if same {
		t.Error("a different seed gave identical parameters; the seed is not used")
	}
}

func TestRiskPathsAgree(t *testing.T) {
	t.Parallel()
	ex := newWorld(1, 16, 8).family(2, "A", 3, 0.3).sample(300, 3)
	cfg := DefaultConfig()
	cfg.Features = FeatureContext | FeatureDiagonal
	m, err := Train(ex, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex[:50] {
		r := m.Risk(e.Context, e.Action)
		if !(r > 0 && r < 1) {
			t.Fatalf("risk %v outside (0, 1)", r)
		}
		if s := m.ForContext(e.Context).Risk(e.Action); s != r {
			t.Fatalf("ForContext risk %v != Risk %v", s, r)
		}
		// Cross-check against the training forward pass, which computes the
		// logit by a different route.
		tr := &trainer{lay: m.lay, sc: newScratch(m.lay)}
		if want := sigmoid(-tr.logit(m.theta, &e)); math.Abs(want-r) > 1e-12 {
			t.Fatalf("Risk %v, training forward pass gives %v", r, want)
		}
	}
}

func TestRiskPanicsOnWrongDimension(t *testing.T) {
	t.Parallel()
	m, err := Train(randomExamples(60, 5, 1), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for a 4-dimensional action on a 5-dimensional model")
		}
	}()
	m.Risk(make([]float64, 5), make([]float64, 4))
}

func TestConcurrentScoring(t *testing.T) {
	t.Parallel()
	ex := randomExamples(200, 12, 2)
	m, err := Train(ex, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(ex))
	for i, e := range ex {
		want[i] = m.Risk(e.Context, e.Action)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ex {
				e := ex[(i+g*25)%len(ex)]
				j := (i + g*25) % len(ex)
				if m.Risk(e.Context, e.Action) != want[j] || m.ForContext(e.Context).Risk(e.Action) != want[j] {
					errs <- "concurrent score differs"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	t.Parallel()
	good := randomExamples(50, 4, 1)
	allOK := randomExamples(50, 4, 1)
	for i := range allOK {
		allOK[i].Failed = false
	}
	short := randomExamples(50, 4, 1)
	short[7].Action = short[7].Action[:3]
	nan := randomExamples(50, 4, 1)
	nan[3].Context = []float64{math.NaN(), 0, 0, 0}

	mod := func(f func(*Config)) Config { c := DefaultConfig(); f(&c); return c }
	for _, tc := range []struct {
		name string
		ex   []Example
		cfg  Config
		is   error
	}{
		{"no examples", nil, DefaultConfig(), nil},
		{"one class", allOK, DefaultConfig(), ErrOneClass},
		{"ragged", short, DefaultConfig(), nil},
		{"nan", nan, DefaultConfig(), nil},
		{"rank too big", good, mod(func(c *Config) { c.Rank = MaxRank + 1 }), nil},
		{"negative rank", good, mod(func(c *Config) { c.Rank = -1 }), nil},
		{"unknown feature", good, mod(func(c *Config) { c.Features = 1 << 9 }), nil},
		{"zero config", good, Config{}, nil},
		{"nan l2", good, mod(func(c *Config) { c.L2 = math.NaN() }), nil},
		{"val fraction 1", good, mod(func(c *Config) { c.ValFraction = 1 }), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Train(tc.ex, tc.cfg)
			if err == nil {
				t.Fatalf("Train accepted it: %+v", m.info)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
		})
	}
}

func TestTrainRecordsInfo(t *testing.T) {
	t.Parallel()
	ex := randomExamples(200, 6, 3)
	cfg := DefaultConfig()
	cfg.EmbedderID = "glove-sif-100"
	cfg.CreatedAt = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	m, err := Train(ex, cfg)
	if err != nil {
		t.Fatal(err)
	}
	i := m.Info()
	if m.EmbedderID() != cfg.EmbedderID || !i.CreatedAt.Equal(cfg.CreatedAt) || i.Seed != cfg.Seed {
		t.Errorf("metadata not recorded: %q %+v", m.EmbedderID(), i)
	}
	if i.TrainN+i.ValN != len(ex) || i.ValN == 0 || i.Epochs < i.BestEpoch || math.IsNaN(i.ValLoss) {
		t.Errorf("inconsistent counts: %+v", i)
	}
	if m.Dim() != 6 || m.Rank() != cfg.Rank || m.Features() != cfg.Features {
		t.Errorf("shape %d/%d/%v", m.Dim(), m.Rank(), m.Features())
	}
}

func TestSmallDataTrainsWithoutValidation(t *testing.T) {
	t.Parallel()
	m, err := Train(randomExamples(minValidation-1, 5, 4), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if i := m.Info(); i.ValN != 0 || i.Epochs != DefaultConfig().MaxEpochs || !math.IsNaN(i.ValLoss) {
		t.Errorf("want all epochs on all data, got %+v", i)
	}
}
