package store

// Memory entries: versioned rows with provenance, and the per-tenant BM25
// statistics (document count, total length, document frequency per term)
// kept in the same transaction as every write that changes what is
// searchable. Search is in entries_search.go.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const entryColumns = `e.id, e.tenant_id, e.kind, e.key, e.content, e.metadata, e.tags, e.agent_id, e.user_id, e.session_id,
	e.expires_at, e.status, e.version, e.uses, e.successes, e.seen_count, e.last_seen_at, e.created_at, e.updated_at,
	e.quarantine_reason, e.quarantine_released_at, coalesce(e.quarantine_released_by::text, '')`

func scanEntry(row pgx.Row, extra ...any) (admem.Entry, error) {
	var e admem.Entry
	var kind, status string
	dst := []any{&e.ID, &e.TenantID, &kind, &e.Key, &e.Content, &e.Metadata, &e.Tags, &e.Scope.AgentID, &e.Scope.UserID, &e.Scope.SessionID,
		&e.ExpiresAt, &status, &e.Version, &e.Uses, &e.Successes, &e.SeenCount, &e.LastSeenAt, &e.CreatedAt, &e.UpdatedAt,
		&e.Quarantine.Reason, &e.Quarantine.ReleasedAt, &e.Quarantine.ReleasedBy}
	if err := row.Scan(append(dst, extra...)...); err != nil {
		return admem.Entry{}, translate(err)
	}
	e.Kind, e.Status = admem.EntryKind(kind), admem.EntryStatus(status)
	if e.Tags == nil {
		e.Tags = []string{}
	}
	if e.Metadata == nil {
		e.Metadata = map[string]any{}
	}
	return e, nil
}

// scanEntryRow is scanEntry in queryAll's shape.
func scanEntryRow(row pgx.Row) (admem.Entry, error) { return scanEntry(row) }

// maxTermLen bounds one indexed term (tsvector lexemes may hold 2 KB).
const maxTermLen = 200

// termCounts counts analysed terms, dropping over-long ones.
func termCounts(terms []string) (map[string]int, int) {
	m := make(map[string]int, len(terms))
	n := 0
	for _, t := range terms {
		if t == "" || len(t) > maxTermLen {
			continue
		}
		if m[t] < 256 { // tsvector keeps at most 256 positions per lexeme
			m[t]++
			n++
		}
	}
	return m, n
}

// lexemeEscaper escapes a term inside a quoted tsvector or tsquery lexeme.
var lexemeEscaper = strings.NewReplacer(`\`, `\\`, `'`, `''`)

// quoteLexeme quotes a term for tsvector and tsquery input.
func quoteLexeme(t string) string {
	return "'" + lexemeEscaper.Replace(t) + "'"
}

// tsvectorLiteral builds the tsvector of analysed terms: one lexeme per
// distinct term, with as many positions as occurrences (the term frequency).
// Postgres' own parser is bypassed so that the stored lexemes are exactly the
// analyser's terms.
func tsvectorLiteral(counts map[string]int) string {
	terms := make([]string, 0, len(counts))
	for t := range counts {
		terms = append(terms, t)
	}
	sort.Strings(terms)
	var b strings.Builder
	pos := 1
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteLexeme(t))
		b.WriteByte(':')
		for j := 0; j < counts[t]; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(min(pos, 16383)))
			pos++
		}
	}
	return b.String()
}

// vectorLiteral renders a vector as pgvector text input; nil stays NULL.
func entryVectorLiteral(v []float32) *string {
	if v == nil {
		return nil
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', 7, 32))
	}
	b.WriteByte(']')
	s := b.String()
	return &s
}

func parseEntryVector(s *string) []float32 {
	if s == nil || len(*s) < 2 {
		return nil
	}
	parts := strings.Split(strings.Trim(*s, "[]"), ",")
	out := make([]float32, 0, len(parts))
	for _, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil
		}
		out = append(out, float32(f))
	}
	return out
}

// statsDelta accumulates changes to a tenant's BM25 statistics.
type statsDelta struct {
	docs, length int64
	df           map[string]int
}

