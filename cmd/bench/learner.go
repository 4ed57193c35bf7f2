package main

// The learner benchmark: how fast one worker process (and two) learns a
// tenant's events, whether that rate holds as the tenant's history grows,
// how soon a posted mistake reaches guard, and guard and recall latency in
// a tenant with ~10k learned items. The trajectories are played by the
// default agent without memory in a generated world.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/sim"
)

func init() {
	commands = append(commands, command{"learner", "learning throughput of one and two worker processes at 1k and a larger history, time-to-learn, guard and recall latency with ~10k learned items", runLearner})
}

type learnerOptions struct {
	seed     uint64
	batch    int // trajectories measured per throughput run
	history  int
	items    int
	requests int
	ttlN     int
	ttlMax   time.Duration
	worker   string
}

func runLearner(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("learner", flag.ContinueOnError)
	var o learnerOptions
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated world and its episodes")
	fs.IntVar(&o.batch, "batch", 1000, "trajectories learnt in each measured run (the first makes the 1k history)")
	fs.IntVar(&o.history, "history", 2000, "history (recorded trajectories) before the second measurement; 100000 for the issue's figure (hours)")
	fs.IntVar(&o.items, "items", 10000, "learned items in the tenant for the guard and recall latencies")
	fs.IntVar(&o.requests, "requests", 1000, "guard and recall requests each for the latencies")
	fs.IntVar(&o.ttlN, "ttl", 40, "failing trajectories for time-to-learn")
	fs.DurationVar(&o.ttlMax, "ttl-max", 10*time.Second, "a posted mistake guard did not flag after this counts as this")
	fs.StringVar(&o.worker, "worker", "bin/worker", "worker binary the benchmark starts (make bench-learner builds it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.history < o.batch {
		o.history = o.batch
	}
	if e.getenv("ADMEM_BENCH_OWN_WORKERS") == "" {
		return fmt.Errorf("bench learner starts its own workers: run it with `make bench-learner`")
	}
	rep := benchkit.NewReport("learner", map[string]any{"seed": o.seed, "batch": o.batch, "history": o.history, "items": o.items,
		"requests": o.requests, "ttl": o.ttlN, "api": e.apiURL})

	pool, err := playPool(ctx, o.seed, min(o.history, 2000))
	if err != nil {
		return err
	}
	tenantID, key, err := e.tenant(ctx, "bench-learner")
	if err != nil {
		return err
	}
	lb := &learnerBench{e: e, o: o, key: key, pool: pool}
	var rows [][]string
	row := func(label string, r throughput) {
		rows = append(rows, []string{label, strconv.Itoa(r.history), strconv.Itoa(r.workers), strconv.Itoa(r.events),
			benchkit.FormatFloat(r.seconds), benchkit.FormatFloat(r.rate)})
	}

	// 1k: an empty tenant learns its first batch.
	r1, err := lb.measure(ctx, 1)
	if err != nil {
		return err
	}
	row("first "+sizeLabel(o.batch), r1)
	rep.Set("learner.events_per_s_"+sizeLabel(o.batch), r1.rate)
	// Grow the history with one worker running, then measure one batch more.
	if err := lb.grow(ctx, o.history-o.batch); err != nil {
		return err
	}
	rh, err := lb.measure(ctx, 1)
	if err != nil {
		return err
	}
	row("after "+sizeLabel(o.history), rh)
	rep.Set("learner.events_per_s_"+sizeLabel(o.history), rh.rate)
	rep.Set("learner.history_ratio", rh.rate/r1.rate)
	r2, err := lb.measure(ctx, 2)
	if err != nil {
		return err
	}
	row("two workers", r2)
	rep.Set("learner.events_per_s_2workers", r2.rate)
	rep.Set("learner.two_worker_ratio", r2.rate/rh.rate)
	rep.AddTable(benchkit.Table{Title: "Events learnt per second", Header: []string{"run", "history", "workers", "events", "seconds", "events/s"}, Rows: rows})

	// Latencies and time-to-learn with one worker running.
	stop, err := lb.startWorkers(ctx, 1)
	if err != nil {
		return err
	}
	defer stop()
	n, err := lb.padItems(ctx, tenantID, o.items)
	if err != nil {
		return err
	}
	rep.Set("learner.items", float64(n))
	guard, recall, err := lb.latencies(ctx)
	if err != nil {
		return err
	}
	rep.Set("learner.guard_p50_ms", benchkit.Median(guard.Server()))
	rep.Set("learner.guard_p99_ms", benchkit.Percentile(guard.Server(), 99))
	rep.Set("learner.guard_client_p50_ms", benchkit.Median(guard.Client()))
	rep.Set("learner.recall_p50_ms", benchkit.Median(recall.Server()))
	rep.Set("learner.recall_p99_ms", benchkit.Percentile(recall.Server(), 99))
	rep.Set("learner.recall_client_p50_ms", benchkit.Median(recall.Client()))
	ttl, notLearned, err := lb.timeToLearn(ctx)
	if err != nil {
		return err
	}
	rep.Set("learn.time_to_learn_p50_s", benchkit.Median(ttl))
	rep.Set("learn.time_to_learn_p95_s", benchkit.Percentile(ttl, 95))
	rep.Set("learn.time_to_learn_n", float64(len(ttl)))
	rep.Set("learn.time_to_learn_not_learned", float64(notLearned))
	f := func(name string) string { return benchkit.FormatFloat(rep.Metrics[name]) }
	rep.AddTable(benchkit.Table{Title: "Against the targets", Header: []string{"metric", "value", "target"}, Rows: [][]string{
		{"learner.events_per_s_" + sizeLabel(o.batch), f("learner.events_per_s_" + sizeLabel(o.batch)), "≥ 500"},
		{"learner.events_per_s_" + sizeLabel(o.history), f("learner.events_per_s_" + sizeLabel(o.history)), "≥ 0.8 × the first"},
		{"learner.events_per_s_2workers", f("learner.events_per_s_2workers"), ""},
		{"learn.time_to_learn_p95_s", f("learn.time_to_learn_p95_s"), "≤ 1"},
		{"learner.guard_p50_ms", f("learner.guard_p50_ms"), "≤ 2"},
		{"learner.recall_p50_ms", f("learner.recall_p50_ms"), "≤ 5"},
	}})
	rep.Note("Events are the trajectories' own (trajectory.recorded and step.failed); the learned.changed events learning causes are " +
		"handled in the same time but not counted. Each throughput run records its trajectories with no worker running, then starts " +
		"the worker processes and times from their readiness until the tenant has no pending event.")
	rep.Note("Guard and recall latencies are server side (Server-Timing), after padding the tenant to %d learned items; time-to-learn "+
		"posts a failing trajectory to a fresh tenant and polls guard on the failed call; %d of %d were not flagged within %s.",
		n, notLearned, len(ttl), o.ttlMax)
	return rep.Finish(e.out, os.Stdout)
}

