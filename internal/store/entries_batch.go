package store

// The judged batch write path: the judge's candidates for a whole batch of
// writes in a handful of queries, and the batch's decisions (inserts, new
// versions, last-seen bumps) applied in one transaction. Judging a batch
// one write at a time cost ~17 round trips and three transactions per entry.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/lexical"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// JudgeRequest is one write of a batch to find judge candidates for.
type JudgeRequest struct {
	Kind     admem.EntryKind
	Scope    admem.Scope
	Key      string
	Terms    []string // the content's analysed terms
	Embedder string   // the vector space of the write ("" for none)
}

// ScoredCandidate is a judge candidate with its BM25 score.
type ScoredCandidate struct {
	admem.JudgeCandidate
	Score float64
}

// JudgeCandidateSet is one request's candidates as JudgeCandidates finds
// them: the live entry with the same key in exactly the request's scope
// (nil if none), and the best BM25 matches of the terms among active
// entries of the same kind, agent and user, best first.
type JudgeCandidateSet struct {
	Key    *admem.JudgeCandidate
	Ranked []ScoredCandidate
}

// JudgeStats are the tenant's BM25 statistics when the candidates were
// found, with the document frequency of every term of the batch, so that a
// caller can score entries the batch itself writes the same way.
type JudgeStats struct {
	Docs, TotalLen int64
	DF             map[string]int
	BM25           lexical.BM25Params
}

// Score is the BM25 score of a document with the given terms (analysed,
// repeated as they occur) for the distinct query terms qs, under st with
// the given changes to the statistics (documents, total length and
// document frequencies added since).
func (st JudgeStats) Score(qs []string, doc []string, addDocs, addLen int64, addDF map[string]int) float64 {
	docs, total := st.Docs+addDocs, st.TotalLen+addLen
	if docs <= 0 {
		return 0
	}
	counts, dl := termCounts(doc)
	avgdl := float64(total) / float64(docs)
	score := 0.0
	for _, t := range qs {
		tf := counts[t]
		df := st.DF[t] + addDF[t]
		if tf == 0 || df <= 0 {
			continue
		}
		f := float64(tf)
		score += lexical.IDF(df, int(docs)) * f * (st.BM25.K1 + 1) / (f + st.BM25.K1*(1-st.BM25.B+st.BM25.B*float64(dl)/avgdl))
	}
	return score
}

