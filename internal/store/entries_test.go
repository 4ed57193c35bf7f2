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
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// TestLexicalSearchIsBM25 checks the Postgres ranker against the in-memory
// BM25 index on a Zipf corpus: same top scores, in the same order, with the
// candidate pruning active (most queries hold common terms).
func TestLexicalSearchIsBM25(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	var tenant string
	if err := owner.QueryRow(ctx, `INSERT INTO tenants (name) VALUES ('bm25') RETURNING id`).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, pg.AppURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

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
