package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/adapters/adapterstest"
	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/learner/adapter"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/taubench"
	"github.com/admem/admem/internal/wiring"
)

// guardContextSteps is how many preceding steps each guard request carries.
const guardContextSteps = 20

// runTauReplayGuard is `taureplay --guard`: it learns from trials 1..k-1 of
// every task through the real API and worker, then replays trial k step by
// step, asking POST /v1/guard before each tool call, and scores the answers
// against what the call actually did. It also measures time-to-learn
// (failing trajectory posted → first guard answer flagging that mistake)
// and the worker's train + gate + publish on 10,000 labelled steps.
func runTauReplayGuard(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("taureplay --guard", flag.ContinueOnError)
	guards := fs.Int("guards", 2000, "guard requests for the latency figures")
	ttlN := fs.Int("ttl", 40, "failing trajectories for the time-to-learn figure")
	ttlMax := fs.Duration("ttl-max", 10*time.Second, "give up waiting for guard to flag a posted mistake after this")
	adapterWait := fs.Duration("adapter-wait", 75*time.Second, "wait this long for the worker to train a first adapter (0: don't wait)")
	rotate := fs.Bool("rotate", true, "also test on every trial in turn, learning from the other trials (more calls, same file)")
	train := fs.Bool("train", true, "measure train + gate + publish on 10,000 labelled steps (needs ADMEM_DATABASE_URL etc., as make bench-* sets)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data := firstNonEmpty(e.data, "../shared/data/taubench/airline-dev.json")
	eps, err := taubench.Load(data)
	if err != nil {
		return err
	}
	rep := benchkit.NewReport("taureplay-guard", map[string]any{"data": data, "guards": *guards, "ttl": *ttlN,
		"context_steps": guardContextSteps, "api": e.apiURL})
	byTask, taskIDs := groupTrials(eps)

	// Learn from trials 1..k-1 of every task, through the API and worker.
	tenantID, key, err := e.tenant(ctx, "bench-guard")
	if err != nil {
		return err
	}
	sp := lastTrialSplit(byTask, taskIDs, -1)
	events, secs, err := learnSplit(ctx, e, key, sp, taskIDs)
	if err != nil {
		return err
	}
	rep.Set("learn.events", float64(events))
	rep.Set("learn.seconds", secs)
	version, status, err := waitAdapter(ctx, e, key, *adapterWait)
	if err != nil {
		return err
	}
	rep.Note("Adapter after learning: %s.", adapterSummary(version, status, *adapterWait))

	// Replay trial k of every task, step by step.
	type arm struct {
		name       string
		useAdapter bool
	}
	arms := []arm{{"notes + adapter", true}}
	if status == "active" {
		arms = append(arms, arm{"notes alone (use_adapter false)", false})
	}
	var main replayResult
	var rocs []benchkit.Series
	var summaryRows [][]string
	for ai, a := range arms {
		if err := setUseAdapter(ctx, e, key, a.useAdapter); err != nil {
			return err
		}
		res, err := replayGuard(ctx, e, key, sp, taskIDs)
		if err != nil {
			return err
		}
		if ai == 0 {
			main = res
		}
		fpr, tpr := res.roc()
		rocs = append(rocs, benchkit.Series{Name: fmt.Sprintf("%s (AUC %.3f)", a.name, res.auc()), X: fpr, Y: tpr})
		summaryRows = append(summaryRows, []string{a.name, res.adapter, f(res.recallRepeat()), f(res.recallAll()), f(res.fpr()), f(res.auc()),
			strconv.Itoa(res.repeat), strconv.Itoa(res.errors), strconv.Itoa(res.ok)})
	}
	if err := setUseAdapter(ctx, e, key, true); err != nil {
		return err
	}
	rep.Set("guard.recall_repeat_errors", main.recallRepeat())
	rep.Set("guard.recall_all_errors", main.recallAll())
	rep.Set("guard.recall_repeat_errors_any_task", main.recallRepeatAny())
	rep.Set("guard.fpr", main.fpr())
	rep.Set("guard.auc", main.auc())
	rep.Set("guard.calls", float64(len(main.risks)))
	rep.Set("guard.repeat_errors", float64(main.repeat))
	rep.Set("guard.errors", float64(main.errors))
	rep.AddTable(benchkit.Table{Title: "Trial-k replay (flagged = warn or block)", Header: []string{"guard", "adapter", "recall on repeat errors",
		"recall on all errors", "false-positive rate", "AUC", "repeat errors", "errors", "successful calls"}, Rows: summaryRows})
	if err := rep.LinePlot(e.out, "roc", "Guard risk vs erroring calls (trial k)", "false-positive rate", "true-positive rate", rocs); err != nil {
		return err
	}
	rep.AddTable(benchkit.Table{Title: "Wrong answers (" + arms[0].name + ")", Header: []string{"task", "what", "decision", "risk", "note risk",
		"adapter risk", "action"}, Rows: main.wrong})
	rows := make([][]string, 0, len(main.byTask))
	for _, t := range main.byTask {
		rows = append(rows, []string{t.id, strconv.Itoa(t.calls), strconv.Itoa(t.errors), strconv.Itoa(t.repeat), strconv.Itoa(t.flaggedRepeat), strconv.Itoa(t.flaggedOK)})
	}
	rep.AddTable(benchkit.Table{Title: "Trial k per task", Header: []string{"task", "tool calls", "errors", "repeat errors", "repeat errors flagged",
		"successful calls flagged"}, Rows: rows})

	if *rotate {
		if err := rotateTrials(ctx, e, rep, byTask, taskIDs, *adapterWait); err != nil {
			return err
		}
	}

	// Guard latency over many requests, cycling through the replay's.
	var lat benchkit.Latencies
	lprog := benchkit.Progress{Label: "taureplay-guard/latency", Total: *guards}
	for i := 0; i < *guards; i++ {
		body := main.requests[i%len(main.requests)]
		start := time.Now()
		_, h, err := askGuard(ctx, e, key, body)
		if err != nil {
			return err
		}
		lat.Add(h, time.Since(start))
		lprog.Step(i + 1)
	}
	lat.Report(rep, "guard")
	if err := rep.LatencyCDF(e.out, "latency", "POST /v1/guard latency", map[string][]float64{"server": lat.Server(), "client": lat.Client()}); err != nil {
		return err
	}

	// Time-to-learn through mistake notes, in a tenant of its own.
	ttl, notLearned, skipped, err := timeToLearn(ctx, e, eps, *ttlN, *ttlMax)
	if err != nil {
		return err
	}
	rep.Set("learn.time_to_learn_p50_s", benchkit.Median(ttl))
	rep.Set("learn.time_to_learn_p95_s", benchkit.Percentile(ttl, 95))
	rep.Set("learn.time_to_learn_n", float64(len(ttl)))
	rep.Set("learn.time_to_learn_not_learned", float64(notLearned))
	rep.Note("Time-to-learn: %d failing trajectories of the log, each posted (POST /v1/trajectories) to a tenant of its own "+
		"that knows nothing yet; guard is asked about the first failed call (its task, the steps before it, the call) once before "+
		"the POST, then right after it returns and every 5 ms until it warns or blocks. %d were skipped (flagged before the POST), "+
		"%d were not flagged within %s and count as %s.", len(ttl), skipped, notLearned, *ttlMax, *ttlMax)

	// Train + gate + publish on 10,000 labelled steps: the worker's code.
	if *train {
		secs, res, err := trainPublish10k(ctx, e, tenantID)
		if err != nil {
			return fmt.Errorf("train + gate + publish: %w", err)
		}
		rep.Set("adapter.train_publish_s_10k", secs)
		rep.Note("adapter.train_publish_s_10k: adapters.Trainer.TrainTenant (what the worker's adapter-train job runs) on 10,000 "+
			"synthetic labelled steps at dimension %d (adapterstest.SynthSteps, as BenchmarkTrainPublish10k): reading the "+
			"examples, training, held-out evaluation, the judge's gate, storing the version and announcing it. Result: "+
			"version %d %s, train %d, held out %d.", adapter.DefaultDim, res.Version.Version, res.Version.Status, res.TrainN, res.HeldOut)
	}

	rep.AddTable(benchkit.Table{Title: "Summary", Header: []string{"metric", "value", "target"}, Rows: [][]string{
		{"guard.recall_repeat_errors", f(rep.Metrics["guard.recall_repeat_errors"]), "≥ 0.6"},
		{"guard.fpr", f(rep.Metrics["guard.fpr"]), "≤ 0.10"},
		{"guard.auc", f(rep.Metrics["guard.auc"]), ""},
		{"guard.p50_ms (server)", f(rep.Metrics["guard.p50_ms"]), "≤ 5"},
		{"guard.p99_ms (server)", f(rep.Metrics["guard.p99_ms"]), "≤ 25"},
		{"learn.time_to_learn_p95_s", f(rep.Metrics["learn.time_to_learn_p95_s"]), "≤ 2"},
		{"adapter.train_publish_s_10k", f(rep.Metrics["adapter.train_publish_s_10k"]), "≤ 15"},
	}})
	rep.Note("Replay: for every task, trials 1..k-1 are recorded through the batch endpoint and the worker processes their events; "+
		"then each tool call of trial k is put to POST /v1/guard with the task and the %d steps before it as context. A repeat error "+
		"is a trial-k call that failed with an error signature (tool, error class, message template) seen in trials 1..k-1 of the same "+
		"task; `guard.recall_repeat_errors_any_task` counts signatures seen in any earlier trial of any task. AUC is of guard's risk "+
		"against the call erroring, over all trial-k calls. Latency is server side (Server-Timing app;dur).", guardContextSteps)
	return rep.Finish(e.out, os.Stdout)
}

// groupTrials groups episodes by task, trials in order; task ids in file order.
func groupTrials(eps []taubench.Episode) (map[string][]taubench.Episode, []string) {
	byTask := map[string][]taubench.Episode{}
	var ids []string
	for _, ep := range eps {
		if _, ok := byTask[ep.TaskID]; !ok {
			ids = append(ids, ep.TaskID)
		}
		byTask[ep.TaskID] = append(byTask[ep.TaskID], ep)
	}
	for _, id := range ids {
		sort.SliceStable(byTask[id], func(i, j int) bool { return byTask[id][i].Trial < byTask[id][j].Trial })
	}
	return byTask, ids
}

// rotateTrials tests on each trial index in turn, each in a tenant of its
// own that learnt from the task's other trials (later ones included), and
// reports the pooled figures: four times the calls of the trial-k replay,
// from the same file.
func rotateTrials(ctx context.Context, e *env, rep *benchkit.Report, byTask map[string][]taubench.Episode, taskIDs []string, adapterWait time.Duration) error {
	most := 0
	for _, id := range taskIDs {
		most = max(most, len(byTask[id]))
	}
	var pooled replayResult
	var rows [][]string
	for k := 0; k < most; k++ {
		sp := lastTrialSplit(byTask, taskIDs, k)
		_, key, err := e.tenant(ctx, fmt.Sprintf("bench-guard-rot%d", k+1))
		if err != nil {
			return err
		}
		if _, _, err := learnSplit(ctx, e, key, sp, taskIDs); err != nil {
			return err
		}
		version, status, err := waitAdapter(ctx, e, key, adapterWait)
		if err != nil {
			return err
		}
		res, err := replayGuard(ctx, e, key, sp, taskIDs)
		if err != nil {
			return err
		}
		rows = append(rows, []string{strconv.Itoa(k + 1), adapterSummary(version, status, adapterWait), f(res.recallRepeat()), f(res.fpr()), f(res.auc()),
			strconv.Itoa(res.repeat), strconv.Itoa(res.errors), strconv.Itoa(res.ok)})
		pooled.merge(res)
	}
	rows = append(rows, []string{"pooled", "", f(pooled.recallRepeat()), f(pooled.fpr()), f(pooled.auc()),
		strconv.Itoa(pooled.repeat), strconv.Itoa(pooled.errors), strconv.Itoa(pooled.ok)})
	rep.AddTable(benchkit.Table{Title: "Each trial in turn as the test trial (learning from the task's other trials)", Header: []string{"test trial",
		"adapter", "recall on repeat errors", "false-positive rate", "AUC", "repeat errors", "errors", "successful calls"}, Rows: rows})
	rep.Set("guard.rotated.recall_repeat_errors", pooled.recallRepeat())
	rep.Set("guard.rotated.fpr", pooled.fpr())
	rep.Set("guard.rotated.auc", pooled.auc())
	rep.Set("guard.rotated.repeat_errors", float64(pooled.repeat))
	return nil
}

// merge appends another replay's answers.
func (r *replayResult) merge(o replayResult) {
	off := len(r.risks)
	r.risks = append(r.risks, o.risks...)
	r.erroring = append(r.erroring, o.erroring...)
	r.flagged = append(r.flagged, o.flagged...)
	for _, i := range o.repeatIdx {
		r.repeatIdx = append(r.repeatIdx, off+i)
	}
	for _, i := range o.anyRepeat {
		r.anyRepeat = append(r.anyRepeat, off+i)
	}
	r.errors += o.errors
	r.repeat += o.repeat
	r.ok += o.ok
	r.flaggedOK += o.flaggedOK
	r.flaggedErr += o.flaggedErr
}

// split is what a task learns from and the trial it is tested on.
type split struct {
	learn []taubench.Episode
	test  taubench.Episode
}

// lastTrialSplit tests each task on its trial at index k (-1: the last),
// learning from the trials before it, or with rotate from all the others.
// Tasks without that trial are left out.
func lastTrialSplit(byTask map[string][]taubench.Episode, taskIDs []string, k int) map[string]split {
	out := map[string]split{}
	for _, id := range taskIDs {
		trials := byTask[id]
		if len(trials) < 2 {
			continue
		}
		if k < 0 {
			out[id] = split{learn: trials[:len(trials)-1], test: trials[len(trials)-1]}
			continue
		}
		if k >= len(trials) {
			continue
		}
		var learn []taubench.Episode
		learn = append(learn, trials[:k]...)
		learn = append(learn, trials[k+1:]...)
		out[id] = split{learn: learn, test: trials[k]}
	}
	return out
}

// learnSplit records the learning trials through the batch endpoint and
// waits until the worker has learnt from them: none of the tenant's events
// pending (GET /v1/learning/status).
func learnSplit(ctx context.Context, e *env, key string, sp map[string]split, taskIDs []string) (events int, secs float64, err error) {
	var reqs []client.TrajectoryRequest
	for _, id := range taskIDs {
		for _, ep := range sp[id].learn {
			reqs = append(reqs, toRequest(ep.Trajectory, 0))
			events += 1 + len(ep.Trajectory.FailedSteps())
		}
	}
	for i := 0; i < len(reqs); i += 50 {
		if err := recordBatch(ctx, e, key, reqs[i:min(i+50, len(reqs))]); err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	if _, err := benchkit.WaitLearning(ctx, e.client, benchkit.LearningWait{Label: "taureplay-guard/learn", Timeout: 10 * time.Minute}, bearer(key)); err != nil {
		return 0, 0, fmt.Errorf("taureplay-guard: the worker learning from the %d events of the learning trials: %w", events, err)
	}
	return events, time.Since(start).Seconds(), nil
}

// replayResult is guard's answers on every trial-k tool call.
type replayResult struct {
	adapter              string
	risks                []float64
	erroring             []bool
	flagged              []bool
	repeatIdx, anyRepeat []int // calls whose error repeats one seen before
	errors, repeat, ok   int
	byTask               []taskGuard
	requests             [][]byte
	// wrong lists the flagged successful calls and the missed repeat
	// errors: what limits the figures.
	wrong                 [][]string
	flaggedOK, flaggedErr int
}

type taskGuard struct {
	id                                              string
	calls, errors, repeat, flaggedRepeat, flaggedOK int
}

func (r replayResult) share(idx []int) float64 {
	if len(idx) == 0 {
		return math.NaN()
	}
	n := 0
	for _, i := range idx {
		if r.flagged[i] {
			n++
		}
	}
	return float64(n) / float64(len(idx))
}

func (r replayResult) recallRepeat() float64    { return r.share(r.repeatIdx) }
func (r replayResult) recallRepeatAny() float64 { return r.share(r.anyRepeat) }
func (r replayResult) recallAll() float64       { return ratio(r.flaggedErr, r.errors) }
func (r replayResult) fpr() float64             { return ratio(r.flaggedOK, r.ok) }
func (r replayResult) auc() float64             { return adapter.AUC(r.risks, r.erroring) }

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// roc is the ROC curve of risk against erroring: one point per distinct risk.
func (r replayResult) roc() (fpr, tpr []float64) {
	order := make([]int, len(r.risks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return r.risks[order[a]] > r.risks[order[b]] })
	fpr, tpr = []float64{0}, []float64{0}
	tp, fp := 0, 0
	for k, i := range order {
		if r.erroring[i] {
			tp++
		} else {
			fp++
		}
		if k+1 < len(order) && r.risks[order[k+1]] == r.risks[i] {
			continue
		}
		fpr = append(fpr, ratio(fp, r.ok))
		tpr = append(tpr, ratio(tp, r.errors))
	}
	return fpr, tpr
}

// replayGuard asks guard before every tool call of each task's last trial.
func replayGuard(ctx context.Context, e *env, key string, sp map[string]split, taskIDs []string) (replayResult, error) {
	var res replayResult
	seenAny := map[string]bool{}
	total := 0
	for _, id := range taskIDs {
		if t, ok := sp[id]; ok {
			for _, ep := range t.learn {
				for _, s := range ep.Trajectory.FailedSteps() {
					seenAny[signature.FromStep(s).ID()] = true
				}
			}
			total += len(t.test.Trajectory.Steps)
		}
	}
	prog := benchkit.Progress{Label: "taureplay-guard/replay", Total: total}
	for _, id := range taskIDs {
		t, ok := sp[id]
		if !ok {
			continue
		}
		seen := map[string]bool{}
		for _, ep := range t.learn {
			for _, s := range ep.Trajectory.FailedSteps() {
				seen[signature.FromStep(s).ID()] = true
			}
		}
		last := t.test.Trajectory
		tg := taskGuard{id: id}
		for i, s := range last.Steps {
			body, err := json.Marshal(guardRequest(last.Task, last.Steps[max(0, i-guardContextSteps):i], s))
			if err != nil {
				return res, err
			}
			ans, _, err := askGuard(ctx, e, key, body)
			if err != nil {
				return res, err
			}
			res.adapter = ans.Adapter
			r := ans.Results[0]
			flagged := r.Decision != "allow"
			k := len(res.risks)
			res.requests = append(res.requests, body)
			res.risks = append(res.risks, r.Risk)
			res.erroring = append(res.erroring, s.Failed())
			res.flagged = append(res.flagged, flagged)
			tg.calls++
			if s.Failed() {
				res.errors++
				tg.errors++
				if flagged {
					res.flaggedErr++
				}
				sig := signature.FromStep(s).ID()
				if seen[sig] {
					res.repeat++
					tg.repeat++
					res.repeatIdx = append(res.repeatIdx, k)
					if flagged {
						tg.flaggedRepeat++
					}
				}
				if seenAny[sig] {
					res.anyRepeat = append(res.anyRepeat, k)
				}
			} else {
				res.ok++
				if flagged {
					res.flaggedOK++
					tg.flaggedOK++
				}
			}
			if flagged != s.Failed() && (flagged || seen[signature.FromStep(s).ID()]) {
				what, ar := "flagged success", "-"
				if s.Failed() {
					what = "missed repeat error"
				}
				if r.AdapterRisk != nil {
					ar = f(*r.AdapterRisk)
				}
				res.wrong = append(res.wrong, []string{id, what, r.Decision, f(r.Risk), f(r.NoteRisk), ar, clip(r.Action, 160)})
			}
			prog.Step(len(res.risks))
		}
		res.byTask = append(res.byTask, tg)
	}
	return res, nil
}

// guardRequest is the request before taking step next after the context.
func guardRequest(task string, context []admem.Step, next admem.Step) map[string]any {
	ctxSteps := make([]map[string]any, 0, len(context))
	for _, s := range context {
		st := map[string]any{"tool": s.Action, "args": orEmpty(s.Args), "status": "ok"}
		if s.Failed() {
			st["status"], st["error"] = "error", s.Error
		}
		if obs := s.Observation; obs != "" {
			if len(obs) > 500 {
				obs = obs[:500]
			}
			st["observation"] = strings.ToValidUTF8(obs, "")
		}
		ctxSteps = append(ctxSteps, st)
	}
	return map[string]any{"task": task, "context": ctxSteps,
		"candidates": []map[string]any{{"tool": next.Action, "args": orEmpty(next.Args)}}}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// guardAnswer is the part of a guard response the benchmark reads.
type guardAnswer struct {
	Adapter string `json:"adapter"`
	Results []struct {
		Risk        float64  `json:"risk"`
		NoteRisk    float64  `json:"note_risk"`
		AdapterRisk *float64 `json:"adapter_risk"`
		Decision    string   `json:"decision"`
		Action      string   `json:"action"`
	} `json:"results"`
}

// askGuard posts a guard request and returns the answer and its headers.
func askGuard(ctx context.Context, e *env, key string, body []byte) (guardAnswer, http.Header, error) {
	var ans guardAnswer
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(e.apiURL, "/")+"/v1/guard", bytes.NewReader(body))
	if err != nil {
		return ans, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return ans, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return ans, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return ans, nil, fmt.Errorf("%w: guard %d %.500s", errBadStatus, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &ans); err != nil || len(ans.Results) == 0 {
		return ans, nil, fmt.Errorf("guard answer %.300s: %v", raw, err)
	}
	return ans, resp.Header, nil
}

// setUseAdapter switches the tenant's adapter on or off for guard, keeping
// the default thresholds.
func setUseAdapter(ctx context.Context, e *env, key string, on bool) error {
	r, err := e.client.PutGuardSettingsWithResponse(ctx, client.GuardSettingsUpdate{Warn: admem.DefaultGuardWarn, Block: admem.DefaultGuardBlock,
		UseAdapter: &on}, bearer(key))
	if err != nil {
		return err
	}
	if r.JSON200 == nil {
		return fmt.Errorf("%w: guard settings %d %s", errBadStatus, r.StatusCode(), r.Body)
	}
	return nil
}

// waitAdapter waits up to wait for the worker to store a first adapter
// version of the tenant; it returns the version and its status ("" none).
func waitAdapter(ctx context.Context, e *env, key string, wait time.Duration) (int, string, error) {
	deadline := time.Now().Add(wait)
	prog := benchkit.Progress{Label: "taureplay-guard/adapter", Total: int(wait.Seconds())}
	start := time.Now()
	for {
		r, err := e.client.ListAdaptersWithResponse(ctx, nil, bearer(key))
		if err != nil {
			return 0, "", err
		}
		if r.JSON200 == nil {
			return 0, "", fmt.Errorf("%w: adapters %d %s", errBadStatus, r.StatusCode(), r.Body)
		}
		for _, v := range r.JSON200.Items {
			if string(v.Status) == "active" {
				return v.Version, "active", nil
			}
		}
		if !time.Now().Before(deadline) {
			if len(r.JSON200.Items) > 0 {
				return r.JSON200.Items[0].Version, string(r.JSON200.Items[0].Status), nil
			}
			return 0, "", nil
		}
		prog.Step(int(time.Since(start).Seconds()))
		time.Sleep(time.Second)
	}
}

func adapterSummary(version int, status string, wait time.Duration) string {
	if version == 0 {
		return fmt.Sprintf("none trained within %s (guard answers from mistake notes and failure clusters)", wait)
	}
	return fmt.Sprintf("version %d, %s", version, status)
}

// timeToLearn posts failing trajectories, each to a fresh tenant that
// knows nothing yet, and measures how long until guard flags the first
// failed call. Guard is asked once before the POST too, as an agent would
// have, so its per-tenant note cache is warm and stale, as in use.
func timeToLearn(ctx context.Context, e *env, eps []taubench.Episode, n int, maxWait time.Duration) (secs []float64, notLearned, skipped int, err error) {
	prog := benchkit.Progress{Label: "taureplay-guard/time-to-learn", Total: n}
	for _, ep := range eps {
		if len(secs) >= n {
			break
		}
		t := ep.Trajectory
		first := -1
		for i, s := range t.Steps {
			if s.Failed() {
				first = i
				break
			}
		}
		if first < 0 {
			continue
		}
		body, err := json.Marshal(guardRequest(t.Task, t.Steps[max(0, first-guardContextSteps):first], t.Steps[first]))
		if err != nil {
			return nil, 0, 0, err
		}
		_, key, err := e.tenant(ctx, "bench-guard-ttl")
		if err != nil {
			return nil, 0, 0, err
		}
		ans, _, err := askGuard(ctx, e, key, body)
		if err != nil {
			return nil, 0, 0, err
		}
		if ans.Results[0].Decision != "allow" {
			skipped++ // a tenant of its own knows nothing: never expected
			continue
		}
		r, err := e.client.RecordTrajectoryWithResponse(ctx, nil, toRequest(t, 0), bearer(key))
		if err != nil {
			return nil, 0, 0, err
		}
		if r.StatusCode() != http.StatusCreated {
			return nil, 0, 0, fmt.Errorf("%w: record %d %.300s", errBadStatus, r.StatusCode(), r.Body)
		}
		posted := time.Now()
		for {
			ans, _, err := askGuard(ctx, e, key, body)
			if err != nil {
				return nil, 0, 0, err
			}
			if ans.Results[0].Decision != "allow" {
				secs = append(secs, time.Since(posted).Seconds())
				break
			}
			if time.Since(posted) > maxWait {
				secs = append(secs, maxWait.Seconds())
				notLearned++
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		prog.Step(len(secs))
	}
	return secs, notLearned, skipped, nil
}

// trainPublish10k runs the worker's train + gate + publish for a tenant
// with 10,000 synthetic labelled steps, on the benchmark's database.
func trainPublish10k(ctx context.Context, e *env, _ string) (float64, adapters.Result, error) {
	cfg, err := config.Load(e.getenv)
	if err != nil {
		return 0, adapters.Result{}, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	infra, err := wiring.Open(ctx, cfg, log)
	if err != nil {
		return 0, adapters.Result{}, err
	}
	defer infra.Close()
	tenantID, _, err := e.tenant(ctx, "bench-train")
	if err != nil {
		return 0, adapters.Result{}, err
	}
	if err := adapterstest.Record(ctx, infra.DB, tenantID, adapterstest.SynthSteps(10000, adapter.DefaultDim, 1, "bench")); err != nil {
		return 0, adapters.Result{}, err
	}
	trainer := adapters.NewTrainer(infra.DB, "synth", adapters.NewNotifier(infra.Redis, cfg.RedisPrefix), adapters.TrainOptions{MinNew: 1}, log)
	res, err := trainer.TrainTenant(ctx, tenantID)
	if err != nil {
		return 0, res, err
	}
	return res.Duration.Seconds(), res, nil
}
