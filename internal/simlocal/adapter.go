package simlocal

import (
	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner/adapter/sparse"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/riskmodel"
	"github.com/admem/admem/internal/signature"
)

// Adapter is the full arm's per-tenant risk model in process: every call
// of a recorded trajectory becomes an example (what the mistake model
// said about it before the trajectory was learnt, labelled with whether it
// failed deterministically), observed online at once and refit from all
// examples every RefitEvery new ones.
type Adapter struct {
	Cfg        sparse.Config
	RefitEvery int // new examples between full refits
	MinTrain   int // no model below this many examples
	Recent     int // steps of context a guard request carries
	// NamedOnly keeps only the named evidence features (no hashed call
	// facts, no context): a calibration of the evidence.
	NamedOnly bool

	examples []sparse.Example
	model    *sparse.Model
	trainer  *sparse.Trainer
	since    int
}

// NewAdapter returns the adapter with the production layout's settings.
func NewAdapter() *Adapter {
	return &Adapter{Cfg: riskmodel.Config(), RefitEvery: 200, MinTrain: 100, Recent: 6}
}

// Model returns the model guard scores with (nil: none yet).
func (ad *Adapter) Model() *sparse.Model {
	if ad.trainer != nil {
		return ad.trainer.Snapshot()
	}
	return ad.model
}

type pending struct {
	in   sparse.Input
	step admem.Step
}

// describe assesses each step of t as guard would have before t was learnt.
func (ad *Adapter) describe(b *mistake.Book, t admem.Trajectory) []pending {
	out := make([]pending, 0, len(t.Steps))
	for i, s := range t.Steps {
		lo := max(0, i-ad.Recent)
		sit := &mistake.Situation{Task: t.Task, Steps: t.Steps[lo:i]}
		a := b.Assess(sit, mistake.CallOf(s))
		in := riskmodel.Input(sit, &a)
		if ad.NamedOnly {
			in = named(in)
		}
		out = append(out, pending{in: in, step: s})
	}
	return out
}

// learn labels the described steps with the book that has learnt t (a
// failure its mistake calls transient is no label) and trains.
func (ad *Adapter) learn(b *mistake.Book, ps []pending) error {
	var fresh []sparse.Example
	for _, p := range ps {
		failed := p.step.Failed()
		if failed {
			sig := signature.Normalize(p.step.Action, p.step.ErrorType, p.step.Error)
			if m := b.Mistakes[sig.ID()]; m == nil || m.Kind == mistake.KindTransient {
				continue
			}
		}
		fresh = append(fresh, sparse.Example{Input: p.in, Failed: failed})
	}
	ad.examples = append(ad.examples, fresh...)
	ad.since += len(fresh)
	if len(ad.examples) < ad.MinTrain {
		return nil
	}
	if ad.model == nil || ad.since >= ad.RefitEvery {
		m, _, err := sparse.Train(ad.examples, ad.Cfg, nil)
		if err != nil {
			return err
		}
		ad.model, ad.since = m, 0
		ad.trainer, err = sparse.NewTrainer(m, ad.examples, ad.Cfg)
		return err
	}
	return ad.trainer.Observe(fresh)
}

// namedFrom is where the named evidence features begin in the call range
// (riskmodel keeps its 16 named slots at the top).
var namedFrom = riskmodel.Config().CallDim - 16

// named keeps an input's named evidence features only (they sit at the top
// of the call range).
func named(in sparse.Input) sparse.Input {
	var out sparse.Input
	for _, f := range in.Call {
		if f.I >= namedFrom {
			out.Call = append(out.Call, f)
		}
	}
	return out
}
