package sparse

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The synthetic worlds of these tests are generated from a seed: random
// tool, argument and shape names, random rules. A test asserts what the
// model must learn of a class of world, never of one named tool.

// featurizer places names the way a real featuriser does: hashed call
// features in [0, callDim−named), named evidence features at the top of the
// call range, the task embedding at context [0, embed) and hashed context
// features after it.
type featurizer struct {
	callDim, ctxDim, embed, named uint32
}

func testFeaturizer(embed uint32) featurizer {
	return featurizer{callDim: 1 << 20, ctxDim: 1 << 20, embed: embed, named: 4}
}

func (f featurizer) config(rank int) Config {
	cfg := DefaultConfig()
	cfg.CallDim, cfg.ContextDim, cfg.DenseContext, cfg.Rank = f.callDim, f.ctxDim, f.embed, rank
	return cfg
}

func (f featurizer) callName(name string) Feat {
	return Feat{I: Hash(name, f.callDim-f.named, 0), V: 1}
}

// namedIndex is the index of the k-th named evidence feature.
func (f featurizer) namedIndex(k int) uint32 { return f.callDim - f.named + uint32(k) }

func (f featurizer) ctxName(name string) Feat {
	return Feat{I: Hash(name, f.ctxDim-f.embed, f.embed), V: 1}
}

func (f featurizer) embedding(v []float64) []Feat {
	out := make([]Feat, len(v))
	for i, x := range v {
		out[i] = Feat{I: uint32(i), V: float32(x)}
	}
	return out
}

func randName(rng *rand.Rand, prefix string) string {
	return fmt.Sprintf("%s%08x", prefix, rng.Uint32())
}

func randUnit(rng *rand.Rand, d int) []float64 {
	v := make([]float64, d)
	s := 0.0
	for i := range v {
		v[i] = rng.NormFloat64()
		s += v[i] * v[i]
	}
	s = math.Sqrt(s)
	for i := range v {
		v[i] /= s
	}
	return v
}

// callWorld is a tenant's tools: each tool has arguments, each argument's
// value comes in one of a few shapes. A rule makes some (tool, argument,
// shape) combinations fail; everything else fails at a small noise rate.
// Contexts are a task embedding and the previous step, which do not matter
// here.
type callWorld struct {
	f      featurizer
	tools  []string
	args   [][]string // per tool
	shapes []string
	tasks  [][]float64
	prevs  []string
	bad    map[[3]int]bool // (tool, arg, shape) that fails
	noise  float64
}

func newCallWorld(seed uint64, f featurizer, nTools, nArgs, nShapes int, shared bool, badShare, noise float64) *callWorld {
	rng := rand.New(rand.NewPCG(seed, 11))
	w := &callWorld{f: f, bad: map[[3]int]bool{}, noise: noise}
	// With shared set, argument names come from a small pool, as real APIs
	// reuse "id", "date", "email": an argument-shape feature then spans
	// tools, and what one tool teaches about it bears on the others.
	// Otherwise every tool has its own argument names.
	var pool []string
	for range nArgs + 2 {
		pool = append(pool, randName(rng, "arg"))
	}
	for range nTools {
		w.tools = append(w.tools, randName(rng, "tool"))
		var args []string
		for _, j := range rng.Perm(len(pool))[:nArgs] {
			if shared {
				args = append(args, pool[j])
			} else {
				args = append(args, randName(rng, "arg"))
			}
		}
		w.args = append(w.args, args)
	}
	for range nShapes {
		w.shapes = append(w.shapes, randName(rng, "shape"))
	}
	for range 12 {
		w.tasks = append(w.tasks, randUnit(rng, int(f.embed)))
	}
	for range 8 {
		w.prevs = append(w.prevs, randName(rng, "prev"))
	}
	for t := range nTools {
		for a := range nArgs {
			if rng.Float64() < badShare {
				w.bad[[3]int{t, a, rng.IntN(nShapes)}] = true
			}
		}
	}
	return w
}

// call describes one call: tool t with the given shape per argument.
func (w *callWorld) call(t int, shapes []int) []Feat {
	out := []Feat{w.f.callName("tool=" + w.tools[t])}
	for a, s := range shapes {
		out = append(out,
			w.f.callName("tool="+w.tools[t]+"|arg="+w.args[t][a]+"|shape="+w.shapes[s]),
			w.f.callName("arg="+w.args[t][a]+"|shape="+w.shapes[s]))
	}
	return out
}

func (w *callWorld) context(rng *rand.Rand) []Feat {
	task := w.tasks[rng.IntN(len(w.tasks))]
	emb := make([]float64, len(task))
	for i := range emb {
		emb[i] = task[i] + 0.05*rng.NormFloat64()
	}
	ctx := w.f.embedding(emb)
	return append(ctx, w.f.ctxName("prev_tool="+w.prevs[rng.IntN(len(w.prevs))]+"|ok"))
}

