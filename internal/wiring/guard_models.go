package wiring

import (
	"context"
	"fmt"

	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/guard"
	"github.com/admem/admem/internal/mistake"
)

// guardModels serves guard the tenant's active adapter: its risk of each
// candidate in the request's context, from the embeddings of the context
// and of the candidate's call.
type guardModels struct {
	reg *adapters.Registry
	emb failures.Embedder
}

func (g guardModels) Scorer(ctx context.Context, tenantID string) (guard.Scorer, error) {
	if g.emb == nil {
		return nil, nil
	}
	a, err := g.reg.Get(ctx, tenantID)
	if err != nil || a == nil || a.EmbedderID != g.emb.ID() {
		return nil, err
	}
	return denseScorer{a: a, emb: g.emb}, nil
}

type denseScorer struct {
	a   *adapters.Active
	emb failures.Embedder
}

func (d denseScorer) Version() int { return d.a.Version }

// Risks embeds the context once and each candidate's call, and scores them;
// nil when the model does not fit the embedder's vectors. This model sees
// text embeddings only, not the mistake model's evidence, so a candidate's
// risk is the larger of the two.
func (d denseScorer) Risks(ctx context.Context, sit *mistake.Situation, as []mistake.Assessment) ([]float64, error) {
	texts := []string{failures.ContextText(sit.Task, sit.Steps)}
	for _, a := range as {
		texts = append(texts, failures.ActionText(a.Facts.Tool, a.Args()))
	}
	vecs, err := d.emb.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("guard: embed: %w", err)
	}
	if len(vecs) != len(texts) || len(vecs[0]) != d.a.Model.Dim() {
		return nil, nil
	}
	sc := d.a.Model.ForContext(to64(vecs[0]))
	out := make([]float64, len(as))
	for i := range as {
		out[i] = max(as[i].Risk, d.a.Probability(sc.Risk(to64(vecs[i+1]))))
	}
	return out, nil
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
