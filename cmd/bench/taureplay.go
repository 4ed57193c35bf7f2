package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/recall"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/taubench"
)

// runTauReplay replays a tau-bench log through the real API and worker: for
// every task it records trials 1..k-1, lets the worker learn, then asks
// recall with trial k's task and checks whether the mistake notes returned
// cover the error signatures trial k actually hits. It also measures recall
// latency and batch ingest throughput. With --guard it runs the guard
// replay instead (runTauReplayGuard).
func runTauReplay(ctx context.Context, e *env, args []string) error {
	for i, a := range args {
		if a == "--guard" || a == "-guard" {
			return runTauReplayGuard(ctx, e, append(args[:i:i], args[i+1:]...))
		}
	}
	fs := flag.NewFlagSet("taureplay", flag.ContinueOnError)
	budget := fs.Int("budget", recall.DefaultBudget, "recall token budget")
	recalls := fs.Int("recalls", 1000, "recall requests for the latency figures")
	ingestN := fs.Int("ingest", 20000, "trajectories of 10 steps for the ingest figure (0 skips it)")
	batch := fs.Int("batch", 250, "trajectories per batch request")
	conc := fs.Int("concurrency", 4, "concurrent batch requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data := firstNonEmpty(e.data, "../shared/data/taubench/airline-dev.json")
	eps, err := taubench.Load(data)
	if err != nil {
		return err
	}
	rep := benchkit.NewReport("taureplay", map[string]any{"data": data, "budget": *budget, "recalls": *recalls,
		"ingest": *ingestN, "batch": *batch, "concurrency": *conc, "api": e.apiURL})

	// Group the trials of each task; trial k is the last one.
	byTask := map[string][]taubench.Episode{}
	var taskIDs []string
	for _, ep := range eps {
		if _, ok := byTask[ep.TaskID]; !ok {
			taskIDs = append(taskIDs, ep.TaskID)
		}
		byTask[ep.TaskID] = append(byTask[ep.TaskID], ep)
	}
	for _, id := range taskIDs {
		sort.SliceStable(byTask[id], func(i, j int) bool { return byTask[id][i].Trial < byTask[id][j].Trial })
	}

	_, key, err := e.tenant(ctx, "bench-taureplay")
	if err != nil {
		return err
	}
	// Learn from trials 1..k-1 of every task.
	var earlier []client.TrajectoryRequest
	events := 0
	for _, id := range taskIDs {
		trials := byTask[id]
		for _, ep := range trials[:len(trials)-1] {
			earlier = append(earlier, toRequest(ep.Trajectory, 0))
			events += 1 + len(ep.Trajectory.FailedSteps())
		}
	}
	for i := 0; i < len(earlier); i += *batch {
		if err := recordBatch(ctx, e, key, earlier[i:min(i+*batch, len(earlier))]); err != nil {
			return err
		}
	}
	learnStart := time.Now()
	if _, err := benchkit.WaitLearning(ctx, e.client, benchkit.LearningWait{Label: "taureplay/learn", Timeout: 10 * time.Minute}, bearer(key)); err != nil {
		return fmt.Errorf("taureplay: the worker learning from the %d events of the earlier trials: %w", events, err)
	}
	rep.Set("learn.events", float64(events))
	rep.Set("learn.seconds", time.Since(learnStart).Seconds())

	// Ask recall with trial k's task; compare the notes with trial k's errors.
	type taskResult struct {
		id                      string
		repeat, covered, errors int
		tokens, history         int
	}
	var results []taskResult
	var ratios []float64
	repeatTotal, coveredTotal, anyRepeat, anyCovered := 0, 0, 0, 0
	seenAnywhere := map[string]bool{}
	for _, id := range taskIDs {
		trials := byTask[id]
		for _, ep := range trials[:len(trials)-1] {
			for _, s := range ep.Trajectory.FailedSteps() {
				seenAnywhere[signature.FromStep(s).ID()] = true
			}
		}
	}
	for _, id := range taskIDs {
		trials := byTask[id]
		last := trials[len(trials)-1].Trajectory
		seen := map[string]bool{}
		history := 0
		for _, ep := range trials[:len(trials)-1] {
			for _, s := range ep.Trajectory.FailedSteps() {
				seen[signature.FromStep(s).ID()] = true
			}
			n, err := recall.CountTokens(historyText(ep.Trajectory))
			if err != nil {
				return err
			}
			history += n
		}
		task := last.Task
		r, err := e.client.RecallWithResponse(ctx, client.RecallRequest{Task: &task, Budget: budget}, bearer(key))
		if err != nil {
			return err
		}
		if r.JSON200 == nil {
			return fmt.Errorf("%w: recall %d %s", errBadStatus, r.StatusCode(), r.Body)
		}
		recalled := map[string]bool{}
		for _, it := range r.JSON200.Items {
			if it.Kind == string(admem.KindMistake) && it.Key != nil {
				recalled[*it.Key] = true
			}
		}
		tr := taskResult{id: id, tokens: r.JSON200.Tokens, history: history}
		for _, s := range last.FailedSteps() {
			sig := signature.FromStep(s).ID()
			tr.errors++
			if seen[sig] {
				tr.repeat++
				if recalled[sig] {
					tr.covered++
				}
			}
			if seenAnywhere[sig] {
				anyRepeat++
				if recalled[sig] {
					anyCovered++
				}
			}
		}
		repeatTotal += tr.repeat
		coveredTotal += tr.covered
		if history > 0 {
			ratios = append(ratios, float64(tr.tokens)/float64(history))
		}
		results = append(results, tr)
	}
	coverage := 0.0
	if repeatTotal > 0 {
		coverage = float64(coveredTotal) / float64(repeatTotal)
	}
	rep.Set("recall.note_coverage", coverage)
	rep.Set("recall.repeat_errors", float64(repeatTotal))
	rep.Set("recall.repeat_errors_covered", float64(coveredTotal))
	if anyRepeat > 0 {
		rep.Set("recall.note_coverage_any_task", float64(anyCovered)/float64(anyRepeat))
	}
	rep.Set("recall.tokens_ratio_median", benchkit.Median(ratios))
	rows := make([][]string, 0, len(results))
	for _, tr := range results {
		rows = append(rows, []string{tr.id, strconv.Itoa(tr.errors), strconv.Itoa(tr.repeat), strconv.Itoa(tr.covered),
			strconv.Itoa(tr.tokens), strconv.Itoa(tr.history)})
	}
	rep.AddTable(benchkit.Table{Title: "Trial k per task", Header: []string{"task", "errors", "repeat errors", "covered by a recalled note",
		"recall tokens", "prior history tokens"}, Rows: rows})

	// Recall latency over many requests, cycling through the tasks.
	var lat benchkit.Latencies
	lprog := benchkit.Progress{Label: "taureplay/recall", Total: *recalls}
	for i := 0; i < *recalls; i++ {
		trials := byTask[taskIDs[i%len(taskIDs)]]
		task := trials[len(trials)-1].Trajectory.Task
		start := time.Now()
		r, err := e.client.RecallWithResponse(ctx, client.RecallRequest{Task: &task, Budget: budget}, bearer(key))
		if err != nil {
			return err
		}
		if r.StatusCode() != http.StatusOK {
			return fmt.Errorf("%w: recall %d %s", errBadStatus, r.StatusCode(), r.Body)
		}
		lat.Add(r.HTTPResponse.Header, time.Since(start))
		lprog.Step(i + 1)
	}
	lat.Report(rep, "recall")
	if err := rep.LatencyCDF(e.out, "recall-latency", "POST /v1/recall latency", map[string][]float64{
		"server": lat.Server(), "client": lat.Client()}); err != nil {
		return err
	}

	// Ingest throughput: 10-step trajectories through the batch endpoint.
	if *ingestN > 0 {
		rate, curve, err := ingest(ctx, e, eps, *ingestN, *batch, *conc)
		if err != nil {
			return err
		}
		if err := rep.LinePlot(e.out, "ingest", "Batch ingest of 10-step trajectories", "seconds", "trajectories recorded",
			[]benchkit.Series{curve}); err != nil {
			return err
		}
		rep.Set("ingest.trajectories_per_s", rate)
		rep.Set("ingest.steps_per_s", rate*10)
	}

	rep.AddTable(benchkit.Table{Title: "Summary", Header: []string{"metric", "value", "target"}, Rows: [][]string{
		{"recall.note_coverage", f(rep.Metrics["recall.note_coverage"]), "≥ 0.8"},
		{"recall.tokens_ratio_median", f(rep.Metrics["recall.tokens_ratio_median"]), "≤ 0.1"},
		{"recall.p50_ms (server)", f(rep.Metrics["recall.p50_ms"]), "≤ 20"},
		{"recall.p99_ms (server)", f(rep.Metrics["recall.p99_ms"]), ""},
		{"recall.client_p50_ms", f(rep.Metrics["recall.client_p50_ms"]), ""},
		{"ingest.trajectories_per_s", f(rep.Metrics["ingest.trajectories_per_s"]), "≥ 1000"},
	}})
	rep.Note("Repeat errors are trial-k failed steps whose error signature occurred in trials 1..k-1 of the same task; " +
		"`recall.note_coverage_any_task` counts signatures seen in any earlier trial of any task. The history is trials 1..k-1 " +
		"rendered as task, actions with arguments, and results, counted with the same cl100k_base tokenizer as the recall. " +
		"Ingest runs while the worker learns from what it ingests, on the same machine.")
	if err := rep.Write(e.out); err != nil {
		return err
	}
	fmt.Print(rep.Markdown())
	return nil
}

// toRequest converts a trajectory for the API; steps > 0 pads or cuts the
// steps to exactly that many.
func toRequest(t admem.Trajectory, steps int) client.TrajectoryRequest {
	src := t.Steps
	if steps > 0 && len(src) > 0 {
		out := make([]admem.Step, steps)
		for i := range out {
			out[i] = src[i%len(src)]
		}
		src = out
	}
	ss := make([]client.StepRequest, len(src))
	for i, s := range src {
		args := s.Args
		st := client.StepRequestStatus(s.Status)
		obs := s.Observation
		if len(obs) > 2000 {
			obs = obs[:2000]
		}
		ss[i] = client.StepRequest{Action: s.Action, Args: &args, Status: &st, Observation: &obs}
		if s.Error != "" {
			errText := s.Error
			ss[i].Error = &errText
		}
	}
	req := client.TrajectoryRequest{Task: t.Task, Steps: &ss}
	if t.Outcome != admem.OutcomeUnknown {
		o := client.TrajectoryRequestOutcome(t.Outcome)
		req.Outcome = &o
	}
	if t.Scope.UserID != "" {
		u := t.Scope.UserID
		req.Scope = &client.TrajectoryScope{UserId: &u}
	}
	return req
}

func recordBatch(ctx context.Context, e *env, key string, ts []client.TrajectoryRequest) error {
	r, err := e.client.RecordTrajectoryBatchWithResponse(ctx, nil, client.TrajectoryBatchRequest{Trajectories: ts}, bearer(key))
	if err != nil {
		return err
	}
	if r.JSON201 == nil {
		return fmt.Errorf("%w: batch %d %.500s", errBadStatus, r.StatusCode(), r.Body)
	}
	return nil
}

// historyText is a trajectory as an agent would paste it into a prompt.
func historyText(t admem.Trajectory) string {
	var b strings.Builder
	b.WriteString("Task: " + t.Task + "\n")
	for _, s := range t.Steps {
		args, _ := json.Marshal(s.Args)
		fmt.Fprintf(&b, "%s(%s) -> %s\n", s.Action, args, s.Observation)
	}
	fmt.Fprintf(&b, "Outcome: %s\n", t.Outcome)
	return b.String()
}

// ingest posts n 10-step trajectories built from the log's episodes in
// batches, conc at a time, into a fresh tenant, and returns trajectories/s.
func ingest(ctx context.Context, e *env, eps []taubench.Episode, n, batch, conc int) (float64, benchkit.Series, error) {
	curve := benchkit.Series{Name: "recorded", X: []float64{0}, Y: []float64{0}}
	_, key, err := e.tenant(ctx, "bench-ingest")
	if err != nil {
		return 0, curve, err
	}
	var usable []admem.Trajectory
	for _, ep := range eps {
		if len(ep.Trajectory.Steps) > 0 {
			usable = append(usable, ep.Trajectory)
		}
	}
	if len(usable) == 0 {
		return 0, curve, fmt.Errorf("no episode has steps")
	}
	var batches [][]client.TrajectoryRequest
	for i := 0; i < n; i += batch {
		var b []client.TrajectoryRequest
		for j := i; j < min(i+batch, n); j++ {
			t := usable[j%len(usable)]
			t.Task = fmt.Sprintf("%s (run %d)", t.Task, j)
			b = append(b, toRequest(t, 10))
		}
		batches = append(batches, b)
	}
	var next, done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	prog := benchkit.Progress{Label: "taureplay/ingest", Total: n}
	var pmu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batches) {
					return
				}
				if err := recordBatch(ctx, e, key, batches[i]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				d := done.Add(int64(len(batches[i])))
				pmu.Lock()
				prog.Step(int(d))
				curve.X = append(curve.X, time.Since(start).Seconds())
				curve.Y = append(curve.Y, float64(d))
				pmu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, curve, firstErr
	}
	return float64(n) / time.Since(start).Seconds(), curve, nil
}
