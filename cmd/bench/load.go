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
	mixFlag := fs.String("mix", formatMix(defaultMix), "operation weights (\"\": no mixed load, only the -routes sweep)")
	routesFlag := fs.String("routes", "", "comma-separated operations to sweep alone after the mix, each at every -clients level, e.g. guard,recall,search,entry_write")
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
	var picker *mixPicker
	if *mixFlag != "" {
		if cfg.mix, err = parseMix(*mixFlag); err != nil {
			return err
		}
		if picker, err = newMixPicker(cfg.mix); err != nil {
			return err
		}
	}
	var routes []string
	for _, r := range strings.Split(*routesFlag, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if _, err := parseMix(r + "=1"); err != nil {
			return fmt.Errorf("-routes: %w", err)
		}
		routes = append(routes, r)
	}
	if picker == nil && len(routes) == 0 {
		return fmt.Errorf("nothing to measure: -mix is empty and -routes names no operation")
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
		if picker == nil {
			break
		}
		profile := ""
		if cfg.pprofURL != "" && i == len(cfg.clients)-1 {
			profile = filepath.Join(e.out, "load-api-cpu.pprof")
		}
		lr, err := runLevel(ctx, e, rep, cfg, w, picker, probe, vocab, c, profile, pgConn, "mix")
		if err != nil {
			return err
		}
		levels = append(levels, lr)
	}
	sweep := map[string][]levelResult{}
	for _, r := range routes {
		alone, err := newMixPicker([]mixOp{{r, 1}})
		if err != nil {
			return err
		}
		for i, c := range cfg.clients {
			profile := ""
			if cfg.pprofURL != "" && i == len(cfg.clients)-1 {
				profile = filepath.Join(e.out, "load-"+r+"-api-cpu.pprof")
			}
			lr, err := runLevel(ctx, e, rep, cfg, w, alone, probe, vocab, c, profile, pgConn, "route."+r)
			if err != nil {
				return err
			}
			sweep[r] = append(sweep[r], lr)
		}
	}
	return reportLoad(e, rep, cfg, levels, routes, sweep, os.Stdout)
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
	probe *cpuProbe, vocab *vocabulary, clients int, profile string, pgConn *pgx.Conn, label string) (levelResult, error) {
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
	prefix := fmt.Sprintf("%s.c%d", label, clients)
	lr.sum = lr.stats.summarize(rep, prefix, lr.elapsed)
	for k, v := range lr.cpu {
		rep.Set(prefix+".cpu."+k+"_s", v)
		rep.Set(prefix+".cpu."+k+"_cores", v/lr.elapsed.Seconds())
	}
	fmt.Fprintf(os.Stderr, "[load/%s/c%d] %.0f requests/s, p50 %.1f ms, p99 %.1f ms, errors %.2f%%\n", label, clients, lr.sum.rps,
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