func (d *statsDelta) add(counts map[string]int, docLen int, sign int) {
	if d.df == nil {
		d.df = map[string]int{}
	}
	d.docs += int64(sign)
	d.length += int64(sign * docLen)
	for t := range counts {
		d.df[t] += sign
	}
}

// apply writes the delta. Terms are upserted in sorted order so concurrent
// writers of one tenant lock them in the same order and cannot deadlock; the
// tenant's stats row is updated last, to hold its lock briefly.
func (d *statsDelta) apply(ctx context.Context, tx pgx.Tx, tenantID string) error {
	terms := make([]string, 0, len(d.df))
	for t, n := range d.df {
		if n != 0 {
			terms = append(terms, t)
		}
	}
	sort.Strings(terms)
	if len(terms) > 0 {
		dfs := make([]int32, len(terms))
		for i, t := range terms {
			dfs[i] = int32(d.df[t])
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO entry_terms (tenant_id, term, df)
			SELECT $1, t, n FROM unnest($2::text[], $3::int[]) AS x(t, n)
			ON CONFLICT (tenant_id, term) DO UPDATE SET df = greatest(entry_terms.df + EXCLUDED.df, 0)`,
			tenantID, terms, dfs); err != nil {
			return translate(err)
		}
	}
	if d.docs != 0 || d.length != 0 {
		if _, err := tx.Exec(ctx, `
			INSERT INTO entry_stats (tenant_id, doc_count, total_len) VALUES ($1, greatest($2::bigint, 0), greatest($3::bigint, 0))
			ON CONFLICT (tenant_id) DO UPDATE SET doc_count = greatest(entry_stats.doc_count + $2, 0),
				total_len = greatest(entry_stats.total_len + $3, 0)`, tenantID, d.docs, d.length); err != nil {
			return translate(err)
		}
	}
	return nil
}

func nullableUUID(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InsertEntries stores new entries, each with its first version (operation
// ADD), and counts the active ones into the tenant's BM25 statistics, in one
// transaction.
func (db *DB) InsertEntries(ctx context.Context, tenantID string, ws []admem.EntryWrite) ([]admem.Entry, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	p, err := prepareInserts(ws)
	if err != nil {
		return nil, err
	}
	var out []admem.Entry
	err = db.inTenantEntries(ctx, tenantID, func(tx pgx.Tx) error {
		var delta statsDelta
		var err error
		if out, err = insertEntriesTx(ctx, tx, tenantID, p, &delta); err != nil {
			return err
		}
		return delta.apply(ctx, tx, tenantID)
	})
	if err != nil {
		return nil, fmt.Errorf("store: insert entries: %w", err)
	}
	return out, nil
}

// preparedInserts are entries to insert as the statements' array arguments.
type preparedInserts struct {
	ids, kinds, keys, contents, agents, users, sessions, statuses, lexes, embedders []string
	metas                                                                           []string
	tagsJSON                                                                        string
	expires                                                                         []*time.Time
	docLens                                                                         []int32
	counts                                                                          []map[string]int
	vectors                                                                         []*string
	actors                                                                          []*string
	sources, sourceIDs, reasons, quarantines                                        []string
}

// prepareInserts renders ws for insertEntriesTx; an entry keeps its ID when
// it has one.
func prepareInserts(ws []admem.EntryWrite) (*preparedInserts, error) {
	p := &preparedInserts{}
	tags := make([][]string, 0, len(ws))
	for _, w := range ws {
		e := w.Entry
		id := e.ID
		if id == "" {
			id = uuid.NewString()
		}
		counts, dl := termCounts(w.Index.Terms)
		if e.Status == "" {
			e.Status = admem.EntryActive
		}
		md := e.Metadata
		if md == nil {
			md = map[string]any{}
		}
		tg := e.Tags
		if tg == nil {
			tg = []string{}
		}
		p.ids = append(p.ids, id)
		p.kinds = append(p.kinds, string(e.Kind))
		p.keys = append(p.keys, e.Key)
		p.contents = append(p.contents, e.Content)
		mdJSON, err := json.Marshal(md)
		if err != nil {
			return nil, admem.Invalid("metadata", "not representable as JSON")
		}
		p.metas = append(p.metas, string(mdJSON))
		tags = append(tags, tg)
		p.agents = append(p.agents, e.Scope.AgentID)
		p.users = append(p.users, e.Scope.UserID)
		p.sessions = append(p.sessions, e.Scope.SessionID)
		p.expires = append(p.expires, e.ExpiresAt)
		p.statuses = append(p.statuses, string(e.Status))
		p.lexes = append(p.lexes, tsvectorLiteral(counts))
		p.docLens = append(p.docLens, int32(dl))
		p.counts = append(p.counts, counts)
		if w.Index.Vector != nil {
			p.embedders = append(p.embedders, w.Index.Embedder)
		} else {
			p.embedders = append(p.embedders, "")
		}
		p.vectors = append(p.vectors, entryVectorLiteral(w.Index.Vector))
		p.actors = append(p.actors, nullableUUID(w.Provenance.ActorKeyID))
		p.sources = append(p.sources, w.Provenance.Source)
		p.sourceIDs = append(p.sourceIDs, w.Provenance.SourceID)
		p.reasons = append(p.reasons, w.Reason)
		p.quarantines = append(p.quarantines, w.Index.Quarantine)
	}
	tagsJSON, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	p.tagsJSON = string(tagsJSON)
	return p, nil
}

// insertEntriesTx inserts the prepared entries with their first versions and
// vectors (or embedding queue rows) in tx, adds the active ones to delta, and
// returns them in order.
func insertEntriesTx(ctx context.Context, tx pgx.Tx, tenantID string, p *preparedInserts, delta *statsDelta) ([]admem.Entry, error) {
	if len(p.ids) == 0 {
		return nil, nil
	}
	for i, st := range p.statuses {
		if st == string(admem.EntryActive) {
			delta.add(p.counts[i], int(p.docLens[i]), 1)
		}
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO entries AS e (tenant_id, id, kind, key, content, metadata, tags, agent_id, user_id, session_id,
			expires_at, status, lex, doc_len, quarantine_reason)
		SELECT $1, x.id, x.kind, x.key, x.content, x.metadata, coalesce(t.tags, '{}'), x.agent_id, x.user_id, x.session_id,
			x.expires_at, x.status, x.lex::tsvector, x.doc_len, x.quarantine
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $8::text[], $9::text[], $10::text[],
			$11::timestamptz[], $12::text[], $13::text[], $14::int[], $15::text[])
			WITH ORDINALITY AS x(id, kind, key, content, metadata, agent_id, user_id, session_id,
			expires_at, status, lex, doc_len, quarantine, ord)
		LEFT JOIN LATERAL (SELECT array_agg(tag) AS tags FROM jsonb_array_elements_text($7::jsonb -> (x.ord::int - 1)) AS tag) t ON true
		ORDER BY x.ord
		RETURNING `+entryColumns,
		tenantID, p.ids, p.kinds, p.keys, p.contents, p.metas, p.tagsJSON, p.agents, p.users, p.sessions,
		p.expires, p.statuses, p.lexes, p.docLens, p.quarantines)
	if err != nil {
		return nil, translate(err)
	}
	byID := map[string]admem.Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[e.ID] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	out := make([]admem.Entry, 0, len(p.ids))
	for _, id := range p.ids {
		out = append(out, byID[id])
	}
	// The first versions copy what was inserted (now() is the
	// transaction's time, the entries' created_at).
	if _, err := tx.Exec(ctx, `
		INSERT INTO entry_versions (tenant_id, entry_id, version, operation, key, content, metadata, tags, expires_at, status,
			actor_key_id, source, source_id, reason, created_at, quarantine_reason)
		SELECT $1, x.id, 1, 'ADD', x.key, x.content, x.metadata, coalesce(t.tags, '{}'), x.expires_at, x.status,
			x.actor, x.source, x.source_id, x.reason, now(), x.quarantine
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::text[],
			$8::uuid[], $9::text[], $10::text[], $11::text[], $13::text[])
			WITH ORDINALITY AS x(id, key, content, metadata, expires_at, status, actor, source, source_id, reason, quarantine, ord)
		LEFT JOIN LATERAL (SELECT array_agg(tag) AS tags FROM jsonb_array_elements_text($12::jsonb -> (x.ord::int - 1)) AS tag) t ON true`,
		tenantID, p.ids, p.keys, p.contents, p.metas, p.expires, p.statuses, p.actors, p.sources, p.sourceIDs, p.reasons, p.tagsJSON, p.quarantines); err != nil {
		return nil, translate(err)
	}
	if err := storeVectors(ctx, tx, tenantID, p.ids, p.embedders, p.vectors); err != nil {
		return nil, err
	}
	return out, nil
}

// storeVectors stores the vectors given (embedders[i] names vectors[i]'s
// space) and queues the entries without one for the embedder.
func storeVectors(ctx context.Context, tx pgx.Tx, tenantID string, ids, embedders []string, vectors []*string) error {
	var vIDs, vSpaces, qIDs []string
	var vVals []string
	for i, id := range ids {
		if vectors[i] != nil {
			vIDs, vSpaces, vVals = append(vIDs, id), append(vSpaces, embedders[i]), append(vVals, *vectors[i])
		} else {
			qIDs = append(qIDs, id)
		}
	}
	if len(vIDs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO entry_vectors (tenant_id, entry_id, embedder, embedding)
			SELECT $1, x.id, x.space, x.v::vector FROM unnest($2::uuid[], $3::text[], $4::text[]) AS x(id, space, v)
			ON CONFLICT (tenant_id, entry_id, embedder) DO UPDATE SET embedding = EXCLUDED.embedding`,
			tenantID, vIDs, vSpaces, vVals); err != nil {
			return translate(err)
		}
	}
	if len(qIDs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO entry_embed_queue (tenant_id, entry_id)
			SELECT $1, id FROM unnest($2::uuid[]) AS id ON CONFLICT DO NOTHING`, tenantID, qIDs); err != nil {
			return translate(err)
		}
	}
	return nil
}

