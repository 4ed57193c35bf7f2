package main

// The load benchmark: N concurrent clients send an agent fleet's mix of
// requests (guard, recall, search, step appends, judged entry writes, whole
// trajectories) for a fixed time to a large tenant among many, over HTTP
// with API keys; it reports throughput, latency per route and overall,
// errors, and the CPU the stack's processes used, at each concurrency.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admem/admem/internal/benchkit"
	"github.com/jackc/pgx/v5"
)

// loadProcs are the processes whose CPU the load benchmark reports, with
// the variables bench.sh passes their ids in.
var loadProcs = []struct{ name, env string }{
	{"postgres", "ADMEM_BENCH_PG_PID"},
	{"redis", "ADMEM_BENCH_REDIS_PID"},
	{"api", "ADMEM_BENCH_API_PID"},
	{"worker", "ADMEM_BENCH_WORKER_PID"},
	{"bench", ""}, // this load generator, on the same cores
}

type loadConfig struct {
	entries, tenants, small, batch, workers, trajectories int
	clients                                               []int
	duration, warmup, learnWait                           time.Duration
	bigShare                                              float64
	mix                                                   []mixOp
	seed                                                  uint64
	pprofURL                                              string
}

func runLoad(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	entries := fs.Int("entries", 100000, "entries of the large tenant (e.g. 10000 for a quick run)")
	tenants := fs.Int("tenants", 100, "tenants in total (one large, the rest small)")
	small := fs.Int("small", 200, "entries per small tenant")
	batch := fs.Int("batch", 1000, "entries per batch request while seeding")
	workers := fs.Int("workers", 3, "concurrent batch requests while seeding")
	trajs := fs.Int("trajectories", 600, "recorded trajectories seeded into the large tenant (what guard and recall learn from)")
	clientsFlag := fs.String("clients", "8,32,64", "comma-separated numbers of concurrent clients, one measured window each")
	duration := fs.Duration("duration", 45*time.Second, "measured window per concurrency")
	warmup := fs.Duration("warmup", 5*time.Second, "unmeasured load before each window")
	learnWait := fs.Duration("learn-wait", 120*time.Second, "longest wait for the worker to learn from the seeded trajectories")
	bigShare := fs.Float64("big-share", 0.8, "share of requests sent to the large tenant (the rest to random small ones)")
	mixFlag := fs.String("mix", formatMix(defaultMix), "operation weights")
	seed := fs.Uint64("seed", 1, "random seed")
	pprofURL := fs.String("pprof", e.getenv("ADMEM_BENCH_PPROF"), "the API's pprof root (http://HOST:PORT/debug/pprof): profile its CPU during the last window")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := loadConfig{entries: *entries, tenants: *tenants, small: *small, batch: *batch, workers: *workers, trajectories: *trajs,
		duration: *duration, warmup: *warmup, learnWait: *learnWait, bigShare: *bigShare, seed: *seed, pprofURL: *pprofURL}
	for _, s := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-clients: %q is not a positive number", s)
		}
		cfg.clients = append(cfg.clients, n)
	}
	var err error
	if cfg.mix, err = parseMix(*mixFlag); err != nil {
		return err
	}
	picker, err := newMixPicker(cfg.mix)
	if err != nil {
		return err
	}
	if cfg.tenants < 1 || cfg.entries < 1 {
		return fmt.Errorf("-tenants and -entries must be positive")
	}

	rng := rand.New(rand.NewPCG(cfg.seed, 3))
	vocab, err := loadVocabulary(firstNonEmpty(e.getenv("ADMEM_EMBED_FILE"), ".data/embed/glove-50k.bin"), rng)
	if err != nil {
		return err
	}
	rep := benchkit.NewReport("load", map[string]any{"entries": cfg.entries, "tenants": cfg.tenants, "small_entries": cfg.small,
		"trajectories": cfg.trajectories, "clients": cfg.clients, "duration_s": cfg.duration.Seconds(), "warmup_s": cfg.warmup.Seconds(),
		"big_share": cfg.bigShare, "mix": formatMix(cfg.mix), "seed": cfg.seed, "api": e.apiURL,
		"requests": "guard: a support agent's next call (and often a wrong one) mid-run; recall: task, scope and last steps, budget 1500; " +
			"search: hybrid, 3-5 words of a stored entry + 2 random, limit 10; append: one step to the client's open trajectory " +
			"(closed and reopened every 20-40 steps: routes close and open); entry_write: POST /v1/entries judged (infer) with " +
			"keyed preferences, profile facts and random text; trajectory: a whole run of 4-7 steps"})
	rep.Set("machine.load_avg_1m_start", benchkit.LoadAverage())

	w, err := seedLoad(ctx, e, rep, cfg, vocab, rng)
	if err != nil {
		return err
	}

	probe := &cpuProbe{pids: map[string]int{}}
	for _, p := range loadProcs {
		pid := os.Getpid()
		if p.env != "" {
			pid, _ = strconv.Atoi(strings.TrimSpace(e.getenv(p.env)))
		}
		if pid > 0 {
			probe.names = append(probe.names, p.name)
			probe.pids[p.name] = pid
		}
	}

	pgConn, err := e.db(ctx)
	if err != nil {
		return err
	}
	defer pgConn.Close(ctx)
	var levels []levelResult
	for i, c := range cfg.clients {
		profile := ""
		if cfg.pprofURL != "" && i == len(cfg.clients)-1 {
			profile = filepath.Join(e.out, "load-api-cpu.pprof")
		}
		lr, err := runLevel(ctx, e, rep, cfg, w, picker, probe, vocab, c, profile, pgConn)
		if err != nil {
			return err
		}
		levels = append(levels, lr)
	}
	return reportLoad(e, rep, cfg, levels, os.Stdout)
}