// playPool plays n episodes of a generated world with no memory: the
// recorded trajectories the benchmark posts (cycled beyond n).
func playPool(ctx context.Context, seed uint64, n int) ([]admem.Trajectory, error) {
	w := sim.Generate(sim.WorldSeeds(seed, 1)[0], sim.GenConfig{})
	sched := sim.Schedule(seed, n, w.Families(), 0.2)
	fmt.Fprintf(os.Stderr, "[learner] playing %d episodes of a generated world\n", n)
	eps, err := sim.Run(ctx, w, sim.NoMemory{}, sched, sim.RunConfig{Arm: "none", Agent: sim.DefaultAgentConfig()})
	if err != nil {
		return nil, err
	}
	out := make([]admem.Trajectory, len(eps))
	for i, ep := range eps {
		out[i] = ep.Trajectory
	}
	return out, nil
}

type learnerBench struct {
	e       *env
	o       learnerOptions
	key     string
	pool    []admem.Trajectory
	posted  int
	workers int // started so far, for distinct addresses
}

type throughput struct {
	history, workers, events int
	seconds, rate            float64
}

// post records n more trajectories from the pool.
func (lb *learnerBench) post(ctx context.Context, n int, label string) error {
	prog := benchkit.Progress{Label: "learner/" + label, Total: n}
	const batch = 250
	for done := 0; done < n; {
		k := min(batch, n-done)
		reqs := make([]client.TrajectoryRequest, k)
		for i := range reqs {
			reqs[i] = toRequest(lb.pool[(lb.posted+i)%len(lb.pool)], 0)
		}
		if err := recordBatch(ctx, lb.e, lb.key, reqs); err != nil {
			return err
		}
		lb.posted += k
		done += k
		prog.Step(done)
	}
	return nil
}

