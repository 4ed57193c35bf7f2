package sparse

import (
	"fmt"
	"math"
)

// Feat is one non-zero feature of an input: its index and its value.
// Indicator features have V = 1.
type Feat struct {
	I uint32
	V float32
}

// Input is one (context, candidate call) pair as the featuriser describes it.
// A feature index may occur more than once in a list; the occurrences add up
// (x_i is the sum of their values), which is also what a hash collision
// between two names in one input amounts to.
type Input struct {
	// Call holds indices < CallDim: the call's hashed features and its named
	// evidence features at the indices the featuriser reserves for them.
	Call []Feat
	// Context holds indices < ContextDim: the task embedding at
	// [0, DenseContext) and hashed context features after it.
	Context []Feat
}

// Example is one labelled input. Feature slices are shared, not copied, by
// Train and Trainer: treat them as immutable once created.
type Example struct {
	Input
	Failed bool
	// Weight scales the example's share of the loss; 0 means 1. Use it for
	// evidence that stands for several observations, not to rebalance
	// classes: the loss must stay unweighted by class for risks to be
	// calibrated.
	Weight float32
	// Cluster is the failure cluster of a failed example ("" when unknown);
	// only Evaluate reads it, for cluster recall.
	Cluster string
}

func (e *Example) weight() float64 {
	if e.Weight == 0 {
		return 1
	}
	return float64(e.Weight)
}

// Hash places a named feature in [offset, offset+dim): FNV-1a (64-bit) of the
// name, folded to 32 bits, modulo dim. Featurisers reserve disjoint ranges
// (hashed call features, then the named evidence features) by their offsets.
//
// Two names that land on the same index share every parameter: the model
// cannot tell them apart, and an input holding both sums their values. With
// n distinct names in a range of size dim, a given name shares its index
// with another with probability about 1 − e^(−n/dim), so a range a few
// hundred times larger than a tenant's active names keeps collisions below
// one percent; memory does not grow with dim (see the package doc).
//
// Hash panics if dim is 0.
func Hash(name string, dim, offset uint32) uint32 {
	const (
		basis = 14695981039346656037
		prime = 1099511628211
	)
	h := uint64(basis)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= prime
	}
	return offset + uint32(h^h>>32)%dim
}

// checkInput validates one input against the model's dimensions. Training
// rejects bad inputs; scoring skips this check for speed and simply ignores
// indices it has no parameters for.
func checkInput(in *Input, callDim, ctxDim uint32) error {
	for _, f := range in.Call {
		if f.I >= callDim {
			return fmt.Errorf("call feature %d outside [0, %d)", f.I, callDim)
		}
		if !finite32(f.V) {
			return fmt.Errorf("call feature %d has value %v", f.I, f.V)
		}
	}
	for _, f := range in.Context {
		if f.I >= ctxDim {
			return fmt.Errorf("context feature %d outside [0, %d)", f.I, ctxDim)
		}
		if !finite32(f.V) {
			return fmt.Errorf("context feature %d has value %v", f.I, f.V)
		}
	}
	return nil
}

func finite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