// loadWorld is what the seeding made: the tenants and the large tenant's
// entries (searches look for them).
type loadWorld struct {
	big      tenantInfo
	smalls   []tenantInfo
	contents []string
}

func seedLoad(ctx context.Context, e *env, rep *benchkit.Report, cfg loadConfig, vocab *vocabulary, rng *rand.Rand) (*loadWorld, error) {
	conn, err := e.db(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	w := &loadWorld{}
	start := time.Now()
	if w.smalls, err = seedSmallTenants(ctx, e, conn, vocab, rng, "load", cfg.tenants-1, cfg.small, cfg.batch); err != nil {
		return nil, err
	}
	if w.big.id, w.big.cred, err = e.writerTenant(ctx, "bench-load-big"); err != nil {
		return nil, err
	}
	es := make([]benchEntry, cfg.entries)
	for i := range es {
		c := newLoadCase(rng)
		es[i] = benchEntry{Content: vocab.sentence(rng, 8+rng.IntN(13)), Scope: map[string]string{"user_id": c.customer}}
		w.contents = append(w.contents, es[i].Content)
	}
	ingestStart := time.Now()
	if _, err := parallelIngest(ctx, e, w.big.cred, es, cfg.batch, cfg.workers, false,
		&benchkit.Progress{Label: "load/ingest-large", Total: len(es)}, 0); err != nil {
		return nil, err
	}
	rep.Set("seed.ingest_entries_per_s", float64(len(es))/time.Since(ingestStart).Seconds())

	// Trajectories, so that the worker learns mistake notes and procedures
	// of the large tenant before the load starts.
	prog := &benchkit.Progress{Label: "load/trajectories", Total: cfg.trajectories}
	for done := 0; done < cfg.trajectories; {
		n := min(100, cfg.trajectories-done)
		ts := make([]map[string]any, n)
		for i := range ts {
			ts[i] = newLoadCase(rng).trajectory(rng)
		}
		if err := e.call(ctx, "POST", "/v1/trajectories/batch", w.big.cred, map[string]any{"trajectories": ts}, nil, nil); err != nil {
			return nil, err
		}
		done += n
		prog.Step(done)
	}
	// The worker learns while the API's background embedder catches up
	// with the large tenant: the load starts once both are done.
	embedStart := time.Now()
	if _, err := waitEmbedded(ctx, conn, w.big.id, "load/embed-large"); err != nil {
		return nil, err
	}
	rep.Set("seed.vector_catchup_s", time.Since(embedStart).Seconds())
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE entries`); err != nil {
		return nil, err
	}
	learned, err := waitLearned(ctx, e, w.big.cred, cfg.learnWait)
	if err != nil {
		return nil, err
	}
	for k, v := range learned {
		rep.Set("seed.learned_"+k, float64(v))
	}
	rep.Set("seed.s", time.Since(start).Seconds())
	return w, nil
}

// waitLearned waits until the large tenant's learnt items stop changing
// (the worker has caught up with the seeded trajectories) or limit passes,
// and returns their counts by kind.
func waitLearned(ctx context.Context, e *env, cred string, limit time.Duration) (map[string]int, error) {
	deadline := time.Now().Add(limit)
	last, stable := "", 0
	for {
		var res struct {
			Items []struct {
				Kind    string `json:"kind"`
				Version int    `json:"version"`
				Count   int    `json:"count"`
			} `json:"items"`
		}
		if err := e.call(ctx, "GET", "/v1/learned?limit=500", cred, nil, &res, nil); err != nil {
			return nil, err
		}
		counts := map[string]int{}
		sig := 0
		for _, it := range res.Items {
			counts[it.Kind]++
			sig += it.Version + it.Count
		}
		now := fmt.Sprint(len(res.Items), sig)
		fmt.Fprintf(os.Stderr, "[load/learn] %d mistake notes, %d procedures\n", counts["mistake"], counts["procedure"])
		if now == last && len(res.Items) > 0 {
			stable++
		} else {
			stable = 0
		}
		last = now
		if stable >= 3 || time.Now().After(deadline) {
			return counts, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// levelResult is one concurrency level's outcome.
type levelResult struct {
	clients int
	sum     levelSummary
	stats   *levelStats
	cpu     map[string]float64 // seconds during the window
	elapsed time.Duration
	samples []string // a few error answers
	top     string   // pprof -top of the API, when profiled
	// pgQueries counts the queries Postgres was running in pgSamples
	// samples of pg_stat_activity.
	pgQueries map[string]int
	pgSamples int
}

// loadClient is one agent: its random source and its open trajectory.
type loadClient struct {
	rng    *rand.Rand
	vocab  *vocabulary
	open   struct{ id, cred string }
	steps  []loadStep
	pos    int
	budget int // steps before the trajectory is closed
}

func runLevel(ctx context.Context, e *env, rep *benchkit.Report, cfg loadConfig, w *loadWorld, picker *mixPicker,
	probe *cpuProbe, vocab *vocabulary, clients int, profile string, pgConn *pgx.Conn) (levelResult, error) {
	lr := levelResult{clients: clients, stats: &levelStats{}}
	var (
		recording atomic.Bool
		stopping  atomic.Bool
		mu        sync.Mutex
		wg        sync.WaitGroup
	)
	record := func(route string, status int, h http.Header, d time.Duration, body []byte, err error) {
		if !recording.Load() {
			return
		}
		ok := err == nil && status/100 == 2
		r := lr.stats.route(route)
		r.add(status, ok)
		if err == nil {
			r.lat.Add(h, d)
		}
		if !ok {
			mu.Lock()
			if len(lr.samples) < 8 {
				lr.samples = append(lr.samples, fmt.Sprintf("%s: %d %v %.300s", route, status, err, body))
			}
			mu.Unlock()
		}
	}
	pickTenant := func(rng *rand.Rand) tenantInfo {
		if len(w.smalls) == 0 || rng.Float64() < cfg.bigShare {
			return w.big
		}
		return w.smalls[rng.IntN(len(w.smalls))]
	}
	do := func(c *loadClient, route, method, path, cred string, body any) []byte {
		status, h, b, d, err := sendJSON(ctx, e, method, path, cred, body)
		record(route, status, h, d, b, err)
		if err != nil || status/100 != 2 {
			return nil
		}
		return b
	}
	openTrajectory := func(c *loadClient) {
		t := pickTenant(c.rng)
		lc := newLoadCase(c.rng)
		b := do(c, "open", "POST", "/v1/trajectories", t.cred, map[string]any{"task": lc.task(), "scope": lc.scope(), "open": true})
		var res struct {
			ID string `json:"id"`
		}
		if b == nil || json.Unmarshal(b, &res) != nil {
			c.open.id = ""
			return
		}
		c.open.id, c.open.cred = res.ID, t.cred
		c.steps, c.pos, c.budget = lc.steps(c.rng, c.rng.IntN(2) == 0), 0, 20+c.rng.IntN(21)
	}
	one := func(c *loadClient) {
		op := picker.pick(c.rng.Float64())
		t := pickTenant(c.rng)
		lc := newLoadCase(c.rng)
		switch op {
		case "guard":
			do(c, op, "POST", "/v1/guard", t.cred, lc.guardRequest(c.rng))
		case "recall":
			do(c, op, "POST", "/v1/recall", t.cred, lc.recallRequest(c.rng))
		case "search":
			q := c.vocab.query(c.rng, c.vocab.sentence(c.rng, 12))
			if t == w.big {
				q = c.vocab.query(c.rng, w.contents[c.rng.IntN(len(w.contents))])
			}
			do(c, op, "POST", "/v1/entries/search", t.cred, map[string]any{"query": q, "limit": 10})
		case "entry_write":
			do(c, op, "POST", "/v1/entries", t.cred, lc.entryWrite(c.rng, c.vocab))
		case "trajectory":
			do(c, op, "POST", "/v1/trajectories", t.cred, lc.trajectory(c.rng))
		case "append":
			if c.open.id == "" {
				openTrajectory(c)
				if c.open.id == "" {
					return
				}
			}
			if c.pos >= len(c.steps) { // the agent goes on with another customer in the same session
				c.steps, c.pos = newLoadCase(c.rng).steps(c.rng, c.rng.IntN(2) == 0), 0
			}
			do(c, op, "POST", "/v1/trajectories/"+c.open.id+"/steps", c.open.cred, map[string]any{"steps": c.steps[c.pos : c.pos+1]})
			c.pos++
			c.budget--
			if c.budget <= 0 {
				outcome := []string{"success", "success", "success", "failure"}[c.rng.IntN(4)]
				do(c, "close", "POST", "/v1/trajectories/"+c.open.id+"/close", c.open.cred, map[string]any{"outcome": outcome})
				c.open.id = ""
			}
		}
	}
	for i := 0; i < clients; i++ {
		c := &loadClient{rng: rand.New(rand.NewPCG(cfg.seed, uint64(clients*1000+i)))}
		c.vocab = vocab.withRand(c.rng)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopping.Load() && ctx.Err() == nil {
				one(c)
			}
		}()
	}
	fmt.Fprintf(os.Stderr, "[load/c%d] %d clients: warming up %s, then measuring %s\n", clients, clients, cfg.warmup, cfg.duration)
	sleepCtx(ctx, cfg.warmup)
	cpu0 := probe.read()
	start := time.Now()
	recording.Store(true)
	var (
		profErr  error
		profDone = make(chan struct{})
		pgStop   = make(chan struct{})
		pgDone   = make(chan struct{})
	)
	if pgConn != nil {
		go func() {
			defer close(pgDone)
			var err error
			lr.pgQueries, lr.pgSamples, err = samplePostgres(ctx, pgConn, 50*time.Millisecond, pgStop)
			if err != nil {
				fmt.Fprintf(os.Stderr, "[load] sampling Postgres: %v\n", err)
			}
		}()
	} else {
		close(pgDone)
	}
	if profile != "" {
		go func() {
			defer close(profDone)
			secs := max(1, int(min(cfg.duration, 30*time.Second).Seconds())-2)
			profErr = fetchProfile(ctx, cfg.pprofURL, secs, profile)
		}()
	} else {
		close(profDone)
	}
	for t := time.Duration(0); t < cfg.duration && ctx.Err() == nil; t += 10 * time.Second {
		sleepCtx(ctx, min(10*time.Second, cfg.duration-t))
		n := 0
		for _, name := range lr.stats.names() {
			r := lr.stats.route(name)
			r.mu.Lock()
			n += r.n
			r.mu.Unlock()
		}
		fmt.Fprintf(os.Stderr, "[load/c%d] %s: %d requests, %.0f/s\n", clients, time.Since(start).Round(time.Second), n, float64(n)/time.Since(start).Seconds())
	}
	recording.Store(false)
	lr.elapsed = time.Since(start)
	close(pgStop)
	<-pgDone
	cpu1 := probe.read()
	stopping.Store(true)
	wg.Wait()
	<-profDone
	if ctx.Err() != nil {
		return lr, ctx.Err()
	}
	if profErr != nil {
		fmt.Fprintf(os.Stderr, "[load] API CPU profile: %v\n", profErr)
	} else if profile != "" {
		// Flat: where the CPU burns; cumulative: which requests' code
		// paths it burns under.
		for _, extra := range [][]string{{"-nodecount=20"}, {"-cum", "-nodecount=40"}} {
			args := append([]string{"tool", "pprof", "-top"}, extra...)
			out, err := exec.CommandContext(ctx, "go", append(args, profile)...).Output()
			if err != nil {
				fmt.Fprintf(os.Stderr, "[load] pprof %v: %v\n", extra, err)
			}
			lr.top += string(out) + "\n"
		}
	}
	lr.cpu = map[string]float64{}
	for k, v := range cpu1 {
		if v0, ok := cpu0[k]; ok {
			lr.cpu[k] = v - v0
		}
	}
	prefix := fmt.Sprintf("mix.c%d", clients)
	lr.sum = lr.stats.summarize(rep, prefix, lr.elapsed)
	for k, v := range lr.cpu {
		rep.Set(prefix+".cpu."+k+"_s", v)
		rep.Set(prefix+".cpu."+k+"_cores", v/lr.elapsed.Seconds())
	}
	fmt.Fprintf(os.Stderr, "[load/c%d] %.0f requests/s, p50 %.1f ms, p99 %.1f ms, errors %.2f%%\n", clients, lr.sum.rps,
		rep.Metrics[prefix+".p50_ms"], rep.Metrics[prefix+".p99_ms"], 100*lr.sum.errorRate)
	return lr, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// fetchProfile saves a CPU profile of secs seconds from a pprof root.
func fetchProfile(ctx context.Context, root string, secs int, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(root, "/")+"/profile?seconds="+strconv.Itoa(secs), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Duration(secs+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d", req.URL, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func reportLoad(e *env, rep *benchkit.Report, cfg loadConfig, levels []levelResult, stdout io.Writer) error {
	// The headline is the level with the most throughput (where the stack
	// saturates); the error rate counts every window.
	best, requests, errs := levels[0], 0, 0
	for _, l := range levels {
		if l.sum.rps > best.sum.rps {
			best = l
		}
		requests += l.sum.requests
		errs += l.sum.errors
	}
	bp := fmt.Sprintf("mix.c%d", best.clients)
	rep.Set("mix.rps", best.sum.rps)
	rep.Set("mix.clients", float64(best.clients))
	for _, k := range []string{"p50_ms", "p95_ms", "p99_ms", "client_p50_ms", "client_p99_ms"} {
		rep.Set("mix."+k, rep.Metrics[bp+"."+k])
	}
	rep.Set("mix.requests", float64(requests))
	rep.Set("mix.error_rate", 1)
	if requests > 0 {
		rep.Set("mix.error_rate", ratio(errs, requests))
	}

	m := rep.Metrics
	var rows [][]string
	var xs, rps, p50, p95, p99 []float64
	procNames := []string{}
	for _, p := range loadProcs {
		procNames = append(procNames, p.name)
	}
	cdf := map[string][]float64{}
	cpuSeries := make([]benchkit.Series, len(procNames))
	var cpuLabels []string
	for _, l := range levels {
		p := fmt.Sprintf("mix.c%d", l.clients)
		row := []string{strconv.Itoa(l.clients), f(l.sum.rps), f(m[p+".p50_ms"]), f(m[p+".p95_ms"]), f(m[p+".p99_ms"]),
			f(m[p+".client_p50_ms"]), f(m[p+".client_p99_ms"]), fmt.Sprintf("%.2f%%", 100*l.sum.errorRate)}
		for i, n := range procNames {
			c := l.cpu[n] / l.elapsed.Seconds()
			row = append(row, fmt.Sprintf("%.2f", c))
			cpuSeries[i].Name = n
			cpuSeries[i].Y = append(cpuSeries[i].Y, c)
		}
		rows = append(rows, row)
		xs = append(xs, float64(l.clients))
		rps, p50, p95, p99 = append(rps, l.sum.rps), append(p50, m[p+".p50_ms"]), append(p95, m[p+".p95_ms"]), append(p99, m[p+".p99_ms"])
		cdf[fmt.Sprintf("%3d clients", l.clients)] = l.sum.server
		cpuLabels = append(cpuLabels, strconv.Itoa(l.clients)+" clients")
	}
	header := []string{"clients", "requests/s", "p50 ms", "p95", "p99", "client p50", "client p99", "errors"}
	for _, n := range procNames {
		header = append(header, n+" cores")
	}
	rep.AddTable(benchkit.Table{Title: "Mixed load by concurrency (server-side latency; client side includes queueing)", Header: header, Rows: rows})

	for _, l := range levels {
		p := fmt.Sprintf("mix.c%d", l.clients)
		t := benchkit.Table{Title: fmt.Sprintf("Per route at %d clients", l.clients),
			Header: []string{"route", "share", "requests/s", "p50 ms", "p95", "p99", "client p99", "errors"}}
		for _, name := range l.stats.names() {
			r := l.stats.route(name)
			t.Rows = append(t.Rows, []string{name, fmt.Sprintf("%.1f%%", 100*ratio(r.n, l.sum.requests)), f(m[p+"."+name+".rps"]),
				f(m[p+"."+name+".p50_ms"]), f(m[p+"."+name+".p95_ms"]), f(m[p+"."+name+".p99_ms"]), f(m[p+"."+name+".client_p99_ms"]),
				strconv.Itoa(r.errs)})
		}
		rep.AddTable(t)
		if l.sum.errors > 0 {
			codes := []string{}
			for c, n := range l.sum.statuses {
				if c/100 != 2 {
					codes = append(codes, fmt.Sprintf("%d×%d", n, c))
				}
			}
			sort.Strings(codes)
			rep.Note("Errors at %d clients (status 0: no answer): %s. First answers: %s", l.clients, strings.Join(codes, ", "),
				strings.Join(l.samples, " | "))
		}
		if l.pgSamples > 0 {
			type qc struct {
				q string
				n int
			}
			var qs []qc
			busy := 0
			for q, n := range l.pgQueries {
				qs = append(qs, qc{q, n})
				busy += n
			}
			sort.Slice(qs, func(i, j int) bool { return qs[i].n > qs[j].n || qs[i].n == qs[j].n && qs[i].q < qs[j].q })
			t := benchkit.Table{Title: fmt.Sprintf("Postgres at %d clients: queries running, sampled every 50 ms (%d samples, %.1f active backends on average)",
				l.clients, l.pgSamples, float64(busy)/float64(l.pgSamples)),
				Header: []string{"query (start)", "share of busy samples"}}
			for _, x := range qs[:min(15, len(qs))] {
				t.Rows = append(t.Rows, []string{"`" + strings.ReplaceAll(x.q, "|", "\\|") + "`", fmt.Sprintf("%.1f%%", 100*ratio(x.n, busy))})
			}
			rep.AddTable(t)
			rep.Set(fmt.Sprintf("mix.c%d.pg_active_backends", l.clients), float64(busy)/float64(l.pgSamples))
		}
		if l.top != "" {
			rep.Note("API CPU profile during the %d-client window (`go tool pprof -top`):\n\n```\n%s```", l.clients, l.top)
		}
	}
	rep.Note("Mix %s over %d tenants: one with %d entries gets %.0f%% of requests, %d others with %d entries each the rest; "+
		"%d trajectories were recorded into the large tenant first (%s mistake notes, %s procedures learnt). Each level: %s warm-up, "+
		"then %s measured. `mix.rps`, `mix.p99_ms` are the level with the highest throughput; `mix.error_rate` counts every "+
		"non-2xx answer and failed request of every level. CPU is user+system time of each process (Postgres: the postmaster and "+
		"its backends) over the window, in cores; the load generator shares the machine's %d cores.",
		formatMix(cfg.mix), cfg.tenants, cfg.entries, 100*cfg.bigShare, cfg.tenants-1, cfg.small, cfg.trajectories,
		f(m["seed.learned_mistake"]), f(m["seed.learned_procedure"]), cfg.warmup, cfg.duration, benchkit.ThisMachine().Cores)

	if err := rep.LinePlot(e.out, "throughput", "Mixed load: throughput", "concurrent clients", "requests/s",
		[]benchkit.Series{{Name: "requests/s", X: xs, Y: rps}}); err != nil {
		return err
	}
	if err := rep.LinePlot(e.out, "latency", "Mixed load: server-side latency", "concurrent clients", "ms",
		[]benchkit.Series{{Name: "p50", X: xs, Y: p50}, {Name: "p95", X: xs, Y: p95}, {Name: "p99", X: xs, Y: p99}}); err != nil {
		return err
	}
	if err := rep.LatencyCDF(e.out, "cdf", "Mixed load: latency distribution (server side, all routes)", cdf); err != nil {
		return err
	}
	// p50 and p99 of each route at each level (the routes every level has).
	var routes []string
	for _, name := range levels[0].stats.names() {
		if name != "open" && name != "close" {
			routes = append(routes, name)
		}
	}
	var routeSeries []benchkit.Series
	for _, q := range []string{"p50", "p99"} {
		for _, l := range levels {
			s := benchkit.Series{Name: fmt.Sprintf("%s, %d clients", q, l.clients)}
			for _, r := range routes {
				s.Y = append(s.Y, m[fmt.Sprintf("mix.c%d.%s.%s_ms", l.clients, r, q)])
			}
			routeSeries = append(routeSeries, s)
		}
	}
	if err := rep.BarPlot(e.out, "routes", "Mixed load: server-side latency per route", "ms", routes, routeSeries); err != nil {
		return err
	}
	if err := rep.BarPlot(e.out, "cpu", "Mixed load: CPU by process", "cores", cpuLabels, cpuSeries); err != nil {
		return err
	}
	return rep.Finish(e.out, stdout)
}

// samplePostgres counts, every interval until stop closes, the queries
// Postgres is running for the bench database (pg_stat_activity, active
// backends): each query's share of the samples is its share of
// Postgres's busy time (running or waiting), where pprof cannot look.
func samplePostgres(ctx context.Context, conn *pgx.Conn, interval time.Duration, stop <-chan struct{}) (map[string]int, int, error) {
	counts, samples := map[string]int{}, 0
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return counts, samples, nil
		case <-ctx.Done():
			return counts, samples, ctx.Err()
		case <-t.C:
		}
		rows, err := conn.Query(ctx, `SELECT query FROM pg_stat_activity
			WHERE state = 'active' AND datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
		if err != nil {
			return counts, samples, err
		}
		qs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return counts, samples, err
		}
		samples++
		for _, q := range qs {
			counts[queryLabel(q)]++
		}
	}
}

// queryLabel shortens a query to its first words, white space folded.
func queryLabel(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if r := []rune(q); len(r) > 110 {
		q = string(r[:110]) + "…"
	}
	return q
}