// measure records a batch with no worker running, then starts workers
// and times them until the tenant has nothing pending.
func (lb *learnerBench) measure(ctx context.Context, workers int) (throughput, error) {
	if err := lb.post(ctx, lb.o.batch, "record"); err != nil {
		return throughput{}, err
	}
	st, err := lb.status(ctx)
	if err != nil {
		return throughput{}, err
	}
	stop, err := lb.startWorkers(ctx, workers)
	if err != nil {
		return throughput{}, err
	}
	defer stop()
	start := time.Now()
	if _, err := benchkit.WaitLearning(ctx, lb.e.client, benchkit.LearningWait{Label: fmt.Sprintf("learner/%d worker(s)", workers), Timeout: 30 * time.Minute},
		bearer(lb.key)); err != nil {
		return throughput{}, err
	}
	sec := time.Since(start).Seconds()
	r := throughput{history: lb.posted, workers: workers, events: int(st.PendingEvents), seconds: sec, rate: float64(st.PendingEvents) / sec}
	fmt.Fprintf(os.Stderr, "[learner] history %d, %d worker(s): %d events in %.1fs = %.0f events/s\n", r.history, workers, r.events, sec, r.rate)
	return r, nil
}

// grow records n more trajectories with one worker learning them.
func (lb *learnerBench) grow(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	stop, err := lb.startWorkers(ctx, 1)
	if err != nil {
		return err
	}
	defer stop()
	if err := lb.post(ctx, n, "history"); err != nil {
		return err
	}
	_, err = benchkit.WaitLearning(ctx, lb.e.client, benchkit.LearningWait{Label: "learner/history", Timeout: 2 * time.Hour}, bearer(lb.key))
	return err
}

func (lb *learnerBench) status(ctx context.Context) (client.LearningStatus, error) {
	r, err := lb.e.client.GetLearningStatusWithResponse(ctx, bearer(lb.key))
	if err != nil {
		return client.LearningStatus{}, err
	}
	if r.JSON200 == nil {
		return client.LearningStatus{}, fmt.Errorf("%w: learning status %d %s", errBadStatus, r.StatusCode(), r.Body)
	}
	return *r.JSON200, nil
}

