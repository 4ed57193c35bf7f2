package memory

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/lexical"
)

// Search defaults. The fusion weights and session-context shares are what
// measured best on LoCoMo (internal/lexical/locomo_test.go): min-max score
// fusion, BM25 ×1 + vectors ×0.5, beats reciprocal-rank fusion there because
// BM25 is the stronger signal and its margin matters.
const (
	DefaultSearchLimit = 10
	MaxSearchLimit     = 100
	DefaultLexWeight   = 1.0
	DefaultVecWeight   = 0.5
	DefaultHalfLife    = 30 * 24 * time.Hour
	// candidateDepth is how many hits each ranker contributes to the fusion.
	candidateDepth = 200
	// contextHits is how many fused hits lend session context.
	contextHits = 100
	// maxLayout bounds the session members fetched for session context.
	maxLayout = 5000
)

// Search ranks the tenant's entries for q.
func (s *Service) Search(ctx context.Context, tenantID string, q admem.SearchQuery) ([]admem.SearchHit, error) {
	q, err := s.checkQuery(q)
	if err != nil {
		return nil, err
	}
	// The two rankers run concurrently: each is a round trip to Postgres.
	var lex, vec []admem.RankedEntry
	var lexErr, vecErr error
	var wg sync.WaitGroup
	if q.Mode != admem.SearchVector {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lex, lexErr = s.store.LexicalSearch(ctx, tenantID, lexical.Analyze(q.Text), q.Filter, candidateDepth)
		}()
	}
	embedder := ""
	if q.Mode != admem.SearchLexical {
		var v []float32
		switch {
		case q.Vector != nil:
			v, embedder = q.Vector, clientSpace(q.VectorSpace)
		case s.emb != nil:
			vs, err := s.emb.Embed(ctx, []string{q.Text})
			if err != nil {
				wg.Wait()
				return nil, fmt.Errorf("memory: embed query: %w", err)
			}
			if len(vs) == 1 && !isZero(vs[0]) {
				v, embedder = vs[0], s.emb.ID()
			}
		}
		if v != nil {
			vec, vecErr = s.store.VectorSearch(ctx, tenantID, embedder, v, q.Filter, candidateDepth)
		}
	}
	wg.Wait()
	if lexErr != nil {
		return nil, lexErr
	}
	if vecErr != nil {
		return nil, vecErr
	}

	type signal struct {
		score float64
		rank  int
	}
	lexOf, vecOf := map[string]signal{}, map[string]signal{}
	where := map[string]admem.RankedEntry{}
	toHits := func(rs []admem.RankedEntry, into map[string]signal) []lexical.Hit {
		hs := make([]lexical.Hit, len(rs))
		for i, r := range rs {
			hs[i] = lexical.Hit{ID: r.ID, Score: r.Score}
			into[r.ID] = signal{r.Score, i + 1}
			where[r.ID] = r
		}
		return hs
	}
	lh, vh := toHits(lex, lexOf), toHits(vec, vecOf)
	fused := lexical.FuseScores(lexical.Ranked{Weight: q.LexicalWeight, Hits: lh}, lexical.Ranked{Weight: q.VectorWeight, Hits: vh})
	fusedOf := make(map[string]float64, len(fused))
	for _, h := range fused {
		fusedOf[h.ID] = h.Score
	}
	if q.SessionContext && len(fused) > 0 {
		if fused, err = s.sessionContext(ctx, tenantID, q.Filter, fused, where); err != nil {
			return nil, err
		}
	}

	// Recency and utility need the entries; re-rank a few more than asked.
	n := q.Limit
	if q.RecencyWeight > 0 || q.UtilityWeight > 0 {
		n = min(len(fused), max(3*q.Limit, 50))
	}
	if len(fused) > n {
		fused = fused[:n]
	}
	ids := make([]string, len(fused))
	for i, h := range fused {
		ids[i] = h.ID
	}
	es, err := s.store.GetEntries(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]admem.Entry, len(es))
	for _, e := range es {
		byID[e.ID] = e
	}
	now := s.now()
	hits := make([]admem.SearchHit, 0, len(fused))
	for _, h := range fused {
		e, ok := byID[h.ID]
		if !ok {
			continue // deleted between ranking and fetching
		}
		rec, util := 1.0, 1.0
		if q.RecencyWeight > 0 {
			age := max(now.Sub(e.LastSeenAt), 0)
			rec = 1 + q.RecencyWeight*math.Exp2(-float64(age)/float64(q.RecencyHalfLife))
		}
		if q.UtilityWeight > 0 {
			util = 1 + q.UtilityWeight*((float64(e.Successes)+1)/(float64(e.Uses)+2)-0.5)
		}
		hit := admem.SearchHit{Entry: e, Score: h.Score * rec * util}
		if q.Explain {
			l, v := lexOf[h.ID], vecOf[h.ID]
			hit.Explain = &admem.SearchExplain{Lexical: l.score, LexicalRank: l.rank, Vector: v.score, VectorRank: v.rank,
				Fused: fusedOf[h.ID], Context: h.Score - fusedOf[h.ID], Recency: rec, Utility: util, Embedder: embedder}
		}
		hits = append(hits, hit)
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if len(hits) > q.Limit {
		hits = hits[:q.Limit]
	}
	return hits, nil
}

