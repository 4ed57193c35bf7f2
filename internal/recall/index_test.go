package recall

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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

// learnedFixture is a tenant with n learned items written straight into
// the database (the owner's connection: seeding 10k items through the
// learner would dominate a benchmark's setup).
type learnedFixture struct {
	db     *store.DB
	owner  *pgx.Conn
	tenant string
	other  string
	svc    *Service
	p      admem.Principal
	rng    *rand.Rand
}

var benchWords = func() []string {
	r := rand.New(rand.NewPCG(7, 7))
	w := make([]string, 3000)
	for i := range w {
		var b strings.Builder
		for j := 0; j < 4+r.IntN(6); j++ {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		w[i] = b.String()
	}
	return w
}()

func (f *learnedFixture) text(n int) string {
	out := make([]string, n)
	for i := range out {
		// Zipf-like: a few words are common, most are rare.
		out[i] = benchWords[int(math.Pow(f.rng.Float64(), 3)*float64(len(benchWords)))]
	}
	return strings.Join(out, " ")
}

func newLearnedFixture(tb testing.TB, n int) *learnedFixture {
	tb.Helper()
	pg := testenv.DB(tb)
	db := pg.Store(tb)
	ctx := context.Background()
	f := &learnedFixture{db: db, tenant: testenv.Tenant(tb, db, "learned-a"), other: testenv.Tenant(tb, db, "learned-b"),
		rng: rand.New(rand.NewPCG(1, 2))}
	var err error
	if f.owner, err = pgx.Connect(ctx, pg.OwnerURL); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.owner.Close(context.Background()) })
	f.insert(tb, f.tenant, n)
	f.insert(tb, f.other, 50)
	f.svc = New(db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.p = admem.Principal{TenantID: f.tenant, Scopes: []admem.KeyScope{admem.ScopeWrite}}
	return f
}

func (f *learnedFixture) insert(tb testing.TB, tenant string, n int) {
	tb.Helper()
	keys, contents, search := make([]string, n), make([]string, n), make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%06d", i)
		contents[i], search[i] = f.text(25), f.text(8)
	}
	if _, err := f.owner.Exec(context.Background(), `INSERT INTO learned_items (tenant_id, kind, key, state, content, search_text)
		SELECT $1, 'procedure', k, '{}', c, s FROM unnest($2::text[], $3::text[], $4::text[]) AS u (k, c, s)`,
		tenant, keys, contents, search); err != nil {
		tb.Fatal(err)
	}
}

func (f *learnedFixture) exec(tb testing.TB, sql string, args ...any) {
	tb.Helper()
	if _, err := f.owner.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatal(err)
	}
}