// GetEntry returns one entry of the tenant, whatever its status.
func (db *DB) GetEntry(ctx context.Context, tenantID, id string) (admem.Entry, error) {
	var out admem.Entry
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanEntry(tx.QueryRow(ctx, `SELECT `+entryColumns+` FROM entries e WHERE e.tenant_id = $1 AND e.id = $2`, tenantID, id))
		return err
	})
	if err != nil {
		return admem.Entry{}, fmt.Errorf("store: get entry %s: %w", id, err)
	}
	return out, nil
}

// GetEntries returns the tenant's entries with the given ids, in that order;
// ids that name no entry are left out.
func (db *DB) GetEntries(ctx context.Context, tenantID string, ids []string) ([]admem.Entry, error) {
	var out []admem.Entry
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = getEntries(ctx, tx, tenantID, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: get entries: %w", err)
	}
	return out, nil
}

func getEntries(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) ([]admem.Entry, error) {
	found, err := queryAll(ctx, tx, scanEntryRow, `SELECT `+entryColumns+` FROM entries e WHERE e.tenant_id = $1 AND e.id = ANY($2::uuid[])`, tenantID, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]admem.Entry, len(found))
	for _, e := range found {
		byID[e.ID] = e
	}
	out := make([]admem.Entry, 0, len(ids))
	for _, id := range ids {
		if e, ok := byID[id]; ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// filterSQL renders f as " AND …" conditions on the alias e, appending the
// bound parameters to args.
func filterSQL(f admem.EntryFilter, args *[]any) string {
	var b strings.Builder
	arg := func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	}
	if f.Status != "any" {
		st := f.Status
		if st == "" {
			st = admem.EntryActive
		}
		b.WriteString(" AND e.status = " + arg(string(st)))
	}
	if len(f.Kinds) > 0 {
		ks := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			ks[i] = string(k)
		}
		b.WriteString(" AND e.kind = ANY(" + arg(ks) + "::text[])")
	}
	if len(f.NotKinds) > 0 {
		ks := make([]string, len(f.NotKinds))
		for i, k := range f.NotKinds {
			ks[i] = string(k)
		}
		b.WriteString(" AND NOT (e.kind = ANY(" + arg(ks) + "::text[]))")
	}
	for _, c := range []struct{ col, v string }{{"key", f.Key}, {"agent_id", f.AgentID}, {"user_id", f.UserID}, {"session_id", f.SessionID}} {
		if c.v != "" || (f.ExactScope && (c.col == "agent_id" || c.col == "user_id")) {
			b.WriteString(" AND e." + c.col + " = " + arg(c.v))
		}
	}
	if len(f.Tags) > 0 {
		b.WriteString(" AND e.tags @> " + arg(f.Tags) + "::text[]")
	}
	if len(f.Metadata) > 0 {
		b.WriteString(" AND e.metadata @> " + arg(f.Metadata) + "::jsonb")
	}
	if f.CreatedAfter != nil {
		b.WriteString(" AND e.created_at >= " + arg(*f.CreatedAfter))
	}
	if f.CreatedBefore != nil {
		b.WriteString(" AND e.created_at < " + arg(*f.CreatedBefore))
	}
	if !f.IncludeExpired {
		b.WriteString(" AND (e.expires_at IS NULL OR e.expires_at > now())")
	}
	if f.Quarantined {
		b.WriteString(" AND e.quarantine_reason <> '' AND e.quarantine_released_at IS NULL")
	}
	return b.String()
}

