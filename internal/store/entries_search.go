package store

// Search over entries: BM25 scored in SQL from the stored analysed terms and
// the tenant's term statistics, vector similarity through pgvector (HNSW for
// large tenants, exact for small or narrowly filtered ones), the session
// layout for session context, the judge's candidates, and the background
// embedding of entries not yet in the active vector space.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/lexical"
	"github.com/jackc/pgx/v5"
)

// indexedDims are the dimensions migration 000002 built HNSW indexes for.
var indexedDims = map[int]bool{100: true, 384: true, 768: true, 1536: true}

// lexicalOptions tune lexicalSearch.
type lexicalOptions struct {
	BM25 lexical.BM25Params
	// Budget bounds the candidates fetched: query terms join the candidate
	// query rarest first while the sum of their document frequencies stays
	// within it (the rarest always joins). Commoner terms still score the
	// candidates; they just do not bring in new ones. 0 means 1,000.
	Budget int
	// ExactTop is how many of the best results must be exact (see the
	// pruning in lexicalSearch). 0 means 20.
	ExactTop int
	// MaxCandidates caps the rows scored. 0 means 3,000.
	MaxCandidates int
}

// LexicalSearch ranks the tenant's entries matching f by BM25 (k1 1.2,
// b 0.75) for the analysed query terms and returns the best limit.
func (db *DB) LexicalSearch(ctx context.Context, tenantID string, terms []string, f admem.EntryFilter, limit int) ([]admem.RankedEntry, error) {
	return db.lexicalSearch(ctx, tenantID, terms, f, limit, lexicalOptions{})
}

func (db *DB) lexicalSearch(ctx context.Context, tenantID string, terms []string, f admem.EntryFilter, limit int, o lexicalOptions) ([]admem.RankedEntry, error) {
	if o.Budget <= 0 {
		o.Budget = 1000
	}
	if o.ExactTop <= 0 {
		o.ExactTop = 20
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = 3000
	}
	if o.BM25 == (lexical.BM25Params{}) {
		o.BM25 = lexical.DefaultBM25
	}
	qs := queryTerms(terms)
	if len(qs) == 0 {
		return nil, nil
	}
	var out []admem.RankedEntry
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = lexicalSearchTx(ctx, tx, tenantID, qs, f, limit, o)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: lexical search: %w", err)
	}
	return out, nil
}

