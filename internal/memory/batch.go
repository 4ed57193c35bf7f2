package memory

import (
	"context"
	"fmt"
	"sort"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/lexical"
	"github.com/admem/admem/internal/store"
	"github.com/google/uuid"
)

// judgeLimit is how many BM25 candidates the judge compares a write with.
const judgeLimit = 5

// judgeSpare is how many more the batch path fetches: candidates an earlier
// write of the same batch changed are compared in their new state instead,
// and the next ones move up.
const judgeSpare = 3

// pooled is an entry an earlier write of the batch added or updated, in its
// state after that write.
type pooled struct {
	e      admem.Entry
	terms  []string // analysed index terms (content, tags, key)
	vec    []float32
	space  string
	active bool
	from   int // the write of the batch that left it so
}

// writeJudged judges and writes a batch with the decisions Write would make
// for each entry in turn, at a fixed number of queries per batch: the
// contents are embedded in one call, the candidates of every entry come from
// one JudgeCandidatesBatch (the state before the batch), the judge decides
// in Go, in order, comparing each entry also with what earlier entries of
// the batch added or changed (so a repeat within the batch is a NOOP and a
// second value of a key an UPDATE), and ApplyBatch writes every decision in
// one transaction. Entries it adds keep the vector it computed.
func (s *Service) writeJudged(ctx context.Context, tenantID string, ins []admem.NewEntry, o admem.WriteOptions) ([]admem.WriteResult, error) {
	vecs := make([][]float32, len(ins))
	spaces := make([]string, len(ins))
	var texts []string
	var at []int
	for i, in := range ins {
		switch {
		case in.Vector != nil:
			vecs[i], spaces[i] = in.Vector, clientSpace(in.VectorSpace)
		case s.emb != nil:
			texts, at = append(texts, in.Content), append(at, i)
		}
	}
	if len(texts) > 0 {
		vs, err := s.emb.Embed(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("memory: embed: %w", err)
		}
		if len(vs) != len(texts) {
			return nil, fmt.Errorf("memory: embed: %d vectors for %d texts", len(vs), len(texts))
		}
		for j, i := range at {
			if !isZero(vs[j]) {
				vecs[i], spaces[i] = vs[j], s.emb.ID()
			}
		}
	}
	reqs := make([]store.JudgeRequest, len(ins))
	qterms := make([][]string, len(ins))
	for i, in := range ins {
		qterms[i] = lexical.Analyze(in.Content)
		reqs[i] = store.JudgeRequest{Kind: in.Kind, Scope: in.Scope, Key: in.Key, Terms: qterms[i], Embedder: spaces[i]}
	}
	sets, st, err := s.store.JudgeCandidatesBatch(ctx, tenantID, reqs, judgeLimit+judgeSpare)
	if err != nil {
		return nil, err
	}

	pool := map[string]*pooled{}
	var poolOrder []string
	// The statistics' changes by the batch so far, for scoring its entries.
	var addDocs, addLen int64
	addDF := map[string]int{}
	count := func(terms []string, sign int) {
		seen := map[string]bool{}
		n := 0
		for _, t := range terms {
			if t == "" || len(t) > 200 {
				continue
			}
			n++
			if !seen[t] {
				seen[t] = true
				addDF[t] += sign
			}
		}
		addDocs += int64(sign)
		addLen += int64(sign * n)
	}
	put := func(p *pooled) {
		if _, ok := pool[p.e.ID]; !ok {
			poolOrder = append(poolOrder, p.e.ID)
		}
		pool[p.e.ID] = p
	}

	ops := make([]store.BatchWrite, len(ins))
	decisions := make([]admem.WriteDecision, len(ins))
	matched := make([]*admem.Entry, len(ins))
	matchedFrom := make([]int, len(ins)) // the batch write that left the matched entry so, or -1
	for i, in := range ins {
		type cand struct {
			e     admem.Entry
			vec   []float32
			score float64
		}
		var keyC *cand
		if in.Key != "" {
			for _, id := range poolOrder {
				p := pool[id]
				if p.e.Kind == in.Kind && p.e.Key == in.Key && p.e.Scope == in.Scope && p.e.Status != admem.EntryDeleted {
					keyC = &cand{e: p.e, vec: p.vecIn(spaces[i])}
				}
			}
			if keyC == nil && sets[i].Key != nil {
				keyC = &cand{e: sets[i].Key.Entry, vec: sets[i].Key.Vector}
			}
		}
		// The stored candidates are scored again under the statistics as
		// the batch has changed them so far (as a write after the earlier
		// ones would see them), on the same scale as the batch's own.
		qs := distinct(qterms[i])
		var ranked []cand
		for _, c := range sets[i].Ranked {
			if _, changed := pool[c.Entry.ID]; changed || (keyC != nil && c.Entry.ID == keyC.e.ID) {
				continue
			}
			sc := c.Score
			if addDocs != 0 || len(addDF) > 0 {
				sc = st.Score(qs, lexical.Analyze(indexText(c.Entry.Content, c.Entry.Tags, c.Entry.Key)), addDocs, addLen, addDF)
			}
			ranked = append(ranked, cand{e: c.Entry, vec: c.Vector, score: sc})
		}
		for _, id := range poolOrder {
			p := pool[id]
			if !p.active || p.e.Kind != in.Kind || p.e.Scope.AgentID != in.Scope.AgentID || p.e.Scope.UserID != in.Scope.UserID ||
				(keyC != nil && id == keyC.e.ID) {
				continue
			}
			if sc := st.Score(qs, p.terms, addDocs, addLen, addDF); sc > 0 {
				ranked = append(ranked, cand{e: p.e, vec: p.vecIn(spaces[i]), score: sc})
			}
		}
		sort.SliceStable(ranked, func(a, b int) bool {
			if ranked[a].score != ranked[b].score {
				return ranked[a].score > ranked[b].score
			}
			return ranked[a].e.ID < ranked[b].e.ID
		})
		cands := ranked[:min(len(ranked), judgeLimit)]
		if keyC != nil {
			cands = append([]cand{*keyC}, cands...)
		}
		jc := make([]judge.WriteCandidate, len(cands))
		for j, c := range cands {
			jc[j] = judge.WriteCandidate{ID: c.e.ID, Key: c.e.Key, Content: c.e.Content, Vector: c.vec}
		}
		d := judge.DecideWrite(judge.WriteInput{Kind: in.Kind, Key: in.Key, Content: in.Content, Vector: vecs[i]}, jc, s.judge)
		matchedFrom[i] = -1
		for j := range cands {
			if cands[j].e.ID == d.MatchID {
				m := cands[j].e
				matched[i] = &m
				if p, ok := pool[m.ID]; ok {
					matchedFrom[i] = p.from
				}
			}
		}
		decisions[i] = d
		switch d.Op {
		case admem.OpNoop:
			ops[i] = store.BatchWrite{ID: d.MatchID, Touch: true}
		case admem.OpUpdate:
			vec, space, reason := vecs[i], spaces[i], d.Reason
			ops[i] = store.BatchWrite{ID: d.MatchID, Revise: func(cur admem.Entry) (admem.EntryRevision, error) {
				return s.revision(updated(cur, in), admem.OpUpdate, in.Provenance, reason, vec, space), nil
			}}
			cur := *matched[i]
			next := updated(cur, in)
			p := &pooled{e: next, terms: lexical.Analyze(indexText(next.Content, next.Tags, next.Key)), active: true, from: i}
			switch {
			case vec != nil:
				p.vec, p.space = vec, space
			case next.Content == cur.Content:
				if old, ok := pool[cur.ID]; ok {
					p.vec, p.space = old.vec, old.space
				} else {
					for _, c := range cands {
						if c.e.ID == cur.ID && c.vec != nil {
							p.vec, p.space = c.vec, spaces[i]
						}
					}
				}
			}
			if old, ok := pool[cur.ID]; ok {
				count(old.terms, -1)
			} else if cur.Status == admem.EntryActive {
				count(lexical.Analyze(indexText(cur.Content, cur.Tags, cur.Key)), -1)
			}
			count(p.terms, 1)
			put(p)
		default:
			w := s.newWrite(in, d.Reason, vecs[i])
			w.Entry.ID = uuid.NewString()
			ops[i] = store.BatchWrite{Insert: &w}
			p := &pooled{e: w.Entry, terms: w.Index.Terms, vec: w.Index.Vector, space: w.Index.Embedder, active: true, from: i}
			count(p.terms, 1)
			put(p)
		}
	}
	es, err := s.store.ApplyBatch(ctx, tenantID, ops)
	if err != nil {
		return nil, err
	}
	out := make([]admem.WriteResult, len(ins))
	for i := range ins {
		out[i] = admem.WriteResult{Op: decisions[i].Op, Entry: es[i]}
		if o.Explain {
			d := decisions[i]
			d.Scores = nonNil(d.Scores)
			out[i].Decision, out[i].Matched = &d, matched[i]
			if f := matchedFrom[i]; f >= 0 {
				m := es[f] // as stored, not as the judge saw it before the batch was written
				out[i].Matched = &m
			}
		}
	}
	return out, nil
}

// vecIn is the pooled entry's vector if it is in space.
func (p *pooled) vecIn(space string) []float32 {
	if space == "" || p.space != space {
		return nil
	}
	return p.vec
}

func distinct(terms []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range terms {
		if t != "" && len(t) <= 200 && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