// ListEntries pages through the tenant's entries matching f, newest first.
func (db *DB) ListEntries(ctx context.Context, tenantID string, f admem.EntryFilter, page admem.Page) ([]admem.Entry, string, error) {
	page = page.Normalize()
	var out []admem.Entry
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		args := []any{tenantID}
		where := filterSQL(f, &args)
		if page.Cursor != "" {
			ts, id, err := decodeTimeCursor(page.Cursor)
			if err != nil {
				return err
			}
			args = append(args, ts, id)
			where += fmt.Sprintf(" AND (e.created_at, e.id) < ($%d, $%d::uuid)", len(args)-1, len(args))
		}
		args = append(args, page.Limit+1)
		var err error
		out, err = queryAll(ctx, tx, scanEntryRow, `SELECT `+entryColumns+` FROM entries e WHERE e.tenant_id = $1`+where+`
			ORDER BY e.created_at DESC, e.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list entries: %w", err)
	}
	out, next := trimPage(out, page.Limit, func(e admem.Entry) string { return encodeTimeCursor(e.CreatedAt, e.ID) })
	return out, next, nil
}

// ReviseEntry makes a new version of an entry in one transaction: it locks
// the entry, asks revise for the new state (given the current one), stores
// it and its version, and moves the entry in or out of the BM25 statistics.
// revise may return an *admem.Error to refuse the change.
func (db *DB) ReviseEntry(ctx context.Context, tenantID, id string, revise func(cur admem.Entry) (admem.EntryRevision, error)) (admem.Entry, error) {
	var out admem.Entry
	err := db.inTenantEntries(ctx, tenantID, func(tx pgx.Tx) error {
		var oldLex string
		var oldLen int
		cur, err := scanEntry(tx.QueryRow(ctx, `SELECT `+entryColumns+`, e.lex::text, e.doc_len FROM entries e
			WHERE e.tenant_id = $1 AND e.id = $2 FOR UPDATE`, tenantID, id), &oldLex, &oldLen)
		if err != nil {
			return err
		}
		rev, err := revise(cur)
		if err != nil {
			return err
		}
		ne := rev.Entry
		if ne.Metadata == nil {
			ne.Metadata = map[string]any{}
		}
		if ne.Tags == nil {
			ne.Tags = []string{}
		}
		counts, dl := termCounts(rev.Index.Terms)
		var delta statsDelta
		if cur.Status == admem.EntryActive {
			delta.add(lexemesOf(oldLex), oldLen, -1)
		}
		if ne.Status == admem.EntryActive {
			delta.add(counts, dl, 1)
		}
		out, err = scanEntry(tx.QueryRow(ctx, `
			UPDATE entries e SET key = $3, content = $4, metadata = $5, tags = $6, expires_at = $7, status = $8,
				version = e.version + 1, updated_at = now(), last_seen_at = now(), lex = $9::tsvector, doc_len = $10,
				quarantine_reason = $11,
				quarantine_released_at = CASE WHEN e.content = $4 THEN e.quarantine_released_at END,
				quarantine_released_by = CASE WHEN e.content = $4 THEN e.quarantine_released_by END
			WHERE e.tenant_id = $1 AND e.id = $2 RETURNING `+entryColumns,
			tenantID, id, ne.Key, ne.Content, ne.Metadata, ne.Tags, ne.ExpiresAt, string(ne.Status),
			tsvectorLiteral(counts), dl, rev.Index.Quarantine))
		if err != nil {
			return err
		}
		// A new content needs new vectors: the old ones go, and the entry
		// gets the revision's vector or waits for the embedder.
		if ne.Content != cur.Content || rev.Index.Vector != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM entry_vectors WHERE tenant_id = $1 AND entry_id = $2`, tenantID, id); err != nil {
				return translate(err)
			}
			if err := storeVectors(ctx, tx, tenantID, []string{id}, []string{rev.Index.Embedder}, []*string{entryVectorLiteral(rev.Index.Vector)}); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO entry_versions (tenant_id, entry_id, version, operation, key, content, metadata, tags, expires_at, status,
				actor_key_id, source, source_id, reason, created_at, quarantine_reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			tenantID, id, out.Version, string(rev.Op), out.Key, out.Content, out.Metadata, out.Tags, out.ExpiresAt, string(out.Status),
			nullableUUID(rev.Provenance.ActorKeyID), rev.Provenance.Source, rev.Provenance.SourceID, rev.Reason, out.UpdatedAt,
			rev.Index.Quarantine); err != nil {
			return translate(err)
		}
		return delta.apply(ctx, tx, tenantID)
	})
	if err != nil {
		return admem.Entry{}, fmt.Errorf("store: revise entry %s: %w", id, err)
	}
	return out, nil
}