// lexicalSearchTx is lexicalSearch inside tx, for distinct terms qs.
func lexicalSearchTx(ctx context.Context, tx pgx.Tx, tenantID string, qs []string, f admem.EntryFilter, limit int, o lexicalOptions) ([]admem.RankedEntry, error) {
	var out []admem.RankedEntry
	err := func() error {
		var docs, total int64
		if err := tx.QueryRow(ctx, `SELECT doc_count, total_len FROM entry_stats WHERE tenant_id = $1`, tenantID).Scan(&docs, &total); err != nil {
			if translate(err) == admem.ErrNotFound {
				return nil // nothing indexed yet
			}
			return translate(err)
		}
		if docs <= 0 {
			return nil
		}
		df := map[string]int{}
		rows, err := tx.Query(ctx, `SELECT term, df FROM entry_terms WHERE tenant_id = $1 AND term = ANY($2::text[]) AND df > 0`, tenantID, qs)
		if err != nil {
			return translate(err)
		}
		for rows.Next() {
			var t string
			var n int
			if err := rows.Scan(&t, &n); err != nil {
				rows.Close()
				return translate(err)
			}
			df[t] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		present := make([]string, 0, len(df))
		for t := range df {
			present = append(present, t)
		}
		if len(present) == 0 {
			return nil
		}
		sort.Slice(present, func(i, j int) bool {
			if df[present[i]] != df[present[j]] {
				return df[present[i]] < df[present[j]]
			}
			return present[i] < present[j]
		})
		idfs := make([]float64, len(present))
		for i, t := range present {
			idfs[i] = lexical.IDF(df[t], int(docs))
		}
		avgdl := float64(total) / float64(docs)
		// MaxScore-style pruning: the rarest terms bring in the candidates;
		// an entry holding none of them scores at most the sum of the other
		// terms' upper bounds idf·(k1+1). When the exactTop-th best candidate
		// beats that bound, the top is exact; otherwise search again with
		// every term.
		cut := 0
		sum := 0
		for i, t := range present {
			if i > 0 && sum+df[t] > o.Budget {
				break
			}
			sum += df[t]
			cut = i + 1
		}
		for pass := 0; pass < 2; pass++ {
			query := make([]string, cut)
			for i, t := range present[:cut] {
				query[i] = quoteLexeme(t)
			}
			out, err = scoreBM25(ctx, tx, tenantID, present, idfs, strings.Join(query, " | "), o, avgdl, f, limit)
			if err != nil || cut == len(present) || pass == 1 {
				return err
			}
			// θ, the need-th best score so far, can only rise. The
			// commonest terms whose bounds sum below θ cannot lift an entry
			// holding only them into the top; every other term must bring
			// in candidates (MaxScore, Turtle & Flood 1995).
			need := min(o.ExactTop, limit)
			theta := 0.0
			if len(out) >= need {
				theta = out[need-1].Score
			}
			essential, bound := len(present), 0.0
			for essential > 0 {
				ub := idfs[essential-1] * (o.BM25.K1 + 1)
				if bound+ub >= theta {
					break
				}
				bound += ub
				essential--
			}
			if essential <= cut {
				return nil // the first pass already held every essential term
			}
			cut = essential
		}
		return nil
	}()
	return out, err
}

// scoreBM25 scores the entries matching tsquery (and f) by BM25 over the
// terms with their idfs, and returns the best limit.
func scoreBM25(ctx context.Context, tx pgx.Tx, tenantID string, terms []string, idfs []float64, tsquery string, o lexicalOptions, avgdl float64, f admem.EntryFilter, limit int) ([]admem.RankedEntry, error) {
	orNil := func(s string, keepEmpty bool) *string {
		if s == "" && !keepEmpty {
			return nil
		}
		return &s
	}
	var status *string
	if f.Status != "any" {
		st := string(f.Status)
		if st == "" {
			st = string(admem.EntryActive)
		}
		status = &st
	}
	var kinds, notKinds, tags []string
	for _, k := range f.Kinds {
		kinds = append(kinds, string(k))
	}
	for _, k := range f.NotKinds {
		notKinds = append(notKinds, string(k))
	}
	if len(f.Tags) > 0 {
		tags = f.Tags
	}
	var metadata map[string]any
	if len(f.Metadata) > 0 {
		metadata = f.Metadata
	}
	rows, err := tx.Query(ctx, `
		WITH q(term, idf) AS (SELECT * FROM unnest($2::text[], $3::float8[])),
		c AS (SELECT * FROM admem_lexical_candidates($1, $4::tsquery, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $21))
		SELECT c.id, c.session_id, c.seq,
			sum(q.idf * cardinality(u.positions) * ($5::float8 + 1) /
				(cardinality(u.positions) + $5::float8 * (1 - $6::float8 + $6::float8 * c.doc_len / $7::float8))) AS score
		FROM c CROSS JOIN LATERAL unnest(c.lex) AS u JOIN q ON q.term = u.lexeme
		GROUP BY c.id, c.session_id, c.seq
		ORDER BY score DESC, c.id LIMIT $20`,
		tenantID, terms, idfs, tsquery, o.BM25.K1, o.BM25.B, avgdl, o.MaxCandidates,
		status, kinds, orNil(f.Key, false), orNil(f.AgentID, f.ExactScope), orNil(f.UserID, f.ExactScope), orNil(f.SessionID, false),
		tags, metadata, f.CreatedAfter, f.CreatedBefore, f.IncludeExpired, limit, notKinds)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []admem.RankedEntry
	for rows.Next() {
		var r admem.RankedEntry
		if err := rows.Scan(&r.ID, &r.SessionID, &r.Seq, &r.Score); err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// ExactVectorBelow is the tenant size under which vector search compares
// every candidate exactly instead of walking the HNSW graph: exact is both
// faster and complete there.
const ExactVectorBelow = 20000

// hnswMaxK caps the results of an HNSW search (see VectorSearch).
const hnswMaxK = 100

// VectorSearch ranks the tenant's entries matching f by cosine similarity to
// v, comparing only vectors of the embedder's space, and returns the best
// limit. It scans exactly when the tenant is small, a scope filter narrows
// the candidates, or no HNSW index exists for the dimension; otherwise it
// walks the HNSW index with pgvector's iterative scan, so filters do not
// starve the result.
func (db *DB) VectorSearch(ctx context.Context, tenantID, embedder string, v []float32, f admem.EntryFilter, limit int) ([]admem.RankedEntry, error) {
	if len(v) == 0 || embedder == "" {
		return nil, nil
	}
	dim := len(v)
	var out []admem.RankedEntry
	if tenantID == "" {
		return nil, errors.New("store: vector search: no tenant")
	}
	// The HNSW settings go with the BEGIN (an exact scan ignores them):
	// one HNSW round (ef_search) yields about 100 candidates; more would
	// start iterative rounds that cost more than they add to a fused top
	// list, and iterative scans keep filters from starving the result.
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var docs int64
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT doc_count FROM entry_stats WHERE tenant_id = $1), 0)`, tenantID).Scan(&docs); err != nil {
			return translate(err)
		}
		exact := !indexedDims[dim] || docs < ExactVectorBelow || f.AgentID != "" || f.UserID != "" || f.SessionID != "" || f.Key != ""
		args := []any{tenantID, embedder, *entryVectorLiteral(v)}
		where := filterSQL(f, &args)
		if !exact {
			limit = min(limit, hnswMaxK)
		}
		args = append(args, limit)
		var q string
		if exact {
			// The distance expression deliberately differs from the indexed
			// one (no cast to a fixed dimension), so the planner cannot pick
			// the HNSW index for a scan it would do worse.
			q = `SELECT e.id, e.session_id, e.seq, 1 - (v.embedding <=> $3::vector) AS sim
				FROM entries e JOIN entry_vectors v ON v.tenant_id = e.tenant_id AND v.entry_id = e.id AND v.embedder = $2
				WHERE e.tenant_id = $1 AND v.tenant_id = $1 AND vector_dims(v.embedding) = ` + strconv.Itoa(dim) + where + `
				ORDER BY v.embedding <=> $3::vector, e.id LIMIT $` + strconv.Itoa(len(args))
		} else {
			cast := "::vector(" + strconv.Itoa(dim) + ")"
			q = `SELECT e.id, e.session_id, e.seq, 1 - (v.embedding` + cast + ` <=> $3` + cast + `) AS sim
				FROM entry_vectors v JOIN entries e ON e.tenant_id = v.tenant_id AND e.id = v.entry_id
				WHERE v.tenant_id = $1 AND e.tenant_id = $1 AND v.embedder = $2 AND vector_dims(v.embedding) = ` + strconv.Itoa(dim) + where + `
				ORDER BY v.embedding` + cast + ` <=> $3` + cast + ` LIMIT $` + strconv.Itoa(len(args))
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var r admem.RankedEntry
			if err := rows.Scan(&r.ID, &r.SessionID, &r.Seq, &r.Score); err != nil {
				return translate(err)
			}
			out = append(out, r)
		}
		return translate(rows.Err())
	}, "admem.tenant_id", tenantID, "hnsw.ef_search", strconv.Itoa(hnswMaxK), "hnsw.iterative_scan", "relaxed_order")
	if err != nil {
		return nil, fmt.Errorf("store: vector search: %w", err)
	}
	// Iterative index scans return results in relaxed order.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out, nil
}

// SessionLayout returns, in session order, the entries matching f of the
// given sessions (at most limit), for session context.
func (db *DB) SessionLayout(ctx context.Context, tenantID string, sessions []string, f admem.EntryFilter, limit int) ([]admem.RankedEntry, error) {
	if len(sessions) == 0 {
		return nil, nil
	}
	var out []admem.RankedEntry
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		args := []any{tenantID, sessions}
		where := filterSQL(f, &args)
		args = append(args, limit)
		rows, err := tx.Query(ctx, `SELECT e.id, e.session_id, e.seq FROM entries e
			WHERE e.tenant_id = $1 AND e.session_id = ANY($2::text[])`+where+`
			ORDER BY e.session_id, e.seq LIMIT $`+strconv.Itoa(len(args)), args...)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var r admem.RankedEntry
			if err := rows.Scan(&r.ID, &r.SessionID, &r.Seq); err != nil {
				return translate(err)
			}
			out = append(out, r)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("store: session layout: %w", err)
	}
	return out, nil
}

// JudgeCandidates returns the entries a write of kind in scope could
// duplicate, update or contradict, in one transaction: the live entry with
// the same key in exactly this scope, if any, and the best BM25 matches of
// the write's terms among active entries of the same kind, agent and user
// (any session; an empty agent or user must be empty there too), with their
// vectors in embedder's space.
func (db *DB) JudgeCandidates(ctx context.Context, tenantID string, kind admem.EntryKind, scope admem.Scope, key string, terms []string, embedder string, limit int) ([]admem.JudgeCandidate, error) {
	var out []admem.JudgeCandidate
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var ids []string
		seen := map[string]bool{}
		if key != "" {
			var id string
			err := tx.QueryRow(ctx, `SELECT id FROM entries WHERE tenant_id = $1 AND kind = $2 AND key = $3
				AND agent_id = $4 AND user_id = $5 AND session_id = $6 AND status <> 'deleted'`,
				tenantID, string(kind), key, scope.AgentID, scope.UserID, scope.SessionID).Scan(&id)
			switch err = translate(err); {
			case err == nil:
				ids, seen[id] = append(ids, id), true
			case err != admem.ErrNotFound:
				return err
			}
		}
		if qs := queryTerms(terms); len(qs) > 0 {
			f := admem.EntryFilter{Kinds: []admem.EntryKind{kind}, AgentID: scope.AgentID, UserID: scope.UserID, ExactScope: true}
			ranked, err := lexicalSearchTx(ctx, tx, tenantID, qs, f, limit, lexicalOptions{MaxCandidates: 2000, ExactTop: limit})
			if err != nil {
				return err
			}
			for _, r := range ranked {
				if !seen[r.ID] {
					ids, seen[r.ID] = append(ids, r.ID), true
				}
			}
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT `+entryColumns+`, v.embedding::text
			FROM entries e LEFT JOIN entry_vectors v ON v.tenant_id = e.tenant_id AND v.entry_id = e.id AND v.embedder = $3
			WHERE e.tenant_id = $1 AND e.id = ANY($2::uuid[])`, tenantID, ids, embedder)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		byID := map[string]admem.JudgeCandidate{}
		for rows.Next() {
			var vec *string
			e, err := scanEntry(rows, &vec)
			if err != nil {
				return err
			}
			byID[e.ID] = admem.JudgeCandidate{Entry: e, Vector: parseEntryVector(vec)}
		}
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		for _, id := range ids {
			if c, ok := byID[id]; ok {
				out = append(out, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: judge candidates: %w", err)
	}
	return out, nil
}

// EmbedPending embeds up to limit of the tenant's queued entries (new or
// changed content), oldest first, in embedder's space. Queue rows are locked
// with SKIP LOCKED, so API replicas and workers can run it concurrently
// without doing the same work twice. It returns how many queue rows it
// consumed.
func (db *DB) EmbedPending(ctx context.Context, tenantID, embedder string, limit int, embed func(ctx context.Context, texts []string) ([][]float32, error)) (int, error) {
	n := 0
	err := db.inTenantEntries(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH q AS (SELECT entry_id FROM entry_embed_queue WHERE tenant_id = $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
			SELECT q.entry_id, e.content FROM q LEFT JOIN entries e ON e.tenant_id = $1 AND e.id = q.entry_id AND e.status <> 'deleted'`,
			tenantID, limit)
		if err != nil {
			return translate(err)
		}
		var popped, ids, texts []string
		for rows.Next() {
			var id string
			var text *string
			if err := rows.Scan(&id, &text); err != nil {
				rows.Close()
				return translate(err)
			}
			popped = append(popped, id)
			if text != nil {
				ids, texts = append(ids, id), append(texts, *text)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		if len(popped) == 0 {
			return nil
		}
		if len(ids) > 0 {
			vecs, err := embed(ctx, texts)
			if err != nil {
				return err
			}
			var vIDs, vals []string
			for i, v := range vecs {
				if lit := entryVectorLiteral(v); lit != nil && !zeroVector(v) {
					vIDs, vals = append(vIDs, ids[i]), append(vals, *lit)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO entry_vectors (tenant_id, entry_id, embedder, embedding)
				SELECT $1, x.id, $2, x.v::vector FROM unnest($3::uuid[], $4::text[]) AS x(id, v)
				ON CONFLICT (tenant_id, entry_id, embedder) DO UPDATE SET embedding = EXCLUDED.embedding`,
				tenantID, embedder, vIDs, vals); err != nil {
				return translate(err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM entry_embed_queue WHERE tenant_id = $1 AND entry_id = ANY($2::uuid[])`, tenantID, popped); err != nil {
			return translate(err)
		}
		n = len(popped)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: embed pending: %w", err)
	}
	return n, nil
}

func zeroVector(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// SwitchEmbedder moves the tenant to embedder's vector space: it queues every
// live entry without a vector there (or in a client's space) and drops the
// vectors of other service spaces, which search would never compare anyway.
// It returns how many entries it queued.
func (db *DB) SwitchEmbedder(ctx context.Context, tenantID, embedder string) (int, error) {
	var n int64
	err := db.inTenantEntries(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO entry_embed_queue (tenant_id, entry_id)
			SELECT e.tenant_id, e.id FROM entries e
			WHERE e.tenant_id = $1 AND e.status <> 'deleted' AND NOT EXISTS (
				SELECT 1 FROM entry_vectors v WHERE v.tenant_id = e.tenant_id AND v.entry_id = e.id
				AND (v.embedder = $2 OR v.embedder LIKE 'client:%'))
			ORDER BY e.seq ON CONFLICT DO NOTHING`, tenantID, embedder)
		if err != nil {
			return translate(err)
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM entry_vectors WHERE tenant_id = $1 AND embedder <> $2 AND embedder NOT LIKE 'client:%'`,
			tenantID, embedder); err != nil {
			return translate(err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: switch embedder: %w", err)
	}
	return int(n), nil
}

// TenantsToEmbed lists the tenants with queued entries, and those with
// vectors of a service space other than embedder's (which need
// SwitchEmbedder). It runs across tenants through a narrow SECURITY DEFINER
// function.
func (db *DB) TenantsToEmbed(ctx context.Context, embedder string) (queued, switching []string, err error) {
	rows, err := db.pool.Query(ctx, `SELECT tenant_id, switching FROM admem_entries_to_embed($1)`, embedder)
	if err != nil {
		return nil, nil, fmt.Errorf("store: tenants to embed: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var sw bool
		if err := rows.Scan(&id, &sw); err != nil {
			return nil, nil, translate(err)
		}
		if sw {
			switching = append(switching, id)
		} else {
			queued = append(queued, id)
		}
	}
	return queued, switching, translate(rows.Err())
}

// EntryIndexSize reports the on-disk size of the entry tables' indexes by
// access method (gin: the lexical, tag and metadata indexes; hnsw; btree)
// and of their heaps, in bytes.
func (db *DB) EntryIndexSize(ctx context.Context) (map[string]int64, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT CASE WHEN am.amname IN ('gin', 'hnsw') THEN am.amname ELSE 'btree' END, sum(pg_relation_size(c.oid))::bigint
		FROM pg_inherits h JOIN pg_index i ON i.indrelid = h.inhrelid
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
		WHERE h.inhparent IN ('entries'::regclass, 'entry_vectors'::regclass) GROUP BY 1
		UNION ALL
		SELECT 'heap', sum(pg_table_size(h.inhrelid))::bigint FROM pg_inherits h WHERE h.inhparent = 'entries'::regclass
		UNION ALL
		SELECT 'vectors_heap', sum(pg_table_size(h.inhrelid))::bigint FROM pg_inherits h WHERE h.inhparent = 'entry_vectors'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("store: index size: %w", translate(err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v *int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, translate(err)
		}
		if v != nil {
			out[k] = *v
		}
	}
	return out, translate(rows.Err())
}

// queryTerms is terms without blanks, repeats and terms too long to have
// been indexed, in their first order.
func queryTerms(terms []string) []string {
	distinct := map[string]bool{}
	var qs []string
	for _, t := range terms {
		if t != "" && len(t) <= maxTermLen && !distinct[t] {
			distinct[t] = true
			qs = append(qs, t)
		}
	}
	return qs
}
