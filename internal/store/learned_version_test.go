package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// TestLearnedVersion proves the O(1) stamp of migration 000012: a change of
// an item's content or status moves its tenant's version (and only its
// tenant's), a change of its counters does not, LearnedChanges returns
// exactly the items changed since a version, and a deletion forces a full
// read.
func TestLearnedVersion(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	db := pg.Store(t)
	ctx := context.Background()
	a, b := testenv.Tenant(t, db, "ver-a"), testenv.Tenant(t, db, "ver-b")
	event := 0
	upsert := func(tenant string, keys ...string) {
		t.Helper()
		event++
		err := db.Learn(ctx, tenant, "c", fmt.Sprintf("00000000-0000-4000-8000-%012d", event), func(lt *store.LearnTx) error {
			for _, k := range keys {
				if _, err := lt.UpsertItem(admem.KindMistake, k, "test", func(*store.LearnedItem) (store.LearnedItem, bool, error) {
					return store.LearnedItem{State: []byte(`{}`), Content: fmt.Sprintf("note %s %d", k, event), SearchText: k, Count: 1}, true, nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	version := func(tenant string) store.LearnedVersion {
		t.Helper()
		v, err := db.LearnedVersion(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := version(a); v.Version != 0 {
		t.Fatalf("no items yet: %+v", v)
	}
	upsert(a, "k1", "k2", "k3")
	upsert(b, "k1")
	va := version(a)
	if va.Version != 3 || version(b).Version != 1 {
		t.Fatalf("after inserts: a %+v b %+v", va, version(b))
	}
	full, err := db.LearnedChanges(ctx, a, 0, 100)
	if err != nil || !full.Full || len(full.Items) != 3 || full.Version != va {
		t.Fatalf("full read: %+v %v", full, err)
	}

	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := owner.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Feedback's counters are no change of the item.
	exec(`UPDATE learned_items SET uses = uses + 1, successes = successes + 1 WHERE tenant_id = $1`, a)
	if v := version(a); v != va {
		t.Fatalf("counters moved the version: %+v, was %+v", v, va)
	}
	upsert(a, "k2")
	exec(`UPDATE learned_items SET status = 'retired', uses = uses + 1 WHERE tenant_id = $1 AND key = 'k3'`, a)
	ch, err := db.LearnedChanges(ctx, a, va.Version, 100)
	if err != nil || ch.Full || ch.Version.Version != va.Version+2 {
		t.Fatalf("changes: %+v %v", ch, err)
	}
	got := map[string]admem.EntryStatus{}
	for _, it := range ch.Items {
		got[it.Key] = it.Status
	}
	if len(got) != 2 || got["k2"] != admem.EntryActive || got["k3"] != admem.EntryRetired {
		t.Fatalf("changed items: %v", got)
	}
	if v := version(b); v.Version != 1 {
		t.Fatalf("tenant b moved with a: %+v", v)
	}
	if ch, err := db.LearnedChanges(ctx, b, 1, 100); err != nil || ch.Full || len(ch.Items) != 0 {
		t.Fatalf("b up to date: %+v %v", ch, err)
	}
	ids := []string{full.Items[0].ID, full.Items[1].ID}
	cs, err := db.LearnedCounters(ctx, a, ids)
	if err != nil || len(cs) != 2 || cs[ids[0]].Uses < 1 {
		t.Fatalf("counters: %+v %v", cs, err)
	}
	if cs, err := db.LearnedCounters(ctx, b, ids); err != nil || len(cs) != 0 {
		t.Fatalf("b reads a's counters: %+v %v", cs, err)
	}

	// A deletion cannot be read back: a reader must start over.
	before := version(a)
	exec(`DELETE FROM learned_items WHERE tenant_id = $1 AND key = 'k1'`, a)
	v := version(a)
	if v.Reset != before.Version+1 || v.Version != v.Reset {
		t.Fatalf("after delete: %+v, was %+v", v, before)
	}
	if ch, err := db.LearnedChanges(ctx, a, before.Version, 100); err != nil || !ch.Full || len(ch.Items) != 1 {
		t.Fatalf("after delete: %+v %v", ch, err)
	}
}