// lexemesOf parses the lexemes of a tsvector's text form ('a':1,2 'b':3)
// into term → 1, enough for document-frequency bookkeeping.
func lexemesOf(tsv string) map[string]int {
	out := map[string]int{}
	for i := 0; i < len(tsv); i++ {
		if tsv[i] != '\'' {
			continue
		}
		var b strings.Builder
		j := i + 1
		for ; j < len(tsv); j++ {
			c := tsv[j]
			if c == '\\' && j+1 < len(tsv) {
				j++
				b.WriteByte(tsv[j])
				continue
			}
			if c == '\'' {
				if j+1 < len(tsv) && tsv[j+1] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				break
			}
			b.WriteByte(c)
		}
		out[b.String()] = 1
		// Skip the positions up to the next lexeme.
		for i = j + 1; i < len(tsv) && tsv[i] != ' '; i++ {
		}
	}
	return out
}

// TouchEntry records that a write matched the entry again (a NOOP): it bumps
// the last-seen time and the seen count, without a new version.
func (db *DB) TouchEntry(ctx context.Context, tenantID, id string) (admem.Entry, error) {
	var out admem.Entry
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanEntry(tx.QueryRow(ctx, `UPDATE entries e SET last_seen_at = now(), seen_count = e.seen_count + 1
			WHERE e.tenant_id = $1 AND e.id = $2 RETURNING `+entryColumns, tenantID, id))
		return err
	})
	if err != nil {
		return admem.Entry{}, fmt.Errorf("store: touch entry %s: %w", id, err)
	}
	return out, nil
}

