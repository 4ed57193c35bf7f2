package store_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/lexical"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// TestLexicalSearchIsBM25 checks the Postgres ranker against the in-memory
// BM25 index on a Zipf corpus: same top scores, in the same order, with the
// candidate pruning active (most queries hold common terms).
func TestLexicalSearchIsBM25(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t).Store(t)
	tenant := testenv.Tenant(t, db, "bm25")

	rng := rand.New(rand.NewPCG(7, 7))
	vocab := make([]string, 3000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx", i)
	}
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(len(vocab)-1))
	text := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[zipf.Uint64()]
		}
		return strings.Join(ws, " ")
	}
	ix := lexical.NewIndex(nil, lexical.DefaultBM25)
	var ws []admem.EntryWrite
	for i := 0; i < 3000; i++ {
		c := text(5 + rng.IntN(20))
		ws = append(ws, admem.EntryWrite{Entry: admem.Entry{Kind: "fact", Content: c}, Index: admem.EntryIndex{Terms: lexical.Analyze(c)},
			Provenance: admem.Provenance{Source: admem.SourceRequest}})
	}
	es, err := db.InsertEntries(ctx, tenant, ws)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		if err := ix.Add(e.ID, ws[i].Entry.Content); err != nil {
			t.Fatal(err)
		}
	}
	for qi := 0; qi < 40; qi++ {
		q := lexical.Analyze(text(2 + rng.IntN(5)))
		want := ix.SearchTerms(q, 10)
		got, err := db.LexicalSearch(ctx, tenant, q, admem.EntryFilter{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("query %v: %d hits, want %d", q, len(got), len(want))
		}
		for i := range want {
			if math.Abs(got[i].Score-want[i].Score) > 1e-6*math.Max(1, want[i].Score) {
				t.Fatalf("query %v: hit %d scores %.6f, want %.6f (%s vs %s)", q, i, got[i].Score, want[i].Score, got[i].ID, want[i].ID)
			}
		}
	}
}

// The SECURITY DEFINER lexical candidate function answers only for the
// tenant of the current transaction.
func TestLexicalCandidatesStayInTenant(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	ctx := context.Background()
	db := pg.Store(t)
	a, b := testenv.Tenant(t, db, "lex-a"), testenv.Tenant(t, db, "lex-b")
	c := "secret launch codename bluebird"
	if _, err := db.InsertEntries(ctx, a, []admem.EntryWrite{{Entry: admem.Entry{Kind: "fact", Content: c}, Index: admem.EntryIndex{Terms: lexical.Analyze(c)},
		Provenance: admem.Provenance{Source: admem.SourceRequest}}}); err != nil {
		t.Fatal(err)
	}
	if hits, err := db.LexicalSearch(ctx, a, lexical.Analyze("bluebird"), admem.EntryFilter{}, 10); err != nil || len(hits) != 1 {
		t.Fatalf("own tenant: %v %+v", err, hits)
	}
	if hits, err := db.LexicalSearch(ctx, b, lexical.Analyze("bluebird"), admem.EntryFilter{}, 10); err != nil || len(hits) != 0 {
		t.Fatalf("other tenant: %v %+v", err, hits)
	}
	app, err := pgx.Connect(ctx, pg.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT set_config('admem.tenant_id', $1, true)`, b); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM admem_lexical_candidates($1, 'bluebird'::tsquery, 10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true)`, a).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("tenant B read %d of tenant A's entries through the function", n)
	}
}

// Kinds left out of a search (recall's facts part leaves out the learned
// kinds) neither come back nor take the candidates' places: with far more
// learned entries than facts holding the word, the facts are still found.
func TestLexicalSearchLeavesKindsOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t).Store(t)
	tenant := testenv.Tenant(t, db, "not-kinds")
	var ws []admem.EntryWrite
	add := func(kind admem.EntryKind, c string) {
		ws = append(ws, admem.EntryWrite{Entry: admem.Entry{Kind: kind, Content: c}, Index: admem.EntryIndex{Terms: lexical.Analyze(c)},
			Provenance: admem.Provenance{Source: admem.SourceRequest}})
	}
	for i := range 3000 {
		add(admem.KindProcedure, fmt.Sprintf("refund flow step %d", i))
	}
	add("fact", "the refund window is thirty days")
	add("preference", "refund to the original card")
	if _, err := db.InsertEntries(ctx, tenant, ws); err != nil {
		t.Fatal(err)
	}
	f := admem.EntryFilter{NotKinds: []admem.EntryKind{admem.KindProcedure, admem.KindMistake}}
	hits, err := db.LexicalSearch(ctx, tenant, lexical.Analyze("refund"), f, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 {
		t.Fatalf("got %d hits, want the fact and the preference: %+v", len(hits), hits)
	}
	all, err := db.LexicalSearch(ctx, tenant, lexical.Analyze("refund"), admem.EntryFilter{}, 10)
	if err != nil || len(all) != 10 {
		t.Fatalf("without the filter: %v, %d hits, want 10", err, len(all))
	}
}
