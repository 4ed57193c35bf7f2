package adapter_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/admem/admem/internal/learner/adapter"
)

// The worker's cycle: replay the reservoir with the new labelled steps,
// train, evaluate on held-out steps, store the artifact; the API loads the
// artifact and scores candidate actions for one context.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	unit := func(d int) []float64 {
		v := make([]float64, d)
		for i := range v {
			v[i] = rng.NormFloat64() / 4
		}
		return v
	}
	fresh := make([]adapter.Example, 400)
	for i := range fresh {
		fresh[i] = adapter.Example{Context: unit(8), Action: unit(8), Failed: i%4 == 0}
	}

	res, _ := adapter.NewReservoir(5000, 7) // persisted with MarshalBinary between runs
	cfg := adapter.DefaultConfig()
	cfg.EmbedderID = "example-8d"
	model, err := adapter.Train(append(fresh[:300:300], res.Examples()...), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	res.AddAll(fresh[:300])
	metrics := adapter.Evaluate(model, fresh[300:], 0.5) // for the judge's gate
	_ = metrics

	blob, _ := model.MarshalBinary() // stored as a version
	var active adapter.Model
	if err := active.UnmarshalBinary(blob); err != nil {
		fmt.Println(err)
		return
	}
	scorer := active.ForContext(fresh[0].Context)
	for _, e := range fresh[:3] {
		r := scorer.Risk(e.Action)
		fmt.Println(r > 0 && r < 1)
	}
	// Output:
	// true
	// true
	// true
}