const versionColumns = `v.entry_id, v.version, v.operation, v.key, v.content, v.metadata, v.tags, v.expires_at, v.status,
	coalesce(v.actor_key_id::text, ''), coalesce(v.agent_id, ''), coalesce(v.session_id, ''), v.source, v.source_id, v.reason, v.created_at`

func scanVersion(row pgx.Row) (admem.EntryVersion, error) {
	var v admem.EntryVersion
	var op, status string
	if err := row.Scan(&v.EntryID, &v.Version, &op, &v.Key, &v.Content, &v.Metadata, &v.Tags, &v.ExpiresAt, &status,
		&v.Provenance.ActorKeyID, &v.Provenance.AgentID, &v.Provenance.SessionID, &v.Provenance.Source, &v.Provenance.SourceID, &v.Reason, &v.CreatedAt); err != nil {
		return admem.EntryVersion{}, translate(err)
	}
	v.Operation, v.Status = admem.WriteOp(op), admem.EntryStatus(status)
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	return v, nil
}

// ListEntryVersions pages through an entry's versions, newest first. An
// entry that does not exist is ErrNotFound.
func (db *DB) ListEntryVersions(ctx context.Context, tenantID, id string, page admem.Page) ([]admem.EntryVersion, string, error) {
	page = page.Normalize()
	var out []admem.EntryVersion
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM entries WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&one); err != nil {
			return translate(err)
		}
		before, err := decodeIDCursor(page.Cursor)
		if err != nil {
			return err
		}
		out, err = queryAll(ctx, tx, scanVersion, `SELECT `+versionColumns+` FROM entry_versions v
			WHERE v.tenant_id = $1 AND v.entry_id = $2 AND ($3 = 0 OR v.version < $3)
			ORDER BY v.version DESC LIMIT $4`, tenantID, id, before, page.Limit+1)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list versions of %s: %w", id, err)
	}
	out, next := trimPage(out, page.Limit, func(v admem.EntryVersion) string { return encodeIDCursor(int64(v.Version)) })
	return out, next, nil
}

