package memory_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/memory"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
)

// setup opens a private database as the application role and makes a tenant.
func setup(t *testing.T) (*store.DB, string) {
	t.Helper()
	db := testenv.DB(t).Store(t)
	return db, testenv.Tenant(t, db, "mem-test")
}

func wordVectors(t *testing.T) *embed.WordVectors {
	t.Helper()
	p := filepath.Join("..", "..", ".data", "embed", "glove-50k.bin")
	wv, err := embed.LoadWordVectors(p)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("word vectors: %v (scripts/embeddings.sh makes them)", err)
		}
		t.Skipf("word vectors: %v (scripts/embeddings.sh makes them)", err)
	}
	return wv
}

func TestEmbedderSwitchReembedsAndNeverMixesSpaces(t *testing.T) {
	t.Parallel()
	db, tenant := setup(t)
	ctx := context.Background()
	wv := wordVectors(t)
	first := embed.NewSIF(wv, embed.SIFOptions{})
	second := embed.NewSIF(wv, embed.SIFOptions{KeepComponent: true}) // another vector space
	if first.ID() == second.ID() {
		t.Fatalf("both embedders are %s", first.ID())
	}
	svc1 := memory.New(db, first, nil)
	facts := []admem.NewEntry{
		{Content: "The office cat is called Biscuit"},
		{Content: "Quarterly planning happens in the second week of March"},
		{Content: "The VPN certificate expires every ninety days"},
	}
	if _, err := svc1.WriteBatch(ctx, tenant, facts, admem.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A client-supplied vector lives in its own space and is never re-embedded.
	if _, err := svc1.Write(ctx, tenant, admem.NewEntry{Content: "client vector", Vector: []float32{1, 0}, VectorSpace: "mine"}, admem.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	svc1.Wait()
	if n, err := svc1.IndexPending(ctx, tenant); err != nil || n != 0 {
		t.Fatalf("after the background run: %d pending, %v", n, err)
	}
	vsearch := func(svc *memory.Service, q string) []admem.SearchHit {
		t.Helper()
		hits, err := svc.Search(ctx, tenant, admem.SearchQuery{Text: q, Mode: admem.SearchVector, Explain: true})
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	if hits := vsearch(svc1, "kitten name"); len(hits) != 3 || !strings.Contains(hits[0].Entry.Content, "cat") || hits[0].Explain.Embedder != first.ID() {
		t.Fatalf("first space: %+v", hits)
	}

	// The deployment switches embedder: until re-embedded, vector search
	// in the new space sees nothing (it never compares across spaces) while
	// lexical search still works.
	svc2 := memory.New(db, second, nil)
	if hits := vsearch(svc2, "kitten name"); len(hits) != 0 {
		t.Fatalf("new space before re-embedding: %+v", hits)
	}
	if hits, err := svc2.Search(ctx, tenant, admem.SearchQuery{Text: "VPN certificate"}); err != nil || len(hits) == 0 {
		t.Fatalf("lexical during the switch: %v %+v", err, hits)
	}
	n, err := svc2.Reembed(ctx)
	if err != nil || n != 3 {
		t.Fatalf("re-embed: %d entries, %v; want 3", n, err)
	}
	hits := vsearch(svc2, "kitten name")
	if len(hits) != 3 || !strings.Contains(hits[0].Entry.Content, "cat") || hits[0].Explain.Embedder != second.ID() {
		t.Fatalf("second space: %+v", hits)
	}
	if n, err := svc2.Reembed(ctx); err != nil || n != 0 {
		t.Fatalf("second re-embed: %d, %v", n, err)
	}
	// The old space is gone: searching it finds nothing rather than stale vectors.
	if hits := vsearch(svc1, "kitten name"); len(hits) != 0 {
		t.Fatalf("old space after the switch: %+v", hits)
	}
	if hits, err := svc2.Search(ctx, tenant, admem.SearchQuery{Vector: []float32{1, 0.1}, VectorSpace: "mine", Mode: admem.SearchVector}); err != nil || len(hits) != 1 {
		t.Fatalf("client space after re-embedding: %v %+v", err, hits)
	}
}

// The learner writes mistake notes and procedures through the service with
// worker provenance and reads them back by kind and key.
func TestWorkerWritesByKey(t *testing.T) {
	t.Parallel()
	db, tenant := setup(t)
	ctx := context.Background()
	svc := memory.New(db, nil, nil)
	prov := admem.Provenance{Source: admem.SourceWorker, SourceID: "traj-1"}
	note := admem.NewEntry{Kind: admem.KindMistake, Key: "mistake:cluster-9", Content: "When booking, calling book_flight before search_flights fails with 'unknown fare'; search first.",
		Scope: admem.Scope{AgentID: "travel-bot"}, Provenance: prov}
	r1, err := svc.Write(ctx, tenant, note, admem.WriteOptions{Infer: true})
	if err != nil || r1.Op != admem.OpAdd {
		t.Fatalf("first note: %v %+v", err, r1)
	}
	if r, err := svc.Write(ctx, tenant, note, admem.WriteOptions{Infer: true}); err != nil || r.Op != admem.OpNoop || r.Entry.ID != r1.Entry.ID {
		t.Fatalf("same note again: %v %+v", err, r)
	}
	note.Content = "When booking, calling book_flight before search_flights fails with 'unknown fare' (seen 4 times); search first."
	note.Provenance.SourceID = "traj-2"
	r2, err := svc.Write(ctx, tenant, note, admem.WriteOptions{Infer: true})
	if err != nil || r2.Op != admem.OpUpdate || r2.Entry.ID != r1.Entry.ID || r2.Entry.Version != 2 {
		t.Fatalf("refreshed note: %v %+v", err, r2)
	}
	got, err := svc.FindByKey(ctx, tenant, admem.KindMistake, "mistake:cluster-9", admem.Scope{AgentID: "travel-bot"})
	if err != nil || got.ID != r1.Entry.ID || got.Content != note.Content {
		t.Fatalf("find by key: %v %+v", err, got)
	}
	if _, err := svc.FindByKey(ctx, tenant, admem.KindMistake, "mistake:cluster-9", admem.Scope{}); err == nil {
		t.Fatal("found by key in another scope")
	}
	// The same key in another scope is another subject.
	other := note
	other.Scope = admem.Scope{}
	if r, err := svc.Write(ctx, tenant, other, admem.WriteOptions{Infer: true}); err != nil || r.Op != admem.OpAdd || r.Entry.ID == r1.Entry.ID {
		t.Fatalf("same key, unscoped: %v %+v", err, r)
	}
	vs, _, err := svc.Versions(ctx, tenant, r1.Entry.ID, admem.Page{})
	if err != nil || len(vs) != 2 || vs[0].Provenance.Source != admem.SourceWorker || vs[0].Provenance.SourceID != "traj-2" || vs[1].Provenance.SourceID != "traj-1" {
		t.Fatalf("versions: %v %+v", err, vs)
	}
	es, _, err := svc.List(ctx, tenant, admem.EntryFilter{Kinds: []admem.EntryKind{admem.KindMistake}, AgentID: "travel-bot"}, admem.Page{})
	if err != nil || len(es) != 1 {
		t.Fatalf("list by kind: %v %+v", err, es)
	}
}

// BM25 statistics follow every write: searches rank by the live collection.
func TestLexicalStatisticsFollowWrites(t *testing.T) {
	t.Parallel()
	db, tenant := setup(t)
	ctx := context.Background()
	svc := memory.New(db, nil, nil)
	var ids []string
	for _, c := range []string{"alpha beta", "alpha gamma", "alpha delta", "beta epsilon"} {
		r, err := svc.Write(ctx, tenant, admem.NewEntry{Content: c}, admem.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Entry.ID)
	}
	top := func(q string) string {
		t.Helper()
		hits, err := svc.Search(ctx, tenant, admem.SearchQuery{Text: q, Mode: admem.SearchLexical, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 {
			return ""
		}
		return hits[0].Entry.Content
	}
	// "epsilon" is rarer than "alpha": the entry holding it ranks first.
	if got := top("alpha epsilon"); got != "beta epsilon" {
		t.Fatalf("top for 'alpha epsilon': %q", got)
	}
	// Deleting and updating change the statistics; forgetting too.
	if _, err := svc.Delete(ctx, tenant, ids[3], admem.Provenance{}); err != nil {
		t.Fatal(err)
	}
	if got := top("epsilon"); got != "" {
		t.Fatalf("deleted entry still ranks: %q", got)
	}
	c := "zeta eta"
	if _, err := svc.Update(ctx, tenant, ids[0], admem.EntryUpdate{Content: &c}); err != nil {
		t.Fatal(err)
	}
	if got := top("beta"); got != "" {
		t.Fatalf("old content still ranks: %q", got)
	}
	if got := top("zeta"); got != "zeta eta" {
		t.Fatalf("new content: %q", got)
	}
}
