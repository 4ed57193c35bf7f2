package recall

import (
	"context"
	"fmt"
	"sync"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/failures"
)

// Models gives a tenant's active procedural adapter (nil: none).
type Models interface {
	Get(ctx context.Context, tenantID string) (*adapters.Active, error)
}

// Embedder embeds contexts and actions in the space the adapter was
// trained in.
type Embedder interface {
	ID() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// AdapterSwitch says whether a tenant lets recall use its adapter.
type AdapterSwitch interface {
	UseAdapter(ctx context.Context, tenantID string) (bool, error)
}

// WithAdapters makes recall re-rank mistake notes and procedures with the
// tenant's active adapter, embedding with emb (the embedder the adapters
// are trained with); sw may be nil (always use it). Call it before serving.
func (s *Service) WithAdapters(models Models, emb Embedder, sw AdapterSwitch) *Service {
	s.models, s.emb, s.useAdapter = models, emb, sw
	return s
}

// The adapter scales a learned item's score by a factor in [0.5, 1.5],
// neutral at risk 0.5: a mistake note whose action the adapter finds risky
// in the current context matters more (factor 0.5 + risk), a procedure
// whose steps it finds risky less (1.5 − mean risk of its steps).
func noteFactor(risk float64) float64      { return 0.5 + risk }
func procedureFactor(risk float64) float64 { return 1.5 - risk }

// adapterFor returns the tenant's adapter usable with the embedder, or nil.
func (s *Service) adapterFor(ctx context.Context, tenantID string) (*adapters.Active, error) {
	if s.models == nil || s.emb == nil {
		return nil, nil
	}
	a, err := s.models.Get(ctx, tenantID)
	if err != nil || a == nil || a.EmbedderID != s.emb.ID() {
		return nil, err
	}
	// The switch costs a read: ask only tenants that have an adapter.
	if s.useAdapter != nil {
		ok, err := s.useAdapter.UseAdapter(ctx, tenantID)
		if err != nil || !ok {
			return nil, err
		}
	}
	return a, nil
}

// rerank scales the scores of the learned candidates by the adapter's risk
// of their actions in the query's context. It reports false when the
// adapter could not be used (its dimension is not the embedder's).
func (s *Service) rerank(ctx context.Context, a *adapters.Active, ti *tenantIndex, q Query, cands []Item) (bool, error) {
	actions := make([][]string, len(cands)) // action texts per candidate
	for i, c := range cands {
		st, err := ti.structure(c.ID)
		if err != nil {
			s.log.ErrorContext(ctx, "learned item state unreadable; ranked without the adapter", "item", c.ID, "err", err)
			continue
		}
		switch {
		case st.Mistake != nil:
			actions[i] = []string{st.Mistake.actionText}
		case st.Procedure != nil:
			for _, sc := range st.Procedure.Script {
				actions[i] = append(actions[i], failures.ActionText(sc.Tool, sc.Args))
			}
		}
	}
	ctxText := failures.ContextText(q.Task, q.Steps)
	if q.Task == "" {
		ctxText = q.Context
	}
	vecs, err := s.vectors(ctx, ctxText, actions)
	if err != nil {
		return false, err
	}
	if len(vecs[ctxText]) != a.Model.Dim() {
		return false, nil // the model does not fit this embedder's vectors
	}
	scorer := a.Model.ForContext(vecs[ctxText])
	for i := range cands {
		if len(actions[i]) == 0 {
			continue
		}
		var sum float64
		for _, t := range actions[i] {
			sum += scorer.Risk(vecs[t])
		}
		risk := sum / float64(len(actions[i]))
		if cands[i].Kind == admem.KindMistake {
			cands[i].Score *= noteFactor(risk)
		} else {
			cands[i].Score *= procedureFactor(risk)
		}
		cands[i].Risk = &risk
	}
	return true, nil
}

// vectorCache keeps action embeddings across recalls: the same few tool
// calls recur in every tenant's notes and procedures.
type vectorCache struct {
	mu sync.Mutex
	m  map[string][]float64
}

const maxCachedVectors = 100000

// vectors embeds the context and every action text not yet cached, in one
// call, and returns them by text.
func (s *Service) vectors(ctx context.Context, ctxText string, actions [][]string) (map[string][]float64, error) {
	out := map[string][]float64{}
	texts := []string{ctxText}
	s.vecs.mu.Lock()
	for _, as := range actions {
		for _, t := range as {
			if _, ok := out[t]; ok {
				continue
			}
			if v, ok := s.vecs.m[t]; ok {
				out[t] = v
				continue
			}
			out[t] = nil
			texts = append(texts, t)
		}
	}
	s.vecs.mu.Unlock()
	vs, err := s.emb.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("recall: embed: %w", err)
	}
	if len(vs) != len(texts) {
		return nil, fmt.Errorf("recall: embedder returned %d vectors for %d texts", len(vs), len(texts))
	}
	s.vecs.mu.Lock()
	defer s.vecs.mu.Unlock()
	if s.vecs.m == nil || len(s.vecs.m)+len(texts) > maxCachedVectors {
		s.vecs.m = map[string][]float64{}
	}
	for i, t := range texts {
		v := make([]float64, len(vs[i]))
		for j, x := range vs[i] {
			v[j] = float64(x)
		}
		if i > 0 {
			s.vecs.m[t] = v
		}
		out[t] = v
	}
	return out, nil
}