// JudgeCandidatesBatch is JudgeCandidates for many writes at once, in one
// transaction of a fixed number of queries: one for the keys, one or two
// (MaxScore's second pass) for the BM25 top limit of every request, and one
// for the candidates' entries and vectors.
func (db *DB) JudgeCandidatesBatch(ctx context.Context, tenantID string, reqs []JudgeRequest, limit int) ([]JudgeCandidateSet, JudgeStats, error) {
	out := make([]JudgeCandidateSet, len(reqs))
	st := JudgeStats{DF: map[string]int{}, BM25: lexical.DefaultBM25}
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		keyIDs, err := batchKeyLookup(ctx, tx, tenantID, reqs)
		if err != nil {
			return err
		}
		ranked, err := batchBM25(ctx, tx, tenantID, reqs, limit, &st)
		if err != nil {
			return err
		}
		// One fetch of every candidate, with its vector in each space asked.
		var ri []int32
		var ids, spaces []string
		for i := range reqs {
			if keyIDs[i] != "" {
				ri, ids, spaces = append(ri, int32(i)), append(ids, keyIDs[i]), append(spaces, reqs[i].Embedder)
			}
			for _, r := range ranked[i] {
				ri, ids, spaces = append(ri, int32(i)), append(ids, r.ID), append(spaces, reqs[i].Embedder)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		type pair struct {
			i  int32
			id string
		}
		got := map[pair]admem.JudgeCandidate{}
		rows, err := tx.Query(ctx, `SELECT x.i, `+entryColumns+`, v.embedding::text
			FROM unnest($2::int[], $3::uuid[], $4::text[]) AS x(i, id, space)
			JOIN entries e ON e.tenant_id = $1 AND e.id = x.id AND e.id = ANY($3::uuid[])
			LEFT JOIN entry_vectors v ON v.tenant_id = $1 AND v.entry_id = e.id AND v.embedder = x.space`, tenantID, ri, ids, spaces)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var i int32
			var vec *string
			var e admem.Entry
			var kind, status string
			if err := rows.Scan(&i, &e.ID, &e.TenantID, &kind, &e.Key, &e.Content, &e.Metadata, &e.Tags, &e.Scope.AgentID, &e.Scope.UserID,
				&e.Scope.SessionID, &e.ExpiresAt, &status, &e.Version, &e.Uses, &e.Successes, &e.SeenCount, &e.LastSeenAt, &e.CreatedAt,
				&e.UpdatedAt, &e.Quarantine.Reason, &e.Quarantine.ReleasedAt, &e.Quarantine.ReleasedBy, &vec); err != nil {
				return translate(err)
			}
			e.Kind, e.Status = admem.EntryKind(kind), admem.EntryStatus(status)
			if e.Tags == nil {
				e.Tags = []string{}
			}
			if e.Metadata == nil {
				e.Metadata = map[string]any{}
			}
			got[pair{i, e.ID}] = admem.JudgeCandidate{Entry: e, Vector: parseEntryVector(vec)}
		}
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		for i := range reqs {
			if c, ok := got[pair{int32(i), keyIDs[i]}]; ok && keyIDs[i] != "" {
				out[i].Key = &c
			}
			for _, r := range ranked[i] {
				if c, ok := got[pair{int32(i), r.ID}]; ok {
					out[i].Ranked = append(out[i].Ranked, ScoredCandidate{JudgeCandidate: c, Score: r.Score})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, JudgeStats{}, fmt.Errorf("store: judge candidates: %w", err)
	}
	return out, st, nil
}

// batchKeyLookup returns, per request with a key, the id of the live entry
// with that kind and key in exactly its scope ("" when none).
func batchKeyLookup(ctx context.Context, tx pgx.Tx, tenantID string, reqs []JudgeRequest) ([]string, error) {
	out := make([]string, len(reqs))
	var ri []int32
	var kinds, keys, agents, users, sessions []string
	for i, r := range reqs {
		if r.Key != "" {
			ri, kinds, keys = append(ri, int32(i)), append(kinds, string(r.Kind)), append(keys, r.Key)
			agents, users, sessions = append(agents, r.Scope.AgentID), append(users, r.Scope.UserID), append(sessions, r.Scope.SessionID)
		}
	}
	if len(ri) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT x.i, e.id FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
			AS x(i, kind, key, agent_id, user_id, session_id)
		JOIN entries e ON e.tenant_id = $1 AND e.kind = x.kind AND e.key = x.key AND e.agent_id = x.agent_id
			AND e.user_id = x.user_id AND e.session_id = x.session_id AND e.status <> 'deleted'
		WHERE e.key <> '' AND e.key = ANY($4::text[])`,
		tenantID, ri, kinds, keys, agents, users, sessions)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int32
		var id string
		if err := rows.Scan(&i, &id); err != nil {
			return nil, translate(err)
		}
		out[i] = id
	}
	return out, translate(rows.Err())
}

// bm25Req is one request's state through the MaxScore passes of batchBM25.
type bm25Req struct {
	present []string // query terms in the tenant, rarest first
	df      []int
	idfs    []float64
	cut     int // how many of present bring in candidates
	out     []admem.RankedEntry
}

// batchBM25 ranks, for every request, the active entries of its kind, agent
// and user (exact scope, any session) by BM25 and returns the best limit,
// exactly as lexicalSearchTx does for one (same budget, candidate cap and
// MaxScore pruning with ExactTop = limit), but with every request in one
// query per pass. It fills st.
func batchBM25(ctx context.Context, tx pgx.Tx, tenantID string, reqs []JudgeRequest, limit int, st *JudgeStats) ([][]admem.RankedEntry, error) {
	o := lexicalOptions{Budget: 1000, MaxCandidates: 2000, ExactTop: limit, BM25: lexical.DefaultBM25}
	out := make([][]admem.RankedEntry, len(reqs))
	qs := make([][]string, len(reqs))
	all := map[string]bool{}
	var allTerms []string
	for i, r := range reqs {
		qs[i] = queryTerms(r.Terms)
		for _, t := range qs[i] {
			if !all[t] {
				all[t] = true
				allTerms = append(allTerms, t)
			}
		}
	}
	if err := tx.QueryRow(ctx, `SELECT doc_count, total_len FROM entry_stats WHERE tenant_id = $1`, tenantID).Scan(&st.Docs, &st.TotalLen); err != nil {
		if translate(err) == admem.ErrNotFound {
			return out, nil
		}
		return nil, translate(err)
	}
	if st.Docs <= 0 || len(allTerms) == 0 {
		return out, nil
	}
	df, err := queryCounts(ctx, tx, `SELECT term, df FROM entry_terms WHERE tenant_id = $1 AND term = ANY($2::text[]) AND df > 0`, tenantID, allTerms)
	if err != nil {
		return nil, err
	}
	maps.Copy(st.DF, df)
	avgdl := float64(st.TotalLen) / float64(st.Docs)
	state := make([]*bm25Req, len(reqs))
	var todo []int
	for i := range reqs {
		var present []string
		for _, t := range qs[i] {
			if st.DF[t] > 0 {
				present = append(present, t)
			}
		}
		if len(present) == 0 {
			continue
		}
		sort.Slice(present, func(a, b int) bool {
			if st.DF[present[a]] != st.DF[present[b]] {
				return st.DF[present[a]] < st.DF[present[b]]
			}
			return present[a] < present[b]
		})
		s := &bm25Req{present: present, df: make([]int, len(present)), idfs: make([]float64, len(present))}
		for j, t := range present {
			s.df[j], s.idfs[j] = st.DF[t], lexical.IDF(st.DF[t], int(st.Docs))
		}
		sum := 0
		for j, t := range present {
			if j > 0 && sum+st.DF[t] > o.Budget {
				break
			}
			sum += st.DF[t]
			s.cut = j + 1
		}
		state[i] = s
		todo = append(todo, i)
	}
	// How many entries each user of the requests has, to choose the way to
	// the candidates.
	userEntries := map[string]int{}
	var usersAsked []string
	for _, i := range todo {
		if u := reqs[i].Scope.UserID; u != "" {
			if _, ok := userEntries[u]; !ok {
				userEntries[u] = 0
				usersAsked = append(usersAsked, u)
			}
		}
	}
	if len(usersAsked) > 0 {
		counts, err := queryCounts(ctx, tx, `SELECT user_id, count(*) FROM entries WHERE tenant_id = $1 AND user_id = ANY($2::text[]) AND user_id <> ''
			GROUP BY user_id`, tenantID, usersAsked)
		if err != nil {
			return nil, err
		}
		maps.Copy(userEntries, counts)
	}
	for pass := 0; pass < 2 && len(todo) > 0; pass++ {
		if err := scoreBM25Batch(ctx, tx, tenantID, reqs, state, todo, o, avgdl, limit, userEntries); err != nil {
			return nil, err
		}
		var again []int
		for _, i := range todo {
			s := state[i]
			if s.cut == len(s.present) || pass == 1 {
				continue
			}
			need := min(o.ExactTop, limit)
			theta := 0.0
			if len(s.out) >= need {
				theta = s.out[need-1].Score
			}
			essential, bound := len(s.present), 0.0
			for essential > 0 {
				ub := s.idfs[essential-1] * (o.BM25.K1 + 1)
				if bound+ub >= theta {
					break
				}
				bound += ub
				essential--
			}
			if essential > s.cut {
				s.cut = essential
				again = append(again, i)
			}
		}
		todo = again
	}
	for i, s := range state {
		if s != nil {
			sort.Slice(s.out, func(a, b int) bool {
				if s.out[a].Score != s.out[b].Score {
					return s.out[a].Score > s.out[b].Score
				}
				return s.out[a].ID < s.out[b].ID
			})
			out[i] = s.out
		}
	}
	return out, nil
}

// scoreBM25Batch runs one pass of scoreBM25 for the requests todo: per
// request, its candidates (entries holding one of its first cut terms, at
// most MaxCandidates) scored over all its present terms. Requests whose
// user has fewer entries than the tenant has entries with the cut terms
// scan the user's entries (the entries_user index); the others go through
// the terms' GIN index. Each way is one query for all its requests.
func scoreBM25Batch(ctx context.Context, tx pgx.Tx, tenantID string, reqs []JudgeRequest, state []*bm25Req, todo []int, o lexicalOptions,
	avgdl float64, limit int, userEntries map[string]int) error {
	var byUser, byTerms []int
	for _, i := range todo {
		s := state[i]
		s.out = nil
		cutDF := 0
		for _, df := range s.df[:s.cut] {
			cutDF += df
		}
		if n, ok := userEntries[reqs[i].Scope.UserID]; ok && reqs[i].Scope.UserID != "" && n <= cutDF {
			byUser = append(byUser, i)
		} else {
			byTerms = append(byTerms, i)
		}
	}
	for _, way := range []struct {
		ids        []int
		candidates string
	}{
		// The terms' way is the one lexicalSearchTx takes: a function that
		// plans with the values known (the query's terms and scope).
		{byTerms, `admem_lexical_candidates($1, r.query::tsquery, $12, 'active', ARRAY[r.kind], NULL, r.agent_id, r.user_id,
			NULL, NULL, NULL, NULL, NULL, false)`},
		// The user's way: ts_match_vq is a function call, not the operator,
		// so that the planner does not take the GIN index; user_id <> ''
		// lets it use entries_user.
		{byUser, `(SELECT e.id, e.doc_len, e.lex FROM entries e
			WHERE e.tenant_id = $1 AND e.user_id <> '' AND e.user_id = r.user_id AND ts_match_vq(e.lex, r.query::tsquery)
				AND e.status = 'active' AND e.kind = r.kind AND e.agent_id = r.agent_id AND (e.expires_at IS NULL OR e.expires_at > now())
			LIMIT $12)`},
	} {
		if len(way.ids) == 0 {
			continue
		}
		width := 0
		for _, i := range way.ids {
			width = max(width, len(state[i].present))
		}
		var ri []int32
		var kinds, agents, users, queries []string
		terms := make([][]string, 0, len(way.ids))
		idfs := make([][]float64, 0, len(way.ids))
		for _, i := range way.ids {
			s := state[i]
			q := make([]string, s.cut)
			for j, t := range s.present[:s.cut] {
				q[j] = quoteLexeme(t)
			}
			ri, kinds, agents, users = append(ri, int32(i)), append(kinds, string(reqs[i].Kind)), append(agents, reqs[i].Scope.AgentID), append(users, reqs[i].Scope.UserID)
			queries = append(queries, strings.Join(q, " | "))
			ts, fs := make([]string, width), make([]float64, width) // padded with terms no entry holds
			copy(ts, s.present)
			copy(fs, s.idfs)
			terms, idfs = append(terms, ts), append(idfs, fs)
		}
		rows, err := tx.Query(ctx, `
			SELECT r.i, s.id, s.score
			FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS r(i, kind, agent_id, user_id, query, o)
			CROSS JOIN LATERAL (
				SELECT c.id, (SELECT sum(q.idf * cardinality(u.positions) * ($9::float8 + 1) /
						(cardinality(u.positions) + $9::float8 * (1 - $10::float8 + $10::float8 * c.doc_len / $11::float8)))
					FROM unnest(c.lex) AS u JOIN unnest(($7::text[])[r.o:r.o], ($8::float8[])[r.o:r.o]) AS q(term, idf) ON q.term = u.lexeme) AS score
				FROM `+way.candidates+` c
				ORDER BY score DESC, c.id LIMIT $13) s`,
			tenantID, ri, kinds, agents, users, queries, terms, idfs, o.BM25.K1, o.BM25.B, avgdl, o.MaxCandidates, limit)
		if err != nil {
			return translate(err)
		}
		for rows.Next() {
			var i int32
			var r admem.RankedEntry
			if err := rows.Scan(&i, &r.ID, &r.Score); err != nil {
				rows.Close()
				return translate(err)
			}
			state[i].out = append(state[i].out, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return translate(err)
		}
	}
	return nil
}

// BatchWrite is one operation of ApplyBatch: an insert (Insert set; its
// Entry.ID may be preset so that later operations can name it), a new
// version (ID and Revise) or a last-seen bump (ID and Touch).
type BatchWrite struct {
	Insert *admem.EntryWrite
	ID     string
	Revise func(cur admem.Entry) (admem.EntryRevision, error)
	Touch  bool
}

// versionRow is one entry_versions row ApplyBatch writes.
type versionRow struct {
	id      string
	e       admem.Entry
	op      admem.WriteOp
	prov    admem.Provenance
	reason  string
	version int
}

// batchState is an entry's state as ApplyBatch's operations change it.
type batchState struct {
	cur       admem.Entry
	baseLex   map[string]int // the terms counted in the statistics before the batch's revisions
	baseLen   int
	baseIn    bool // counted in the statistics (active) before them
	counts    map[string]int
	docLen    int
	revised   bool
	touches   int
	vecChange bool // the vectors are replaced by vec (nil: queued for the embedder)
	vec       []float32
	embedder  string
}

// ApplyBatch applies the operations in order in one transaction and returns
// the entry as each operation left it: the same rows, versions, vectors and
// statistics as InsertEntries, ReviseEntry and TouchEntry called in turn,
// with one statement per kind of change. A failing revise aborts all.
func (db *DB) ApplyBatch(ctx context.Context, tenantID string, ops []BatchWrite) ([]admem.Entry, error) {
	var ins []admem.EntryWrite
	insAt := map[string]int{} // new entry id → index in ins
	var targets []string
	isTarget := map[string]bool{}
	for k := range ops {
		op := &ops[k]
		if op.Insert != nil {
			if op.Insert.Entry.ID == "" {
				op.Insert.Entry.ID = uuid.NewString()
			}
			insAt[op.Insert.Entry.ID] = len(ins)
			ins = append(ins, *op.Insert)
			continue
		}
		if _, isNew := insAt[op.ID]; !isNew && !isTarget[op.ID] {
			isTarget[op.ID] = true
			targets = append(targets, op.ID)
		}
	}
	sort.Strings(targets) // lock in id order, as concurrent batches do
	p, err := prepareInserts(ins)
	if err != nil {
		return nil, err
	}
	out := make([]admem.Entry, len(ops))
	err = db.inTenantEntries(ctx, tenantID, func(tx pgx.Tx) error {
		var delta statsDelta
		inserted, err := insertEntriesTx(ctx, tx, tenantID, p, &delta)
		if err != nil {
			return err
		}
		states := map[string]*batchState{}
		for id, j := range insAt {
			states[id] = &batchState{cur: inserted[j], baseLex: p.counts[j], baseLen: int(p.docLens[j]), baseIn: inserted[j].Status == admem.EntryActive}
		}
		var now time.Time
		if len(targets) > 0 {
			rows, err := tx.Query(ctx, `SELECT `+entryColumns+`, e.lex::text, e.doc_len, now() FROM entries e
				WHERE e.tenant_id = $1 AND e.id = ANY($2::uuid[]) ORDER BY e.id FOR UPDATE`, tenantID, targets)
			if err != nil {
				return translate(err)
			}
			for rows.Next() {
				var lex string
				var n int
				e, err := scanEntry(rows, &lex, &n, &now)
				if err != nil {
					rows.Close()
					return err
				}
				states[e.ID] = &batchState{cur: e, baseLex: lexemesOf(lex), baseLen: n, baseIn: e.Status == admem.EntryActive}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return translate(err)
			}
			for _, id := range targets {
				if states[id] == nil {
					return fmt.Errorf("store: revise entry %s: %w", id, admem.ErrNotFound)
				}
			}
		} else if len(ins) < len(ops) {
			if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
				return translate(err)
			}
		}
		if len(inserted) > 0 {
			now = inserted[0].CreatedAt // the transaction's time, as now() above
		}
		var versions []versionRow
		for k, op := range ops {
			if op.Insert != nil {
				out[k] = inserted[insAt[op.Insert.Entry.ID]]
				continue
			}
			s := states[op.ID]
			if op.Touch {
				s.touches++
				s.cur.SeenCount++
				s.cur.LastSeenAt = now
				out[k] = s.cur
				continue
			}
			rev, err := op.Revise(s.cur)
			if err != nil {
				return err
			}
			ne := rev.Entry
			next := s.cur
			next.Key, next.Content, next.Status = ne.Key, ne.Content, ne.Status
			next.Metadata, next.Tags, next.ExpiresAt = roundTripMetadata(ne.Metadata), ne.Tags, ne.ExpiresAt
			if next.Tags == nil {
				next.Tags = []string{}
			}
			if next.ExpiresAt != nil {
				t := next.ExpiresAt.Truncate(time.Microsecond).In(now.Location())
				next.ExpiresAt = &t
			}
			next.Version++
			next.UpdatedAt, next.LastSeenAt = now, now
			next.Quarantine.Reason = rev.Index.Quarantine
			if ne.Content != s.cur.Content { // a release vouched for the old content
				next.Quarantine.ReleasedAt, next.Quarantine.ReleasedBy = nil, ""
			}
			if ne.Content != s.cur.Content || rev.Index.Vector != nil {
				s.vecChange, s.vec, s.embedder = true, rev.Index.Vector, rev.Index.Embedder
			}
			s.counts, s.docLen = termCounts(rev.Index.Terms)
			s.revised = true
			s.cur = next
			versions = append(versions, versionRow{id: op.ID, e: next, op: rev.Op, prov: rev.Provenance, reason: rev.Reason, version: next.Version})
			out[k] = next
		}
		return applyStates(ctx, tx, tenantID, states, versions, &delta)
	})
	if err != nil {
		return nil, fmt.Errorf("store: apply batch: %w", err)
	}
	return out, nil
}

// roundTripMetadata gives metadata the form it has when read back (JSON
// numbers as float64).
func roundTripMetadata(m map[string]any) map[string]any {
	out := map[string]any{}
	if len(m) == 0 {
		return out
	}
	if b, err := json.Marshal(m); err == nil {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// applyStates writes the final state of every entry ApplyBatch changed,
// the versions, the vectors and the statistics.
func applyStates(ctx context.Context, tx pgx.Tx, tenantID string, states map[string]*batchState, versions []versionRow, delta *statsDelta) error {
	ids := make([]string, 0, len(states))
	for id := range states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var tIDs []string
	var tN []int32
	var rIDs, keys, contents, metas, tagsJ, statuses, lexes, quars []string
	var expires []*time.Time
	var versionsN, docLens, seen []int32
	var vIDs, vSpaces []string
	var vVals []*string
	for _, id := range ids {
		s := states[id]
		if !s.revised {
			if s.touches > 0 {
				tIDs, tN = append(tIDs, id), append(tN, int32(s.touches))
			}
			continue
		}
		if s.baseIn {
			delta.add(s.baseLex, s.baseLen, -1)
		}
		if s.cur.Status == admem.EntryActive {
			delta.add(s.counts, s.docLen, 1)
		}
		md, err := json.Marshal(s.cur.Metadata)
		if err != nil {
			return admem.Invalid("metadata", "not representable as JSON")
		}
		tg, err := json.Marshal(s.cur.Tags)
		if err != nil {
			return err
		}
		rIDs, keys, contents = append(rIDs, id), append(keys, s.cur.Key), append(contents, s.cur.Content)
		metas, tagsJ, statuses = append(metas, string(md)), append(tagsJ, string(tg)), append(statuses, string(s.cur.Status))
		expires, versionsN, seen = append(expires, s.cur.ExpiresAt), append(versionsN, int32(s.cur.Version)), append(seen, int32(s.touches))
		lexes, docLens = append(lexes, tsvectorLiteral(s.counts)), append(docLens, int32(s.docLen))
		quars = append(quars, s.cur.Quarantine.Reason)
		if s.vecChange {
			vIDs, vSpaces, vVals = append(vIDs, id), append(vSpaces, s.embedder), append(vVals, entryVectorLiteral(s.vec))
		}
	}
	if len(tIDs) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE entries e SET last_seen_at = now(), seen_count = e.seen_count + x.n
			FROM unnest($2::uuid[], $3::int[]) AS x(id, n) WHERE e.tenant_id = $1 AND e.id = x.id`, tenantID, tIDs, tN); err != nil {
			return translate(err)
		}
	}
	if len(rIDs) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE entries e SET key = x.key, content = x.content, metadata = x.metadata,
				tags = ARRAY(SELECT jsonb_array_elements_text(x.tags)), expires_at = x.expires_at, status = x.status,
				version = x.version, updated_at = now(), last_seen_at = now(), seen_count = e.seen_count + x.seen,
				lex = x.lex::tsvector, doc_len = x.doc_len, quarantine_reason = x.quarantine,
				quarantine_released_at = CASE WHEN e.content = x.content THEN e.quarantine_released_at END,
				quarantine_released_by = CASE WHEN e.content = x.content THEN e.quarantine_released_by END
			FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::timestamptz[], $8::text[], $9::int[],
				$10::int[], $11::text[], $12::int[], $13::text[]) AS x(id, key, content, metadata, tags, expires_at, status, version, seen, lex, doc_len, quarantine)
			WHERE e.tenant_id = $1 AND e.id = ANY($2::uuid[]) AND e.id = x.id`,
			tenantID, rIDs, keys, contents, metas, tagsJ, expires, statuses, versionsN, seen, lexes, docLens, quars); err != nil {
			return translate(err)
		}
	}
	if len(vIDs) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM entry_vectors WHERE tenant_id = $1 AND entry_id = ANY($2::uuid[])`, tenantID, vIDs); err != nil {
			return translate(err)
		}
		if err := storeVectors(ctx, tx, tenantID, vIDs, vSpaces, vVals); err != nil {
			return err
		}
	}
	if len(versions) > 0 {
		var eIDs, ops, vKeys, vContents, vMetas, vTags, vStatuses, sources, sourceIDs, reasons, vQuars []string
		var vNums []int32
		var vExpires []*time.Time
		var actors []*string
		for _, v := range versions {
			md, err := json.Marshal(v.e.Metadata)
			if err != nil {
				return admem.Invalid("metadata", "not representable as JSON")
			}
			tg, err := json.Marshal(v.e.Tags)
			if err != nil {
				return err
			}
			src := v.prov.Source
			if src == "" {
				src = admem.SourceRequest
			}
			eIDs, vNums, ops = append(eIDs, v.id), append(vNums, int32(v.version)), append(ops, string(v.op))
			vKeys, vContents, vMetas, vTags = append(vKeys, v.e.Key), append(vContents, v.e.Content), append(vMetas, string(md)), append(vTags, string(tg))
			vExpires, vStatuses = append(vExpires, v.e.ExpiresAt), append(vStatuses, string(v.e.Status))
			actors, sources, sourceIDs, reasons = append(actors, nullableUUID(v.prov.ActorKeyID)), append(sources, src), append(sourceIDs, v.prov.SourceID), append(reasons, v.reason)
			vQuars = append(vQuars, v.e.Quarantine.Reason)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO entry_versions (tenant_id, entry_id, version, operation, key, content, metadata, tags, expires_at, status,
				actor_key_id, source, source_id, reason, created_at, quarantine_reason)
			SELECT $1, x.id, x.version, x.op, x.key, x.content, x.metadata, ARRAY(SELECT jsonb_array_elements_text(x.tags)), x.expires_at,
				x.status, x.actor, x.source, x.source_id, x.reason, now(), x.quarantine
			FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::timestamptz[], $10::text[],
				$11::uuid[], $12::text[], $13::text[], $14::text[], $15::text[])
				AS x(id, version, op, key, content, metadata, tags, expires_at, status, actor, source, source_id, reason, quarantine)`,
			tenantID, eIDs, vNums, ops, vKeys, vContents, vMetas, vTags, vExpires, vStatuses, actors, sources, sourceIDs, reasons, vQuars); err != nil {
			return translate(err)
		}
	}
	return delta.apply(ctx, tx, tenantID)
}

// queryCounts runs a query of (name, count) rows into a map.
func queryCounts(ctx context.Context, tx pgx.Tx, sql string, args ...any) (map[string]int, error) {
	type kv struct {
		k string
		n int
	}
	rows, err := queryAll(ctx, tx, func(r pgx.Row) (kv, error) {
		var x kv
		return x, translate(r.Scan(&x.k, &x.n))
	}, sql, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, x := range rows {
		out[x.k] = x.n
	}
	return out, nil
}