// startWorkers starts n worker processes, each on its own address, waits
// until they are ready and returns what stops them.
func (lb *learnerBench) startWorkers(ctx context.Context, n int) (func(), error) {
	host, port, err := net.SplitHostPort(firstNonEmpty(lb.e.getenv("ADMEM_WORKER_ADDR"), "127.0.0.1:18081"))
	if err != nil {
		return nil, err
	}
	base, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			_ = c.Process.Signal(os.Interrupt)
		}
		for _, c := range cmds {
			_ = c.Wait()
		}
	}
	for i := 0; i < n; i++ {
		addr := net.JoinHostPort(host, strconv.Itoa(base+i))
		c := exec.Command(lb.o.worker)
		c.Env = append(os.Environ(), "ADMEM_WORKER_ADDR="+addr)
		if lf := lb.e.getenv("ADMEM_BENCH_WORKER_LOG"); lf != "" {
			f, err := os.OpenFile(fmt.Sprintf("%s.%d", lf, lb.workers), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err == nil {
				c.Stdout, c.Stderr = f, f
			}
		}
		lb.workers++
		if err := c.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("start %s: %w", lb.o.worker, err)
		}
		cmds = append(cmds, c)
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				stop()
				return nil, fmt.Errorf("worker on %s not ready", addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return stop, nil
}

// padItems copies the tenant's learned items under new keys (and, for
// mistakes, new tool names, so a tool keeps a realistic number of
// mistakes) until it holds about n, and returns how many it holds.
func (lb *learnerBench) padItems(ctx context.Context, tenantID string, n int) (int, error) {
	conn, err := lb.e.db(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var have int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM learned_items WHERE tenant_id = $1`, tenantID).Scan(&have); err != nil {
		return 0, err
	}
	if have == 0 || have >= n {
		return have, nil
	}
	copies := (n - have + have - 1) / have
	_, err = conn.Exec(ctx, `INSERT INTO learned_items (tenant_id, kind, key, tool, state, content, search_text, count, meaning, status)
		SELECT tenant_id, kind, key || '#' || g, CASE WHEN tool = '' THEN '' ELSE tool || '_v' || g END,
			state, content, search_text || ' v' || g, count, meaning, status
		FROM learned_items, generate_series(1, $2::int) g WHERE tenant_id = $1 AND key NOT LIKE '%#%'`, tenantID, copies)
	if err != nil {
		return 0, fmt.Errorf("pad learned items: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT count(*) FROM learned_items WHERE tenant_id = $1`, tenantID).Scan(&have)
	return have, err
}

// latencies asks guard for the calls of pool trajectories (with the steps
// before them as context) and recall for their tasks.
func (lb *learnerBench) latencies(ctx context.Context) (*benchkit.Latencies, *benchkit.Latencies, error) {
	var guard, recall benchkit.Latencies
	prog := benchkit.Progress{Label: "learner/latency", Total: 2 * lb.o.requests}
	for i := 0; i < lb.o.requests; i++ {
		t := lb.pool[i%len(lb.pool)]
		if len(t.Steps) == 0 {
			continue
		}
		k := (i * 7) % len(t.Steps)
		body, err := json.Marshal(guardRequest(t.Task, t.Steps[max(0, k-6):k], t.Steps[k]))
		if err != nil {
			return nil, nil, err
		}
		start := time.Now()
		_, h, err := askGuard(ctx, lb.e, lb.key, body)
		if err != nil {
			return nil, nil, err
		}
		guard.Add(h, time.Since(start))
		task := t.Task
		start = time.Now()
		r, err := lb.e.client.RecallWithResponse(ctx, client.RecallRequest{Task: &task}, bearer(lb.key))
		if err != nil {
			return nil, nil, err
		}
		if r.JSON200 == nil {
			return nil, nil, fmt.Errorf("%w: recall %d %.300s", errBadStatus, r.StatusCode(), r.Body)
		}
		recall.Add(r.HTTPResponse.Header, time.Since(start))
		prog.Step(2 * (i + 1))
	}
	return &guard, &recall, nil
}

// timeToLearn posts failing trajectories (whose first failure is not a
// transient fault) each to a fresh tenant and polls guard on the failed
// call until it is flagged.
func (lb *learnerBench) timeToLearn(ctx context.Context) ([]float64, int, error) {
	var secs []float64
	notLearned := 0
	prog := benchkit.Progress{Label: "learner/time-to-learn", Total: lb.o.ttlN}
	for _, t := range lb.pool {
		if len(secs) >= lb.o.ttlN {
			break
		}
		first := -1
		for i, s := range t.Steps {
			if s.Failed() {
				first = i
				break
			}
		}
		if first < 0 || transientText(t.Steps[first].Error) {
			continue
		}
		body, err := json.Marshal(guardRequest(t.Task, t.Steps[max(0, first-6):first], t.Steps[first]))
		if err != nil {
			return nil, 0, err
		}
		_, key, err := lb.e.tenant(ctx, "bench-learner-ttl")
		if err != nil {
			return nil, 0, err
		}
		if _, _, err := askGuard(ctx, lb.e, key, body); err != nil {
			return nil, 0, err
		}
		r, err := lb.e.client.RecordTrajectoryWithResponse(ctx, nil, toRequest(t, 0), bearer(key))
		if err != nil {
			return nil, 0, err
		}
		if r.StatusCode() != http.StatusCreated {
			return nil, 0, fmt.Errorf("%w: record %d %.300s", errBadStatus, r.StatusCode(), r.Body)
		}
		posted := time.Now()
		for {
			ans, _, err := askGuard(ctx, lb.e, key, body)
			if err != nil {
				return nil, 0, err
			}
			if ans.Results[0].Decision != "allow" {
				secs = append(secs, time.Since(posted).Seconds())
				break
			}
			if time.Since(posted) > lb.o.ttlMax {
				secs = append(secs, lb.o.ttlMax.Seconds())
				notLearned++
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		prog.Step(len(secs))
	}
	return secs, notLearned, nil
}

func transientText(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"timeout", "timed out", "unavailable", "rate limit", "too many", "503", "502", "500", "504", "429", "temporar"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
