package main

// The scale benchmark: one large tenant among 100 in the same tables. It
// ingests synthetic entries through POST /v1/entries/batch (infer=false, the
// bulk path), waits for the background embedding (the HNSW index build),
// then measures hybrid search latency on the large tenant, and on small
// ones, at each size (100k, then 1M with -sizes 100000,1000000).

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/store"
	"github.com/jackc/pgx/v5"
)

// vocabulary is a Zipf-distributed word source: GloVe's words in frequency
// order (the offline embedder's file), so that synthetic entries have the
// term statistics of English text and embed to meaningful vectors.
type vocabulary struct {
	words []string
	zipf  *rand.Zipf
}

func loadVocabulary(path string, rng *rand.Rand) (*vocabulary, error) {
	wv, err := embed.LoadWordVectors(path)
	if err != nil {
		return nil, fmt.Errorf("word list for synthetic text: %w", err)
	}
	v := &vocabulary{}
	for r := 0; r < wv.Len() && len(v.words) < 30000; r++ {
		w := wv.Word(r)
		ok := len(w) > 1
		for _, c := range w {
			if !unicode.IsLetter(c) {
				ok = false
			}
		}
		if ok {
			v.words = append(v.words, w)
		}
	}
	v.zipf = rand.NewZipf(rng, 1.05, 2, uint64(len(v.words)-1))
	return v, nil
}

// withRand is the same vocabulary drawing from rng (a Zipf source is not
// safe for concurrent use: each goroutine takes its own).
func (v *vocabulary) withRand(rng *rand.Rand) *vocabulary {
	return &vocabulary{words: v.words, zipf: rand.NewZipf(rng, 1.05, 2, uint64(len(v.words)-1))}
}

func (v *vocabulary) sentence(rng *rand.Rand, n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = v.words[v.zipf.Uint64()]
	}
	ws[0] = strings.ToUpper(ws[0][:1]) + ws[0][1:]
	return strings.Join(ws, " ") + "."
}