// sample draws n examples; tools restricts the draw to those tools (nil:
// all). It returns the true failure probabilities too.
func (w *callWorld) sample(n int, seed uint64, tools []int) ([]Example, []float64) {
	rng := rand.New(rand.NewPCG(seed, 12))
	ex := make([]Example, n)
	truth := make([]float64, n)
	for i := range ex {
		t := rng.IntN(len(w.tools))
		if tools != nil {
			t = tools[rng.IntN(len(tools))]
		}
		shapes := make([]int, len(w.args[t]))
		p := w.noise
		for a := range shapes {
			shapes[a] = rng.IntN(len(w.shapes))
			if w.bad[[3]int{t, a, shapes[a]}] {
				p = 1 - w.noise
			}
		}
		truth[i] = p
		ex[i] = Example{Input: Input{Call: w.call(t, shapes), Context: w.context(rng)}, Failed: rng.Float64() < p}
		if ex[i].Failed && p > 0.5 {
			ex[i].Cluster = fmt.Sprint(t)
		}
	}
	return ex, truth
}

// pairWorld makes failure an interaction: tool t fails after previous step
// p exactly when group(t) == group(p), for groups drawn at random. Every
// tool and every previous step fails equally often on its own (1/groups),
// so a model without the context × call term cannot rank the failures.
type pairWorld struct {
	f            featurizer
	tools, prevs []string
	toolG, prevG []int
	tasks        [][]float64
	noise        float64
}

func newPairWorld(seed uint64, f featurizer, nTools, nPrevs, groups int, noise float64) *pairWorld {
	rng := rand.New(rand.NewPCG(seed, 13))
	w := &pairWorld{f: f, noise: noise}
	for i := range nTools {
		w.tools = append(w.tools, randName(rng, "tool"))
		w.toolG = append(w.toolG, i%groups)
	}
	for i := range nPrevs {
		w.prevs = append(w.prevs, randName(rng, "prev"))
		w.prevG = append(w.prevG, i%groups)
	}
	for range 6 {
		w.tasks = append(w.tasks, randUnit(rng, int(f.embed)))
	}
	return w
}

func (w *pairWorld) sample(n int, seed uint64) ([]Example, []float64) {
	rng := rand.New(rand.NewPCG(seed, 14))
	ex := make([]Example, n)
	truth := make([]float64, n)
	for i := range ex {
		t, p := rng.IntN(len(w.tools)), rng.IntN(len(w.prevs))
		prob := w.noise
		if w.toolG[t] == w.prevG[p] {
			prob = 1 - w.noise
		}
		task := w.tasks[rng.IntN(len(w.tasks))]
		ctx := append(w.f.embedding(task), w.f.ctxName("prev_tool="+w.prevs[p]+"|ok"))
		call := []Feat{w.f.callName("tool=" + w.tools[t]), w.f.callName("tool=" + w.tools[t] + "|arity=2")}
		truth[i] = prob
		ex[i] = Example{Input: Input{Call: call, Context: ctx}, Failed: rng.Float64() < prob}
	}
	return ex, truth
}

// logisticWorld draws inputs from a pool of features and labels them from a
// known logistic model, so calibration can be checked against the truth.
type logisticWorld struct {
	f        featurizer
	callW    map[uint32]float64
	callPool []uint32
	ctxPool  []uint32
	ctxW     map[uint32]float64
	bias     float64
}

func newLogisticWorld(seed uint64, f featurizer, nCall, nCtx int) *logisticWorld {
	rng := rand.New(rand.NewPCG(seed, 15))
	w := &logisticWorld{f: f, callW: map[uint32]float64{}, ctxW: map[uint32]float64{}, bias: -1.5}
	for range nCall {
		i := f.callName(randName(rng, "c")).I
		w.callPool = append(w.callPool, i)
		w.callW[i] = 1.2 * rng.NormFloat64()
	}
	for range nCtx {
		i := f.ctxName(randName(rng, "x")).I
		w.ctxPool = append(w.ctxPool, i)
		w.ctxW[i] = 0.6 * rng.NormFloat64()
	}
	return w
}

func (w *logisticWorld) sample(n int, seed uint64) ([]Example, []float64) {
	rng := rand.New(rand.NewPCG(seed, 16))
	ex := make([]Example, n)
	truth := make([]float64, n)
	for i := range ex {
		z := w.bias
		var call, ctx []Feat
		for range 4 {
			j := w.callPool[rng.IntN(len(w.callPool))]
			call = append(call, Feat{I: j, V: 1})
			z += w.callW[j]
		}
		for range 2 {
			j := w.ctxPool[rng.IntN(len(w.ctxPool))]
			ctx = append(ctx, Feat{I: j, V: 1})
			z += w.ctxW[j]
		}
		truth[i] = sigmoid(z)
		ex[i] = Example{Input: Input{Call: call, Context: ctx}, Failed: rng.Float64() < truth[i]}
	}
	return ex, truth
}
