package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/memory"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
)

// factGen makes realistic memory statements: preferences, where people
// live and work, schedules and numbers, keyed settings, and free-form notes
// about projects, over a vocabulary wide enough that a large tenant has
// mostly distinct entries.
type factGen struct {
	rng *rand.Rand
}

var (
	genNames    = []string{"Alice", "Bruno", "Chen", "Dana", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jonas", "Kemal", "Lena", "Marco", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Sami", "Tomas", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe"}
	genCities   = []string{"Berlin", "Lisbon", "Toronto", "Osaka", "Nairobi", "Denver", "Madrid", "Oslo", "Austin", "Dublin", "Seoul", "Lyon", "Porto", "Zurich", "Chicago", "Helsinki", "Prague", "Sydney", "Bogota", "Vienna"}
	genCompany  = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Cyberdyne", "Soylent", "Tyrell", "Vandelay", "Wonka"}
	genRoles    = []string{"data engineer", "product manager", "designer", "nurse", "teacher", "accountant", "chef", "lawyer", "pilot", "architect"}
	genThings   = []string{"dark mode", "green tea", "espresso", "window seats", "vegetarian meals", "email summaries", "morning meetings", "jazz", "hiking", "short answers", "metric units", "spicy food", "audiobooks", "standing desks", "bullet points", "python", "typescript", "video calls", "weekly reports", "paper notebooks"}
	genProjects = []string{"billing", "search", "onboarding", "payments", "analytics", "mobile", "checkout", "inventory", "reporting", "identity", "messaging", "scheduler", "gateway", "ledger", "catalog"}
	genNouns    = []string{"deployment", "backup", "migration", "release", "review", "audit", "standup", "retrospective", "incident", "rollout", "benchmark", "upgrade", "training", "budget", "roadmap", "contract", "invoice", "survey", "workshop", "demo"}
	genDays     = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	genLangs    = []string{"English", "Spanish", "German", "French", "Japanese", "Portuguese", "Turkish", "Korean"}
	genAdj      = []string{"flaky", "slow", "urgent", "blocked", "stable", "expensive", "delayed", "critical", "optional", "manual", "automated", "quarterly", "nightly", "monthly"}
	genVerbs    = []string{"owns", "reviews", "approves", "maintains", "schedules", "monitors", "documents", "tests", "presents", "budgets"}
)

func (g factGen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

func (g factGen) user() string { return "u" + strconv.Itoa(g.rng.IntN(200)) }

// fact returns a new statement with its scope.
func (g factGen) fact() admem.NewEntry {
	sc := admem.Scope{AgentID: "assistant", UserID: g.user()}
	var c string
	switch g.rng.IntN(8) {
	case 0:
		c = fmt.Sprintf("%s prefers %s", g.pick(genNames), g.pick(genThings))
	case 1:
		c = fmt.Sprintf("%s lives in %s", g.pick(genNames), g.pick(genCities))
	case 2:
		c = fmt.Sprintf("%s works at %s as a %s", g.pick(genNames), g.pick(genCompany), g.pick(genRoles))
	case 3:
		c = fmt.Sprintf("The %s %s runs every %s at %dpm", g.pick(genProjects), g.pick(genNouns), g.pick(genDays), 1+g.rng.IntN(11))
	case 4:
		c = fmt.Sprintf("The %s team has %d open tickets about the %s %s", g.pick(genProjects), 2+g.rng.IntN(90), g.pick(genAdj), g.pick(genNouns))
	case 5:
		c = fmt.Sprintf("%s %s the %s %s for the %s service", g.pick(genNames), g.pick(genVerbs), g.pick(genAdj), g.pick(genNouns), g.pick(genProjects))
	case 6:
		c = fmt.Sprintf("%s's sister %s is visiting %s in %s", g.pick(genNames), g.pick(genNames), g.pick(genCities), g.pick(genDays))
	default:
		c = fmt.Sprintf("The %s %s for %s is %s because the %s %s is %s", g.pick(genAdj), g.pick(genNouns), g.pick(genProjects),
			g.pick(genAdj), g.pick(genProjects), g.pick(genNouns), g.pick(genAdj))
	}
	return admem.NewEntry{Content: c, Scope: sc, Tags: []string{"gen"}}
}

// keyed returns a keyed setting of one of a few users.
func (g factGen) keyed() admem.NewEntry {
	u := "u" + strconv.Itoa(g.rng.IntN(20))
	return admem.NewEntry{Kind: "preference", Key: "user.language", Scope: admem.Scope{AgentID: "assistant", UserID: u},
		Content: fmt.Sprintf("%s prefers answers in %s", u, g.pick(genLangs))}
}

// variant returns a near-duplicate or a contradiction of e: the same
// statement, a reworded one, a negated one, or one with a changed value.
func (g factGen) variant(e admem.NewEntry) admem.NewEntry {
	out := e
	out.Tags = nil
	switch g.rng.IntN(5) {
	case 0: // verbatim repeat
	case 1:
		out.Content = "Note: " + e.Content + "."
	case 2:
		out.Content = e.Content + " now"
	case 3:
		out.Content = "It is not true that " + e.Content
	default:
		out.Content = e.Content + " and " + g.pick(genCities)
	}
	return out
}

// judgedBatch makes a batch of n judged writes against the prefilled
// entries: about 40 % new facts, 30 % near-duplicates or contradictions of
// existing entries, 15 % keyed settings and 15 % repeats or variants of
// earlier entries of the same batch.
func (g factGen) judgedBatch(existing []admem.NewEntry, n int) []admem.NewEntry {
	out := make([]admem.NewEntry, 0, n)
	for len(out) < n {
		switch r := g.rng.IntN(100); {
		case r < 40:
			out = append(out, g.fact())
		case r < 70:
			out = append(out, g.variant(existing[g.rng.IntN(len(existing))]))
		case r < 85:
			out = append(out, g.keyed())
		default:
			if len(out) == 0 {
				continue
			}
			out = append(out, g.variant(out[g.rng.IntN(len(out))]))
		}
	}
	return out
}

func loadWordVectors(tb testing.TB) *embed.WordVectors {
	tb.Helper()
	wv, err := embed.LoadWordVectors(filepath.Join("..", "..", ".data", "embed", "glove-50k.bin"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("word vectors: %v (scripts/embeddings.sh makes them)", err)
		}
		tb.Skipf("word vectors: %v (scripts/embeddings.sh makes them)", err)
	}
	return wv
}

var judgedBench struct {
	once     sync.Once
	db       *store.DB
	tenant   string
	emb      embed.Embedder
	existing []admem.NewEntry
	err      error
}

// BenchmarkJudgedBatch writes judged batches of 100 (infer=true) into a
// tenant prefilled with ADMEM_BENCH_JUDGED_PREFILL (default 30,000) entries
// written with infer=false and embedded. It reports entries/s.
func BenchmarkJudgedBatch(b *testing.B) {
	prefill := 30000
	if v, err := strconv.Atoi(os.Getenv("ADMEM_BENCH_JUDGED_PREFILL")); err == nil && v > 0 {
		prefill = v
	}
	ctx := context.Background()
	jb := &judgedBench
	jb.once.Do(func() {
		pg := testenv.DB(b)
		jb.db = pg.Store(b)
		defer func() {
			if f := os.Getenv("ADMEM_BENCH_JUDGED_HOLD"); f != "" { // profiling aid: keep the database until f exists
				fmt.Fprintf(os.Stderr, "database %s tenant %s\n", pg.Name, jb.tenant)
				for _, err := os.Stat(f); err != nil; _, err = os.Stat(f) {
					time.Sleep(time.Second)
				}
			}
		}()
		jb.tenant = testenv.Tenant(b, jb.db, "judged-bench")
		jb.emb = embed.NewSIF(loadWordVectors(b), embed.SIFOptions{})
		svc := memory.New(jb.db, jb.emb, nil)
		g := factGen{rng: rand.New(rand.NewPCG(1, 2))}
		for len(jb.existing) < prefill {
			batch := make([]admem.NewEntry, 0, 1000)
			for range min(1000, prefill-len(jb.existing)) {
				batch = append(batch, g.fact())
			}
			if _, err := svc.WriteBatch(ctx, jb.tenant, batch, admem.WriteOptions{}); err != nil {
				jb.err = err
				return
			}
			jb.existing = append(jb.existing, batch...)
		}
		svc.Wait()
		_, jb.err = svc.IndexPending(ctx, jb.tenant)
	})
	if jb.err != nil {
		b.Fatal(jb.err)
	}
	var st memory.Store = jb.db
	ts := &timedStore{Store: jb.db, d: map[string]time.Duration{}, n: map[string]int{}}
	if os.Getenv("ADMEM_BENCH_JUDGED_PROFILE") != "" {
		st = ts
	}
	svc := memory.New(st, jb.emb, nil)
	g := factGen{rng: rand.New(rand.NewPCG(3, uint64(b.N)))}
	const size = 100
	ops := map[admem.WriteOp]int{}
	n := 0
	for b.Loop() {
		b.StopTimer()
		batch := g.judgedBatch(jb.existing, size)
		b.StartTimer()
		res, err := svc.WriteBatch(ctx, jb.tenant, batch, admem.WriteOptions{Infer: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			ops[r.Op]++
		}
		n += size
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(0, "ns/op")
	b.Logf("decisions: %v", ops)
	for k, d := range ts.d {
		b.Logf("%s: %d calls, %.2f ms each, %.1f%% of the time", k, ts.n[k], float64(d.Microseconds())/1000/float64(ts.n[k]), 100*d.Seconds()/b.Elapsed().Seconds())
	}
	svc.Wait()
}

// timedStore times the store calls of the judged path (profiling aid).
type timedStore struct {
	memory.Store
	mu sync.Mutex
	d  map[string]time.Duration
	n  map[string]int
}

func (t *timedStore) add(name string, start time.Time) {
	t.mu.Lock()
	t.d[name] += time.Since(start)
	t.n[name]++
	t.mu.Unlock()
}

func (t *timedStore) JudgeCandidates(ctx context.Context, tenantID string, kind admem.EntryKind, scope admem.Scope, key string, terms []string, embedder string, limit int) ([]admem.JudgeCandidate, error) {
	defer t.add("candidates", time.Now())
	return t.Store.JudgeCandidates(ctx, tenantID, kind, scope, key, terms, embedder, limit)
}

func (t *timedStore) InsertEntries(ctx context.Context, tenantID string, ws []admem.EntryWrite) ([]admem.Entry, error) {
	defer t.add("insert", time.Now())
	return t.Store.InsertEntries(ctx, tenantID, ws)
}

func (t *timedStore) ReviseEntry(ctx context.Context, tenantID, id string, revise func(cur admem.Entry) (admem.EntryRevision, error)) (admem.Entry, error) {
	defer t.add("revise", time.Now())
	return t.Store.ReviseEntry(ctx, tenantID, id, revise)
}

func (t *timedStore) TouchEntry(ctx context.Context, tenantID, id string) (admem.Entry, error) {
	defer t.add("touch", time.Now())
	return t.Store.TouchEntry(ctx, tenantID, id)
}

func (t *timedStore) JudgeCandidatesBatch(ctx context.Context, tenantID string, reqs []store.JudgeRequest, limit int) ([]store.JudgeCandidateSet, store.JudgeStats, error) {
	defer t.add("candidates batch", time.Now())
	return t.Store.JudgeCandidatesBatch(ctx, tenantID, reqs, limit)
}

func (t *timedStore) ApplyBatch(ctx context.Context, tenantID string, ops []store.BatchWrite) ([]admem.Entry, error) {
	defer t.add("apply batch", time.Now())
	return t.Store.ApplyBatch(ctx, tenantID, ops)
}
