package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/lexical"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// The entry tables have no foreign key to tenants (migration 000005): a
// deleted tenant's entries, versions, vectors, queue rows and term
// statistics go with it (its trigger), other tenants' stay, and a later
// write for it fails as not found instead of leaving orphans.
func TestDeletedTenantTakesItsEntriesAndRefusesWrites(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	ctx := context.Background()
	db := pg.Store(t)
	a, b := testenv.Tenant(t, db, "gone"), testenv.Tenant(t, db, "stays")
	write := func(tenant, content string, vec []float32) (admem.Entry, error) {
		w := admem.EntryWrite{Entry: admem.Entry{Kind: "fact", Content: content}, Index: admem.EntryIndex{Terms: lexical.Analyze(content)},
			Provenance: admem.Provenance{Source: admem.SourceRequest}}
		if vec != nil {
			w.Index.Vector, w.Index.Embedder = vec, "client:test"
		}
		es, err := db.InsertEntries(ctx, tenant, []admem.EntryWrite{w})
		if err != nil {
			return admem.Entry{}, err
		}
		return es[0], nil
	}
	for _, tenant := range []string{a, b} {
		if _, err := write(tenant, "the user lives in Lisbon", []float32{1, 0, 0}); err != nil {
			t.Fatal(err)
		}
		e, err := write(tenant, "the user prefers the aisle seat", nil) // queued for the embedder
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReviseEntry(ctx, tenant, e.ID, func(cur admem.Entry) (admem.EntryRevision, error) {
			cur.Content = "the user prefers the window seat"
			return admem.EntryRevision{Entry: cur, Index: admem.EntryIndex{Terms: lexical.Analyze(cur.Content)}, Op: admem.OpUpdate,
				Provenance: admem.Provenance{Source: admem.SourceRequest}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	counts := func(tenant string) map[string]int {
		out := map[string]int{}
		for _, table := range []string{"entries", "entry_versions", "entry_vectors", "entry_embed_queue", "entry_terms"} {
			var n int
			if err := owner.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, tenant).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[table] = n
		}
		return out
	}
	before := counts(b)
	for table, n := range counts(a) {
		if n == 0 {
			t.Fatalf("set-up wrote no %s row", table)
		}
	}
	if _, err := owner.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, a); err != nil {
		t.Fatal(err)
	}
	for table, n := range counts(a) {
		if n != 0 {
			t.Errorf("%d %s rows of the deleted tenant are left", n, table)
		}
	}
	for table, n := range counts(b) {
		if n != before[table] {
			t.Errorf("the other tenant's %s rows went from %d to %d", table, before[table], n)
		}
	}
	if _, err := write(a, "a write after the tenant was deleted", nil); !errors.Is(err, admem.ErrNotFound) {
		t.Fatalf("write for a deleted tenant: %v, want not found", err)
	}
	if n := counts(a)["entries"]; n != 0 {
		t.Fatalf("the refused write left %d entries", n)
	}
}
