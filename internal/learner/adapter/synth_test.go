package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The synthetic world: a fixed set of action templates, and task families
// each made of a few context clusters. In every context cluster a random
// subset of actions is "bad" and fails most of the time; elsewhere an action
// fails at its own base rate. So failure is mostly an interaction between
// context and action, with a weaker action-only effect a linear model can see.

type world struct {
	d       int
	actions [][]float64 // action template centres
	base    []float64   // per-action failure rate outside bad cells
	noise   float64
}

type family struct {
	w    *world
	name string
	ctx  [][]float64 // context cluster centres
	bad  [][]bool    // [context cluster][action]
	badP float64
}

func newWorld(seed uint64, d, nActions int) *world {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := &world{d: d, noise: 0.7}
	for range nActions {
		w.actions = append(w.actions, randUnit(rng, d))
		b := 0.08
		if rng.Float64() < 0.3 {
			b = 0.35 // some actions are flaky everywhere
		}
		w.base = append(w.base, b)
	}
	return w
}

func (w *world) family(seed uint64, name string, nCtx int, badShare float64) *family {
	rng := rand.New(rand.NewPCG(seed, 2))
	f := &family{w: w, name: name, badP: 0.85}
	for range nCtx {
		f.ctx = append(f.ctx, randUnit(rng, w.d))
		row := make([]bool, len(w.actions))
		for a := range row {
			row[a] = rng.Float64() < badShare
		}
		f.bad = append(f.bad, row)
	}
	return f
}

func (f *family) sample(n int, seed uint64) []Example {
	ex, _ := f.sampleWithTruth(n, seed)
	return ex
}

// sampleWithTruth also returns each example's true failure probability, from
// which the Bayes-optimal AUC is computed.
func (f *family) sampleWithTruth(n int, seed uint64) ([]Example, []float64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]Example, n)
	truth := make([]float64, n)
	for i := range out {
		k, a := rng.IntN(len(f.ctx)), rng.IntN(len(f.w.actions))
		p := f.w.base[a]
		if f.bad[k][a] {
			p = f.badP
		}
		truth[i] = p
		e := Example{
			Context: jitter(rng, f.ctx[k], f.w.noise),
			Action:  jitter(rng, f.w.actions[a], f.w.noise/2),
			Failed:  rng.Float64() < p,
		}
		// Only systematic failures form a cluster; base-rate failures are
		// the noise a failure-signature clusterer would leave unclustered.
		if e.Failed && f.bad[k][a] {
			e.Cluster = fmt.Sprintf("%s/c%d/a%d", f.name, k, a)
		}
		out[i] = e
	}
	return out, truth
}

func randUnit(rng *rand.Rand, d int) []float64 {
	v := make([]float64, d)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return normalise(v)
}

// jitter returns centre plus isotropic noise of norm ≈ sigma, renormalised:
// embeddings of different texts about the same thing.
func jitter(rng *rand.Rand, centre []float64, sigma float64) []float64 {
	v := make([]float64, len(centre))
	s := sigma / math.Sqrt(float64(len(centre)))
	for i, c := range centre {
		v[i] = c + s*rng.NormFloat64()
	}
	return normalise(v)
}

func normalise(v []float64) []float64 {
	n := 0.0
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] /= n
	}
	return v
}
