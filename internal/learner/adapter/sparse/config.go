package sparse

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// MaxRank is the largest rank of the context × call interaction. Beyond it a
// per-tenant model stops being cheap to score and tenants rarely have the
// data to fit it.
const MaxRank = 16

// Config controls the model's shape, its prior and its training. Start from
// DefaultConfig and override fields; Train and NewTrainer reject values that
// make no sense rather than guessing.
type Config struct {
	// CallDim and ContextDim bound the feature indices of calls and
	// contexts. They cost nothing by themselves: parameters exist only for
	// features that occur.
	CallDim, ContextDim uint32
	// DenseContext is the size of the dense task embedding at context
	// indices [0, DenseContext). Those rows are stored directly instead of
	// behind the index table, since every context has them.
	DenseContext uint32
	// Rank is the rank of the interaction term, 0..MaxRank (0: no
	// interaction, a sparse logistic regression).
	Rank int

	// Prior gives the starting weight of some call features, typically the
	// named evidence features: with no data the model is
	// σ(PriorBias + Σ Prior[i]·xᵢ). Features without a prior start at 0.
	Prior map[uint32]float32
	// PriorBias is the starting bias: the failure log-odds of a call with no
	// other evidence.
	PriorBias float32
	// PriorL2 is how strongly the bias and the weights in Prior are pulled
	// back to their prior values, in examples' worth: a data term of about
	// PriorL2 examples moves a weight half way. The loss is summed over
	// examples, so the prior matters less as a tenant's data grows.
	PriorL2 float64
	// L2 pulls the other linear weights (w, g) towards 0, in the same units.
	L2 float64
	// FactorL2 pulls the rows of U and V towards 0.
	FactorL2 float64
	// FactorDecay (κ) adds, for every example holding a feature, an L2 of
	// κ/2 on its factor row: a row's pull towards 0 grows with its evidence,
	// which keeps a frequent feature from memorising its contexts.
	FactorDecay float64

	// LearnRate is Adam's step size for the full refit, FactorLearnRate
	// the one for U and V. The interaction's output sums the factor rows
	// of every feature of the context and the call, so at the linear step
	// size it jumps from one fit to another within an epoch.
	LearnRate, FactorLearnRate float64
	// BatchSize is the number of examples per Adam step.
	BatchSize int
	// MaxEpochs bounds the passes over the training examples; MinSteps
	// raises it on small data sets so the fit still converges.
	MaxEpochs, MinSteps int
	// Patience is how many epochs without a better validation loss end the
	// refit early.
	Patience int
	// ValFraction is the share of each class held out for early stopping
	// and calibration, when there are at least MinValidation examples.
	ValFraction   float64
	MinValidation int
	// RefitBelow: with fewer examples than this, the split only chooses the
	// stages and epochs, and the model is refit on all examples.
	RefitBelow int
	// Calibrate fits a Platt map on the validation split (with CalibPrior
	// pseudo-examples pulling it towards the identity); off or without a
	// split, risks are σ(z).
	Calibrate  bool
	CalibPrior float64

	// OnlineSteps is the number of Adam steps per Trainer.Observe, each on
	// the new examples plus OnlineReplay examples drawn from the replay
	// reservoir, at OnlineLearnRate.
	OnlineSteps, OnlineReplay int
	OnlineLearnRate           float64
	// OnlineFactorRate scales the online learn rate of U and V. A handful
	// of examples seen in one or two contexts says little about how a
	// call's risk varies with context: at the full rate the interaction
	// swings the new call's risk from context to context, so online updates
	// move mostly the linear weights and the refit fits the interaction.
	OnlineFactorRate float64
	// ReplayCapacity bounds the Trainer's reservoir of past examples.
	ReplayCapacity int

	// Seed fixes the validation split, the initialisation, the batch order
	// and the replay draws: the same seed and examples give the same model.
	Seed uint64
	// Featurizer names the feature layout the model was trained on (which
	// names hash where, which evidence sits at which index). It is recorded
	// in the artifact; scoring features of another layout is meaningless.
	Featurizer string
	// CreatedAt is recorded in the artifact; zero means now.
	CreatedAt time.Time
}

// DefaultConfig returns the settings measured on this package's synthetic
// worlds (see the tests): hashing ranges of 2²⁰ call and context indices
// after a 100-d embedding, rank 8, and a prior worth a few examples.
func DefaultConfig() Config {
	return Config{
		CallDim:          1 << 20,
		ContextDim:       1 << 20,
		DenseContext:     100,
		Rank:             8,
		PriorL2:          4,
		L2:               1,
		FactorL2:         1,
		FactorDecay:      0.03,
		LearnRate:        0.02,
		FactorLearnRate:  0.004,
		BatchSize:        64,
		MaxEpochs:        40,
		MinSteps:         300,
		Patience:         4,
		ValFraction:      0.2,
		MinValidation:    50,
		RefitBelow:       2000,
		Calibrate:        true,
		CalibPrior:       4,
		OnlineSteps:      4,
		OnlineReplay:     32,
		OnlineLearnRate:  0.1,
		OnlineFactorRate: 0.1,
		ReplayCapacity:   4096,
		Seed:             1,
	}
}