// sessionContext re-scores fused hits with lexical.Layout.Spread over the
// sessions of the best hits: an entry inherits shares of its neighbours'
// scores and of its session's best.
func (s *Service) sessionContext(ctx context.Context, tenantID string, f admem.EntryFilter, fused []lexical.Hit, where map[string]admem.RankedEntry) ([]lexical.Hit, error) {
	seen := map[string]bool{}
	var sessions []string
	for i, h := range fused {
		if i >= contextHits {
			break
		}
		if r, ok := where[h.ID]; ok && r.SessionID != "" && !seen[r.SessionID] {
			seen[r.SessionID] = true
			sessions = append(sessions, r.SessionID)
		}
	}
	if len(sessions) == 0 {
		return fused, nil
	}
	members, err := s.store.SessionLayout(ctx, tenantID, sessions, f, maxLayout)
	if err != nil {
		return nil, err
	}
	l := lexical.NewLayout()
	pos := map[string]int{}
	for _, m := range members {
		l.Add(m.ID, m.SessionID, pos[m.SessionID])
		pos[m.SessionID]++
	}
	return l.Spread(fused, lexical.DefaultSpread), nil
}

func (s *Service) checkQuery(q admem.SearchQuery) (admem.SearchQuery, error) {
	if q.Mode == "" {
		q.Mode = admem.SearchHybrid
	}
	switch q.Mode {
	case admem.SearchHybrid, admem.SearchLexical, admem.SearchVector:
	default:
		return q, admem.Invalid("mode", "hybrid, lexical or vector")
	}
	if q.Vector != nil || q.VectorSpace != "" {
		if !spaceRe.MatchString(q.VectorSpace) {
			return q, admem.Invalid("vector_space", "required with vector")
		}
		if err := checkVector(q.Vector, "vector"); err != nil {
			return q, err
		}
	}
	if len(q.Text) > admem.MaxContentBytes {
		return q, admem.Invalid("query", fmt.Sprintf("at most %d bytes", admem.MaxContentBytes))
	}
	if q.Text == "" && q.Vector == nil {
		return q, admem.Invalid("query", "required (or a vector)")
	}
	if q.Limit == 0 {
		q.Limit = DefaultSearchLimit
	}
	if q.Limit < 1 || q.Limit > MaxSearchLimit {
		return q, admem.Invalid("limit", fmt.Sprintf("from 1 to %d", MaxSearchLimit))
	}
	for _, w := range []struct {
		name string
		v    float64
	}{{"lexical_weight", q.LexicalWeight}, {"vector_weight", q.VectorWeight}, {"recency_weight", q.RecencyWeight}, {"utility_weight", q.UtilityWeight}} {
		if w.v < 0 || w.v > 100 || math.IsNaN(w.v) {
			return q, admem.Invalid(w.name, "from 0 to 100")
		}
	}
	if q.LexicalWeight == 0 && q.VectorWeight == 0 {
		q.LexicalWeight, q.VectorWeight = DefaultLexWeight, DefaultVecWeight
	}
	if q.RecencyHalfLife < 0 {
		return q, admem.Invalid("recency_half_life_hours", "must be positive")
	}
	if q.RecencyHalfLife == 0 {
		q.RecencyHalfLife = DefaultHalfLife
	}
	if err := checkFilter(q.Filter); err != nil {
		return q, err
	}
	if q.Filter.Status == "" {
		q.Filter.Status = admem.EntryActive
	}
	return q, nil
}
