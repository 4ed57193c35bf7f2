// Package adapterstest makes labelled steps for adapter training from a
// hidden rule, for the adapters tests and the train + gate + publish
// figure of the taureplay benchmark: both measure the same thing.
package adapterstest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/admem/admem"
)

// SynthSteps makes n labelled steps in d dimensions from a hidden rule:
// contexts come in 8 families, actions are 24 directions, and an action
// fails in a family by a fixed pattern, so the bilinear term has something
// to learn. The steps name embedder "synth".
func SynthSteps(n, d int, seed uint64, prefix string) []admem.LabelledStep {
	rng := rand.New(rand.NewPCG(seed, 99))
	unit := func() []float32 {
		v := make([]float32, d)
		var ss float64
		for i := range v {
			x := rng.NormFloat64()
			v[i] = float32(x)
			ss += x * x
		}
		for i := range v {
			v[i] /= float32(math.Sqrt(ss))
		}
		return v
	}
	families := make([][]float32, 8)
	for i := range families {
		families[i] = unit()
	}
	actions := make([][]float32, 24)
	for i := range actions {
		actions[i] = unit()
	}
	out := make([]admem.LabelledStep, n)
	for i := range out {
		f, a := i%len(families), rng.IntN(len(actions))
		c := make([]float32, d)
		noise := unit()
		for k := range c {
			c[k] = families[f][k] + 0.3*noise[k]
		}
		failed := (f+a)%3 == 0
		s := admem.LabelledStep{TrajectoryID: fmt.Sprintf("%s-%d", prefix, i), StepIndex: 0, EmbedderID: "synth", Context: c, Action: actions[a],
			ActionText: fmt.Sprintf("tool%d()", a), ActionPattern: fmt.Sprintf("tool%d()", a), Failed: failed, SeenAt: time.Now()}
		if failed {
			s.SignatureID, s.Signature, s.Tool, s.ErrorClass = fmt.Sprintf("sig%d", a), fmt.Sprintf("tool%d: Error", a), fmt.Sprintf("tool%d", a), "Error"
		}
		out[i] = s
	}
	return out
}

// Recorder stores labelled steps, assigning failures to clusters.
type Recorder interface {
	RecordLabelledSteps(ctx context.Context, tenantID string, steps []admem.LabelledStep,
		assign func(admem.LabelledStep, []admem.FailureCluster) admem.FailureCluster) (int, error)
}

// Record stores steps for the tenant in batches of 1,000, as the worker
// does: each failure joins the first cluster of its signature or starts one.
func Record(ctx context.Context, db Recorder, tenantID string, steps []admem.LabelledStep) error {
	assign := func(s admem.LabelledStep, same []admem.FailureCluster) admem.FailureCluster {
		if len(same) > 0 {
			c := same[0]
			c.Count++
			return c
		}
		return admem.FailureCluster{SignatureID: s.SignatureID, Signature: s.Signature, Tool: s.Tool, EmbedderID: s.EmbedderID, Count: 1,
			FirstSeenAt: s.SeenAt, LastSeenAt: s.SeenAt}
	}
	for lo := 0; lo < len(steps); lo += 1000 {
		if _, err := db.RecordLabelledSteps(ctx, tenantID, steps[lo:min(lo+1000, len(steps))], assign); err != nil {
			return fmt.Errorf("adapterstest: record: %w", err)
		}
	}
	return nil
}
