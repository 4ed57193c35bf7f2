package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/memory"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
)

// judgedRun is what a run of judged writes decided, with entries named by
// the write that created them ("base3", "new7") so that two tenants' runs
// compare.
type judgedRun struct {
	ops     []string // per write: op, reason and the entry it left
	entries map[string]string
}

func runJudged(t *testing.T, db *store.DB, emb embed.Embedder, base, writes []admem.NewEntry, batch bool) judgedRun {
	t.Helper()
	ctx := context.Background()
	tenant := testenv.Tenant(t, db, fmt.Sprintf("judged-eq-%v", batch))
	svc := memory.New(db, emb, nil)
	names := map[string]string{}
	res, err := svc.WriteBatch(ctx, tenant, base, admem.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		names[r.Entry.ID] = fmt.Sprintf("base%d", i)
	}
	svc.Wait()
	if _, err := svc.IndexPending(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	o := admem.WriteOptions{Infer: true, Explain: true}
	if batch {
		if res, err = svc.WriteBatch(ctx, tenant, writes, o); err != nil {
			t.Fatal(err)
		}
	} else {
		res = nil
		for _, w := range writes {
			r, err := svc.Write(ctx, tenant, w, o)
			if err != nil {
				t.Fatal(err)
			}
			res = append(res, r)
		}
	}
	svc.Wait()
	run := judgedRun{entries: map[string]string{}}
	for i, r := range res {
		if r.Op == admem.OpAdd {
			names[r.Entry.ID] = fmt.Sprintf("new%d", i)
		}
		run.ops = append(run.ops, fmt.Sprintf("%s %q → %s v%d seen %d", r.Op, r.Decision.Reason, names[r.Entry.ID], r.Entry.Version, r.Entry.SeenCount))
	}
	var es []admem.Entry
	for cursor := ""; ; {
		page, next, err := svc.List(ctx, tenant, admem.EntryFilter{Status: "any"}, admem.Page{Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, page...)
		if cursor = next; cursor == "" {
			break
		}
	}
	for _, e := range es {
		vs, _, err := svc.Versions(ctx, tenant, e.ID, admem.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		hist := ""
		for _, v := range vs {
			hist += fmt.Sprintf(" [%d %s %q %q]", v.Version, v.Operation, v.Key, v.Content)
		}
		run.entries[names[e.ID]] = fmt.Sprintf("%s key %q %q v%d seen %d tags %v status %s;%s", e.Kind, e.Key, e.Content, e.Version, e.SeenCount, e.Tags, e.Status, hist)
	}
	return run
}

func compareRuns(t *testing.T, writes []admem.NewEntry, one, batch judgedRun) {
	t.Helper()
	for i := range one.ops {
		if one.ops[i] != batch.ops[i] {
			t.Errorf("write %d %q: one by one %s, in a batch %s", i, writes[i].Content, one.ops[i], batch.ops[i])
		}
	}
	if len(one.entries) != len(batch.entries) {
		t.Errorf("one by one left %d entries, the batch %d", len(one.entries), len(batch.entries))
	}
	for name, e := range one.entries {
		if batch.entries[name] != e {
			t.Errorf("%s: one by one %s\n\tin a batch %s", name, e, batch.entries[name])
		}
	}
}

// TestJudgedBatchDecidesAsOneByOne: a judged batch makes the decisions, and
// leaves the entries and versions, that writing its entries one at a time
// does, including entries that repeat, update or contradict earlier entries
// of the same batch and repeated keys.
func TestJudgedBatchDecidesAsOneByOne(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t).Store(t)
	emb := embed.NewSIF(loadWordVectors(t), embed.SIFOptions{})
	alice := admem.Scope{AgentID: "assistant", UserID: "alice"}
	bob := admem.Scope{AgentID: "assistant", UserID: "bob"}
	base := []admem.NewEntry{
		{Content: "Alice lives in Berlin", Scope: alice},
		{Content: "Alice prefers dark mode in every editor", Scope: alice},
		{Content: "The billing deployment runs every Friday at 3pm", Scope: alice},
		{Content: "Alice likes spicy food", Scope: alice},
		{Kind: "preference", Key: "user.language", Content: "Answer Alice in German", Scope: alice},
		{Content: "Bob works at Initech as a data engineer", Scope: bob},
		{Content: "Bob's sister lives in Lisbon", Scope: bob},
	}
	writes := []admem.NewEntry{
		{Content: "Alice lives in Berlin", Scope: alice},                               // NOOP of a stored entry
		{Content: "Alice moved to Lisbon and lives in Lisbon now", Scope: alice},       // attribute change of it
		{Content: "Alice lives in Lisbon", Scope: alice},                               // relates to the batch's update
		{Content: "Alice does not like spicy food", Scope: alice, Tags: []string{"x"}}, // negation flip
		{Content: "The billing deployment runs every Friday at 5pm", Scope: alice},     // number changed
		{Content: "The billing deployment runs every Friday at 5pm", Scope: alice},     // repeat within the batch
		{Content: "Alice keeps a paper notebook for meeting notes", Scope: alice},      // new
		{Content: "Alice keeps a paper notebook for meeting notes", Scope: alice},      // its repeat
		{Content: "Alice keeps a small paper notebook for all meeting notes", Scope: alice},
		{Kind: "preference", Key: "user.language", Content: "Answer Alice in Spanish", Scope: alice}, // key update
		{Kind: "preference", Key: "user.language", Content: "Answer Alice in French", Scope: alice},  // again
		{Kind: "preference", Key: "user.language", Content: "Answer Alice in French", Scope: alice},  // same key, same content
		{Kind: "preference", Key: "user.timezone", Content: "Alice is in Europe/Berlin", Scope: alice},
		{Kind: "preference", Key: "user.timezone", Content: "Alice is in Europe/Lisbon", Scope: alice}, // key added and updated in the batch
		{Content: "Bob works at Initech as a data engineer", Scope: bob},
		{Content: "Bob works at Hooli as a data engineer", Scope: bob},
		{Content: "Bob's sister lives in Lisbon", Scope: alice}, // another user: not bob's entry
		{Content: "Alice prefers light mode in every editor", Scope: alice},
		{Content: "Alice likes spicy food", Scope: alice}, // flips back the batch's own update
	}
	one := runJudged(t, db, emb, base, writes, false)
	batch := runJudged(t, db, emb, base, writes, true)
	compareRuns(t, writes, one, batch)
	if t.Failed() {
		return
	}
	// The cases above exercise what they claim.
	ops := map[string]int{}
	for _, o := range one.ops {
		ops[o[:4]]++
	}
	if ops["NOOP"] < 4 || ops["UPDA"] < 6 || ops["ADD "] < 3 {
		t.Fatalf("the cases do not cover the decisions: %v\n%v", ops, one.ops)
	}
}

// TestJudgedBatchDecidesAsOneByOneGenerated is the same comparison on a
// generated mix: a tenant of 600 entries and a batch of 150 writes of new
// facts, near-duplicates, contradictions, keyed settings and repeats of the
// batch's own entries.
func TestJudgedBatchDecidesAsOneByOneGenerated(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t).Store(t)
	emb := embed.NewSIF(loadWordVectors(t), embed.SIFOptions{})
	g := factGen{rng: rand.New(rand.NewPCG(7, 8))}
	base := make([]admem.NewEntry, 600)
	for i := range base {
		base[i] = g.fact()
		base[i].Scope.UserID = "u" + fmt.Sprint(i%10) // a few users with many entries each
	}
	writes := g.judgedBatch(base, 150)
	one := runJudged(t, db, emb, base, writes, false)
	batch := runJudged(t, db, emb, base, writes, true)
	// Entries that score exactly alike (the same number of shared terms of
	// equal document frequency, the same length) are ordered by their random
	// ids in both paths, so where the judge's verdicts on them also tie, two
	// runs of either path may pick different ones (1 write in 150 here, seen
	// flip between runs of the one-by-one path itself). Every decision but
	// such a tie must agree.
	same := 0
	for i := range one.ops {
		if one.ops[i] == batch.ops[i] {
			same++
		} else {
			t.Logf("write %d %q: one by one %s, in a batch %s", i, writes[i].Content, one.ops[i], batch.ops[i])
		}
	}
	if same < len(one.ops)-2 {
		t.Fatalf("%d of %d decisions differ", len(one.ops)-same, len(one.ops))
	}
	ops := map[string]int{}
	for _, o := range batch.ops {
		ops[o[:4]]++
	}
	if ops["NOOP"] < 20 || ops["UPDA"] < 20 || ops["ADD "] < 20 {
		t.Fatalf("the mix does not cover the decisions: %v", ops)
	}
}