// GetEntryVersion returns one version of an entry.
func (db *DB) GetEntryVersion(ctx context.Context, tenantID, id string, version int) (admem.EntryVersion, error) {
	var out admem.EntryVersion
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanVersion(tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM entry_versions v
			WHERE v.tenant_id = $1 AND v.entry_id = $2 AND v.version = $3`, tenantID, id, version))
		return err
	})
	if err != nil {
		return admem.EntryVersion{}, fmt.Errorf("store: get version %d of %s: %w", version, id, err)
	}
	return out, nil
}

// ForgetUser deletes every entry scoped to userID, with all their versions
// (right to be forgotten), takes them out of the BM25 statistics, and writes
// an audit record that names the user only by a hash, in one transaction.
func (db *DB) ForgetUser(ctx context.Context, tenantID, userID string, audit admem.AuditEvent) (admem.ForgetResult, error) {
	var res admem.ForgetResult
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT e.lex::text, e.doc_len FROM entries e
			WHERE e.tenant_id = $1 AND e.user_id = $2 AND e.status = 'active' FOR UPDATE`, tenantID, userID)
		if err != nil {
			return translate(err)
		}
		var delta statsDelta
		for rows.Next() {
			var lex string
			var n int
			if err := rows.Scan(&lex, &n); err != nil {
				rows.Close()
				return translate(err)
			}
			delta.add(lexemesOf(lex), n, -1)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM entry_embed_queue q USING entries e
			WHERE q.tenant_id = $1 AND e.tenant_id = $1 AND q.entry_id = e.id AND e.user_id = $2`, tenantID, userID); err != nil {
			return translate(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM entry_vectors v USING entries e
			WHERE v.tenant_id = $1 AND e.tenant_id = $1 AND v.entry_id = e.id AND e.user_id = $2`, tenantID, userID); err != nil {
			return translate(err)
		}
		if err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM entry_versions v USING entries e
				WHERE v.tenant_id = $1 AND e.tenant_id = $1 AND v.entry_id = e.id AND e.user_id = $2 RETURNING 1)
			SELECT count(*) FROM d`, tenantID, userID).Scan(&res.Versions); err != nil {
			return translate(err)
		}
		if err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM entries e WHERE e.tenant_id = $1 AND e.user_id = $2 RETURNING 1)
			SELECT count(*) FROM d`, tenantID, userID).Scan(&res.Entries); err != nil {
			return translate(err)
		}
		if err := delta.apply(ctx, tx, tenantID); err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(tenantID + "\x00" + userID))
		audit.TenantID, audit.TargetType, audit.TargetID = tenantID, "user", "sha256:"+hex.EncodeToString(sum[:])
		if audit.Details == nil {
			audit.Details = map[string]any{}
		}
		audit.Details["entries_deleted"] = res.Entries
		audit.Details["versions_deleted"] = res.Versions
		return insertAuditAs(ctx, tx, audit)
	})
	if err != nil {
		return admem.ForgetResult{}, fmt.Errorf("store: forget user: %w", err)
	}
	return res, nil
}

// nullableText stores an empty (unknown) provenance field as NULL.
func nullableText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