// maxReplay bounds the reservoir so a configuration cannot ask for an
// absurd allocation.
const maxReplay = 1 << 22

func (cfg *Config) validate() error {
	nonNeg := func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }
	positive := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	switch {
	case cfg.CallDim == 0 || cfg.ContextDim == 0 || cfg.CallDim == math.MaxUint32 || cfg.ContextDim == math.MaxUint32:
		return fmt.Errorf("sparse: dimensions %d/%d must be in 1..2³²−2", cfg.CallDim, cfg.ContextDim)
	case cfg.DenseContext > cfg.ContextDim || cfg.DenseContext > maxDense:
		return fmt.Errorf("sparse: dense context %d exceeds the context dimension %d or %d", cfg.DenseContext, cfg.ContextDim, maxDense)
	case cfg.Rank < 0 || cfg.Rank > MaxRank:
		return fmt.Errorf("sparse: rank %d outside 0..%d", cfg.Rank, MaxRank)
	case !finite32(cfg.PriorBias):
		return errors.New("sparse: prior bias must be finite")
	case !nonNeg(cfg.PriorL2) || !nonNeg(cfg.L2) || !nonNeg(cfg.FactorL2) || !nonNeg(cfg.FactorDecay):
		return fmt.Errorf("sparse: L2 strengths %v/%v/%v/%v must be finite and ≥ 0",
			cfg.PriorL2, cfg.L2, cfg.FactorL2, cfg.FactorDecay)
	case !positive(cfg.LearnRate) || !positive(cfg.FactorLearnRate) || !positive(cfg.OnlineLearnRate):
		return fmt.Errorf("sparse: learn rates %v/%v/%v must be finite and > 0", cfg.LearnRate, cfg.FactorLearnRate, cfg.OnlineLearnRate)
	case cfg.BatchSize < 1 || cfg.MaxEpochs < 1 || cfg.MinSteps < 0 || cfg.Patience < 1:
		return fmt.Errorf("sparse: batch size %d, max epochs %d, min steps %d, patience %d out of range",
			cfg.BatchSize, cfg.MaxEpochs, cfg.MinSteps, cfg.Patience)
	case !(cfg.ValFraction >= 0 && cfg.ValFraction < 1) || cfg.MinValidation < 0 || cfg.RefitBelow < 0:
		return fmt.Errorf("sparse: validation fraction %v or minimum %d out of range", cfg.ValFraction, cfg.MinValidation)
	case !nonNeg(cfg.CalibPrior):
		return fmt.Errorf("sparse: calibration prior %v must be finite and ≥ 0", cfg.CalibPrior)
	case !(cfg.OnlineFactorRate >= 0 && cfg.OnlineFactorRate <= 1):
		return fmt.Errorf("sparse: online factor rate %v outside [0, 1]", cfg.OnlineFactorRate)
	case cfg.OnlineSteps < 1 || cfg.OnlineReplay < 0:
		return fmt.Errorf("sparse: online steps %d, replay %d out of range", cfg.OnlineSteps, cfg.OnlineReplay)
	case cfg.ReplayCapacity < 1 || cfg.ReplayCapacity > maxReplay:
		return fmt.Errorf("sparse: replay capacity %d outside 1..%d", cfg.ReplayCapacity, maxReplay)
	case len(cfg.Featurizer) > maxString:
		return fmt.Errorf("sparse: featurizer id longer than %d bytes", maxString)
	}
	for i, v := range cfg.Prior {
		if i >= cfg.CallDim || !finite32(v) {
			return fmt.Errorf("sparse: prior weight %v for call feature %d (dimension %d)", v, i, cfg.CallDim)
		}
	}
	return nil
}

// maxDense bounds the dense context block, which every model allocates in
// full.
const maxDense = 1 << 16

// maxString bounds the featurizer id in configs and artifacts.
const maxString = 1 << 10

// Info records how a model was produced; it travels in the artifact.
type Info struct {
	CreatedAt time.Time
	Seed      uint64
	// TrainN and ValN count the examples used for gradient steps and held
	// out; TrainFails and ValFails the failures among them.
	TrainN, ValN, TrainFails, ValFails int
	// Epochs is the number of epochs run, LinearEpochs those of them spent
	// fitting the linear part alone before the interaction was initialised
	// (a cold start of rank ≥ 1), BestEpoch the epoch of the last stage
	// whose parameters were kept (0: the stage's starting point).
	Epochs, LinearEpochs, BestEpoch int
	// ValLoss is the validation log loss at BestEpoch before calibration,
	// CalLoss after it (both NaN without a validation split).
	ValLoss, CalLoss float64
	// Refit tells that the model was refit on all TrainN examples after
	// the split (of ValN) chose its stages and epochs; see Train.
	Refit bool
	// Updates and Observed count the Trainer.Observe calls and examples
	// applied since the refit (0 for a refit's own model).
	Updates, Observed uint64
}