func (f *learnedFixture) recall(tb testing.TB, task string) Result {
	tb.Helper()
	res, err := f.svc.Recall(context.Background(), f.p, Query{Task: task, Kinds: []admem.EntryKind{admem.KindProcedure}})
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// TestLearnedIndexCatchesUp changes, retires and adds items between
// recalls and checks that the cached index, caught up from the changes
// alone, ranks exactly as an index built afresh from the active items, and
// that counters changed by feedback reach the scores without a change of
// the index.
func TestLearnedIndexCatchesUp(t *testing.T) {
	t.Parallel()
	f := newLearnedFixture(t, 300)
	ctx := context.Background()
	f.recall(t, f.text(6))
	ti := f.svc.cache[f.tenant]
	built := ti.ix
	f.exec(t, `UPDATE learned_items SET content = content || ' zzqx' WHERE tenant_id = $1 AND key IN ('k000001', 'k000002')`, f.tenant)
	f.exec(t, `UPDATE learned_items SET status = 'retired' WHERE tenant_id = $1 AND key IN ('k000003', 'k000004', 'k000005')`, f.tenant)
	f.exec(t, `INSERT INTO learned_items (tenant_id, kind, key, state, content, search_text) VALUES ($1, 'procedure', 'new', '{}', 'zzqx brand new', '')`, f.tenant)
	f.exec(t, `UPDATE learned_items SET content = 'zzqx elsewhere' WHERE tenant_id = $1`, f.other)
	res := f.recall(t, "zzqx")
	if ti != f.svc.cache[f.tenant] || ti.ix != built {
		t.Fatal("the index was rebuilt, not caught up")
	}
	if len(res.Items) != 3 {
		t.Fatalf("zzqx: %d items, want the 2 changed and the new one: %+v", len(res.Items), res.Items)
	}
	for _, it := range res.Items {
		if !strings.Contains(it.Content, "zzqx") || strings.Contains(it.Content, "elsewhere") {
			t.Errorf("item %q", it.Content)
		}
	}
	ch, err := f.db.LearnedChanges(ctx, f.tenant, 0, MaxLearnedItems)
	if err != nil {
		t.Fatal(err)
	}
	fresh := lexical.NewIndex(nil, lexical.BM25Params{})
	for _, it := range ch.Items {
		if err := fresh.Add(it.ID, it.SearchText+" "+it.Content); err != nil {
			t.Fatal(err)
		}
	}
	if ti.ix.Len() != fresh.Len() || len(ti.items) != len(ch.Items) || ti.version != ch.Version.Version {
		t.Fatalf("cached %d docs %d items v%d, fresh %d docs v%d", ti.ix.Len(), len(ti.items), ti.version, fresh.Len(), ch.Version.Version)
	}
	for range 20 {
		q := f.text(5)
		got, want := ti.ix.Search(q, 0), fresh.Search(q, 0)
		if len(got) != len(want) {
			t.Fatalf("%q: %d hits, fresh %d", q, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || math.Abs(got[i].Score-want[i].Score) > 1e-9 {
				t.Fatalf("%q hit %d: %v, fresh %v", q, i, got[i], want[i])
			}
		}
	}

	// Counters change the ranking at once, and are no change of the items.
	v := ti.version
	f.exec(t, `UPDATE learned_items SET uses = 10, successes = 0 WHERE tenant_id = $1 AND key IN ('k000001', 'new')`, f.tenant)
	res = f.recall(t, "zzqx")
	if ti.version != v || len(res.Items) != 3 || res.Items[0].Key != "k000002" {
		t.Fatalf("after feedback: v%d (was %d), %+v", ti.version, v, res.Items)
	}

	// The other tenant's copy holds only its own items.
	other := admem.Principal{TenantID: f.other, Scopes: []admem.KeyScope{admem.ScopeRead}}
	res, err = f.svc.Recall(ctx, other, Query{Task: "zzqx", Kinds: []admem.EntryKind{admem.KindProcedure}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) == 0 {
		t.Fatal("other tenant: nothing recalled")
	}
	for _, it := range res.Items {
		if it.Content != "zzqx elsewhere" {
			t.Fatalf("other tenant recalled %q", it.Content)
		}
	}
}

// BenchmarkRecall recalls from a tenant with 10k learned items: unchanged
// between recalls, after feedback changed one item's counters, and after
// the learner changed one item.
func BenchmarkRecall(b *testing.B) {
	f := newLearnedFixture(b, 10000)
	f.recall(b, "warm up")
	cases := []struct {
		name   string
		before string // run (untimed) before each recall
	}{
		{"unchanged", ""},
		{"after_feedback", `UPDATE learned_items SET uses = uses + 1, successes = successes + 1 WHERE tenant_id = $1 AND key = $2`},
		{"after_learn", `UPDATE learned_items SET content = content || ' x', updated_at = now() WHERE tenant_id = $1 AND key = $2`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			tasks := make([]string, 64)
			for i := range tasks {
				tasks[i] = f.text(12)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if c.before != "" {
					b.StopTimer()
					f.exec(b, c.before, f.tenant, fmt.Sprintf("k%06d", i%10000))
					b.StartTimer()
				}
				f.recall(b, tasks[i%len(tasks)])
			}
		})
	}
}