// query makes a search for a stored entry: some of its words, in another
// order, plus a couple of words it does not have.
func (v *vocabulary) query(rng *rand.Rand, content string) string {
	ws := strings.Fields(strings.ToLower(strings.TrimSuffix(content, ".")))
	rng.Shuffle(len(ws), func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
	k := min(len(ws), 3+rng.IntN(3))
	q := append([]string(nil), ws[:k]...)
	for i := 0; i < 2; i++ {
		q = append(q, v.words[v.zipf.Uint64()])
	}
	return strings.Join(q, " ")
}

func runScale(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	sizesFlag := fs.String("sizes", "100000", "comma-separated sizes of the large tenant to measure at, e.g. 100000,1000000")
	tenants := fs.Int("tenants", 100, "tenants in total (one large, the rest small)")
	small := fs.Int("small", 1000, "entries per small tenant")
	queries := fs.Int("queries", 2000, "searches on the large tenant per size")
	smallQueries := fs.Int("small-queries", 500, "searches on small tenants per size")
	workers := fs.Int("workers", 3, "concurrent batch requests while ingesting")
	batch := fs.Int("batch", 1000, "entries per batch request")
	inferN := fs.Int("infer", 2000, "entries also written with infer=true (judged), to measure that path")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1000 {
			return fmt.Errorf("-sizes: %q is not a size ≥ 1000", s)
		}
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	rng := rand.New(rand.NewPCG(*seed, 2))
	vocab, err := loadVocabulary(firstNonEmpty(e.getenv("ADMEM_EMBED_FILE"), ".data/embed/glove-50k.bin"), rng)
	if err != nil {
		return err
	}
	conn, err := e.db(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	owner, err := store.Open(ctx, firstNonEmpty(e.getenv("ADMEM_MIGRATE_DATABASE_URL"), e.getenv("ADMEM_DATABASE_URL")), 2)
	if err != nil {
		return err
	}
	defer owner.Close()

	rep := benchkit.NewReport("scale", map[string]any{"sizes": sizes, "tenants": *tenants, "small_entries": *small, "queries": *queries,
		"small_queries": *smallQueries, "workers": *workers, "batch": *batch, "seed": *seed, "api": e.apiURL,
		"text":   "Zipf(1.05) samples of the 30k most frequent alphabetic GloVe words, 8-20 words per entry; queries: 3-5 words of a stored entry + 2 random words",
		"search": "hybrid (BM25 + GloVe-SIF vectors, min-max fusion), limit 10, no filter, sequential"})
	rep.Set("machine.load_avg_1m_start", benchkit.LoadAverage())

	// Small tenants first: they are the neighbours the large tenant's
	// queries must not wade through.
	smallStart := time.Now()
	smalls, err := seedSmallTenants(ctx, e, conn, vocab, rng, "scale", *tenants-1, *small, *batch)
	if err != nil {
		return err
	}
	rep.Set("ingest_small_tenants.entries_per_s", float64((*tenants-1)**small)/time.Since(smallStart).Seconds())

	bigID, bigCred, err := e.writerTenant(ctx, "bench-scale-big")
	if err != nil {
		return err
	}
	var contents []string // of the large tenant, in order
	ids := []string{}
	var ingestTime time.Duration
	latSamples := map[string][]float64{}
	sizeRows := [][]string{}
	for _, size := range sizes {
		label := sizeLabel(size)
		add := size - len(contents)
		es := make([]benchEntry, add)
		for j := range es {
			es[j] = benchEntry{Content: vocab.sentence(rng, 8+rng.IntN(13)), Scope: map[string]string{"user_id": "u" + strconv.Itoa(rng.IntN(500))}}
			contents = append(contents, es[j].Content)
		}
		prog := &benchkit.Progress{Label: "scale/ingest-" + label, Total: size}
		start := time.Now()
		newIDs, err := parallelIngest(ctx, e, bigCred, es, *batch, *workers, false, prog, size-add)
		if err != nil {
			return err
		}
		took := time.Since(start)
		ingestTime += took
		ids = append(ids, newIDs...)
		rate := float64(add) / took.Seconds()
		rep.Set("ingest_"+label+".entries_per_s", rate)
		if size == sizes[0] {
			rep.Set("ingest.entries_per_s", rate)
		}
		embedStart := time.Now()
		if _, err := waitEmbedded(ctx, conn, bigID, "scale/embed-"+label); err != nil {
			return err
		}
		buildTotal := took + time.Since(embedStart)
		rep.Set("index_"+label+".vector_catchup_s", time.Since(embedStart).Seconds())
		rep.Set("index_"+label+".build_s", buildTotal.Seconds())
		if _, err := conn.Exec(ctx, `VACUUM ANALYZE entries`); err != nil {
			return err
		}
		sz, err := owner.EntryIndexSize(ctx)
		if err != nil {
			return err
		}
		for k, v := range sz {
			rep.Set("index_"+label+"."+k+"_mb", float64(v)/(1<<20))
		}

		// Searches on the large tenant.
		var lat benchkit.Latencies
		hits10 := 0
		prog = &benchkit.Progress{Label: "scale/search-" + label, Total: *queries}
		for i := 0; i < *queries; i++ {
			j := rng.IntN(len(contents))
			found, err := e.search(ctx, bigCred, map[string]any{"query": vocab.query(rng, contents[j]), "limit": 10}, &lat)
			if err != nil {
				return err
			}
			if slices.Contains(found, ids[j]) {
				hits10++
			}
			prog.Step(i + 1)
		}
		lat.Report(rep, "search_"+label)
		rep.Set("search_"+label+".source_recall_at_10", float64(hits10)/float64(*queries))
		latSamples["large tenant, "+label] = lat.Server()

		// Searches on small tenants, through the same tables and indexes.
		var slat benchkit.Latencies
		for i := 0; i < *smallQueries; i++ {
			t := smalls[rng.IntN(len(smalls))]
			if err := e.call(ctx, "POST", "/v1/entries/search", t.cred, map[string]any{"query": vocab.query(rng, vocab.sentence(rng, 12)), "limit": 10}, nil, &slat); err != nil {
				return err
			}
		}
		slat.Report(rep, "search_small_"+label)
		latSamples["small tenants, "+label] = slat.Server()
		m := rep.Metrics
		sizeRows = append(sizeRows, []string{label, f(m["ingest_"+label+".entries_per_s"]), f(m["index_"+label+".build_s"]),
			f(m["index_"+label+".gin_mb"]), f(m["index_"+label+".hnsw_mb"]), f(m["index_"+label+".heap_mb"]),
			f(m["search_"+label+".p50_ms"]), f(m["search_"+label+".p95_ms"]), f(m["search_"+label+".p99_ms"]),
			f(m["search_small_"+label+".p50_ms"]), f(m["search_small_"+label+".p99_ms"]), f(m["search_"+label+".source_recall_at_10"])})
	}

	// The judged path: the same entries written again with infer=true are
	// mostly NOOPs (near-duplicates), each judged against its candidates.
	if *inferN > 0 {
		n := min(*inferN, len(contents))
		es := make([]benchEntry, n)
		for i := range es {
			es[i] = benchEntry{Content: contents[rng.IntN(len(contents))]}
		}
		prog := &benchkit.Progress{Label: "scale/ingest-infer", Total: n}
		start := time.Now()
		if _, err := parallelIngest(ctx, e, bigCred, es, 100, *workers, true, prog, 0); err != nil {
			return err
		}
		rep.Set("ingest_infer.entries_per_s", float64(n)/time.Since(start).Seconds())
	}

	rep.AddTable(benchkit.Table{Title: "Large tenant among " + strconv.Itoa(*tenants) + " tenants",
		Header: []string{"size", "ingest entries/s", "index build s (ingest + vector catch-up)", "GIN MB (lexical, tags, metadata)", "HNSW MB", "entries heap MB",
			"search p50 ms", "p95", "p99", "small-tenant p50", "small p99", "source entry in top 10"},
		Rows: sizeRows})
	rep.Note("Ingest is POST /v1/entries/batch with infer=false (%d entries per request, %d concurrent requests): entries are durable and lexically "+
		"searchable when the request returns; vectors are added by the API's background embedder (GloVe-SIF) and indexed in HNSW "+
		"(m 16, ef_construction 40), which is the vector catch-up time. Judged writes (infer=true, batches of 100): %s entries/s. "+
		"Latencies are server side (Server-Timing) on %d cores.", *batch, *workers, f(rep.Metrics["ingest_infer.entries_per_s"]), benchkit.ThisMachine().Cores)
	if err := rep.LatencyCDF(e.out, "latency", "POST /v1/entries/search latency (server side)", latSamples); err != nil {
		return err
	}
	return rep.Finish(e.out, os.Stdout)
}

// tenantInfo is a tenant a benchmark made, with a write-scoped key.
type tenantInfo struct{ id, cred string }

// seedSmallTenants makes n tenants with perTenant synthetic entries each
// (bulk path, infer=false) and waits until their vectors are made, so that
// what is measured next does not run against their background embedding.
func seedSmallTenants(ctx context.Context, e *env, conn *pgx.Conn, vocab *vocabulary, rng *rand.Rand, bench string, n, perTenant, batch int) ([]tenantInfo, error) {
	var smalls []tenantInfo
	prog := &benchkit.Progress{Label: bench + "/small-tenants", Total: n * perTenant}
	for i := 0; i < n; i++ {
		id, cred, err := e.writerTenant(ctx, fmt.Sprintf("bench-%s-s%d", bench, i))
		if err != nil {
			return nil, err
		}
		smalls = append(smalls, tenantInfo{id, cred})
		es := make([]benchEntry, perTenant)
		for j := range es {
			es[j] = benchEntry{Content: vocab.sentence(rng, 8+rng.IntN(13))}
		}
		if _, err := e.ingest(ctx, cred, es, batch, false, prog, i*perTenant); err != nil {
			return nil, err
		}
	}
	if _, err := waitEmbedded(ctx, conn, "", bench+"/embed-small-tenants"); err != nil {
		return nil, err
	}
	return smalls, nil
}

func sizeLabel(n int) string {
	switch {
	case n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "m"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// parallelIngest sends batches from workers goroutines and returns the ids
// in the entries' order.
func parallelIngest(ctx context.Context, e *env, cred string, es []benchEntry, batch, workers int, infer bool, prog *benchkit.Progress, offset int) ([]string, error) {
	nb := int(math.Ceil(float64(len(es)) / float64(batch)))
	out := make([][]string, nb)
	jobs := make(chan int)
	var (
		mu    sync.Mutex
		done  int
		first error
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				lo, hi := b*batch, min((b+1)*batch, len(es))
				ids, err := e.ingest(ctx, cred, es[lo:hi], batch, infer, nil, 0)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				out[b] = ids
				done += hi - lo
				prog.Step(offset + done)
				mu.Unlock()
			}
		}()
	}
	for b := 0; b < nb; b++ {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		jobs <- b
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	var ids []string
	for _, x := range out {
		ids = append(ids, x...)
	}
	return ids, nil
}
