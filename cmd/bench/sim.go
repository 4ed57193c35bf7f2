package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/simhttp"
)

// The sim command registers itself, so this file needs no edit of the shared
// command list in main.go.
func init() {
	commands = append(commands, command{"sim", "closed-loop tool-world simulator: success, FRR, RMR, steps, forgetting and overhead per memory arm", runSim})
}

// runSim is the closed-loop benchmark. By default it plays many generated
// worlds (runSimWorlds); with -world classic, the hand-written tool world of
// internal/sim played by the same noisy agent against one fresh tenant per
// arm (none, retrieval, notes, full; see internal/simhttp for what each arm
// asks the API), then the forgetting protocol per arm on another fresh
// tenant. Figures: ARM.success, ARM.long_horizon_success, ARM.frr, ARM.rmr,
// ARM.steps_per_success, ARM.forgetting_pp, full.time_to_learn_p95_s,
// full.overhead_p50_ms and full.overhead_p99_ms, plus the same over the
// second half of the run under ARM.tail.*.
func runSim(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	worldMode := fs.String("world", "generated", "generated: many freshly generated worlds (see -worlds), each arm played by the default and the cautious agent on fresh tenants; classic: the one hand-written world with its earlier figures")
	worlds := fs.Int("worlds", 10, "generated worlds, derived from -seed")
	parallel := fs.Int("parallel", 1, "generated worlds: runs (world, arm, agent) played at once; above 1 the runs share the worker, so Record waits only for its own tenant's failures to be clustered, not for the learner's queue")
	transient := fs.Float64("transient", 0.05, "generated worlds: share of calls that fail with a transient fault (5xx, timeout, rate limit)")
	episodes := fs.Int("episodes", 0, "episodes per arm (classic, default 400) or per world, arm and agent (generated, default 80: 10 worlds took about 50 minutes on 2 cores shared with other jobs at load 15)")
	seed := fs.Uint64("seed", 1, "world and schedule seed")
	long := fs.Float64("long", 0.35, "share of long-horizon tasks (shortest solution ≥ 30 steps)")
	drift := fs.Int("drift", -1, "episode index at which drift rules change (-1: half-way, 0: never)")
	armsFlag := fs.String("arms", "none,retrieval,notes,full", "comma-separated arms")
	window := fs.Int("window", 50, "learning-curve window in episodes")
	forget := fs.Bool("forget", true, "run the forgetting protocol per arm (default on with -world classic; off for generated worlds, where it would add more than the run's own time: pass -forget to run it on the first world)")
	forgetUpdates := fs.Int("forget-updates", 100, "updates between the two forgetting evaluations: adapter versions for the full arm (see -forget-count), recorded episodes of the other families for arms without an adapter")
	forgetCount := fs.String("forget-count", "trained", "what counts as an adapter update in the forgetting protocol: trained (every candidate the worker trained, whatever the gate decided) or published (versions the gate made active)")
	forgetWait := fs.Duration("forget-wait", 20*time.Second, "in the forgetting protocol, wait at most this long after each recorded episode for the next adapter update")
	forgetLearn := fs.Int("forget-learn", 20, "recorded episodes of the first family before the forgetting evaluation")
	forgetEval := fs.Int("forget-eval", 40, "unrecorded evaluation episodes of the first family, before and after (one episode is 100/N points of forgetting)")
	syncRec := fs.Duration("sync", 30*time.Second, "after recording a trajectory, wait at most this long for the worker to cluster its failures and learn from it (0: live asynchronous loop)")
	annotate := fs.Bool("annotate", true, "generated worlds: the tenant's admin declares what each tool does (reads are read_only, the rest writes) and confirms each renamed tool as its other name's replacement, as an admin who knows its tools would (docs/trust.md: dangerous actions); false: classes inferred from the names only")
	feedback := fs.Bool("feedback", false, "notes and full arms rate each recall with the episode's outcome (POST /v1/recalls/{id}/feedback)")
	drain := fs.Duration("drain", 5*time.Minute, "after each phase, wait at most this long for the worker to finish the phase tenant's events (GET /v1/learning/status), so arms do not inherit each other's backlog")
	snapshots := fs.Bool("diagnose", true, "list each arm tenant's mistake notes before every episode: RMR counts a failed step as a repeat when a note with its error signature existed (DESIGN.md), and sim.md breaks the repeats down by why they happened")
	dump := fs.String("dump-repeats", "", "append each repeated mistake (a failed step whose signature had a note) with its diagnosis to this JSON-lines file")
	tauPath := fs.String("tau", "../shared/data/taubench/airline-dev.json", "real agents' logs (tau-bench format) whose wasted calls are measured as the arms' are, to compare the stand-in agent's noise with data (\"\": skip)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch *worldMode {
	case "classic":
		if *episodes == 0 {
			*episodes = 400
		}
	case "generated":
		if *episodes == 0 {
			*episodes = 80
		}
		if !set["arms"] {
			*armsFlag = "none,notes,full"
		}
		if !set["forget"] {
			*forget = false
		}
	default:
		return fmt.Errorf("sim: -world %q: want generated or classic", *worldMode)
	}
	var arms []simhttp.Arm
	for _, s := range strings.Split(*armsFlag, ",") {
		a, err := simhttp.ParseArm(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		arms = append(arms, a)
	}
	if *drift < 0 {
		*drift = *episodes / 2
	}
	count := sim.UpdateKind(*forgetCount)
	if count != sim.UpdateTrained && count != sim.UpdatePublished {
		return fmt.Errorf("sim: -forget-count %q: want trained or published", *forgetCount)
	}
	if *worldMode == "generated" {
		return runSimWorlds(ctx, e, worldsOptions{seed: *seed, worlds: *worlds, episodes: *episodes, long: *long, drift: *drift,
			arms: arms, parallel: *parallel, transient: *transient, window: *window, sync: *syncRec, feedback: *feedback, annotate: *annotate,
			drain: *drain, forget: *forget, forgetUpdates: *forgetUpdates, forgetCount: count,
			forgetWait: *forgetWait, forgetLearn: *forgetLearn, forgetEval: *forgetEval})
	}
	rep := benchkit.NewReport("sim", map[string]any{"world": "classic", "episodes": *episodes, "seed": *seed, "long_share": *long, "drift_at": *drift,
		"arms": *armsFlag, "window": *window, "forget": *forget, "forget_updates": *forgetUpdates, "forget_learn": *forgetLearn,
		"forget_eval": *forgetEval, "forget_count": *forgetCount, "forget_wait": forgetWait.String(), "sync": syncRec.String(), "feedback": *feedback, "api": e.apiURL})
	world := sim.NewWorld(sim.Config{Seed: *seed, DriftAt: *drift})
	sched := sim.Schedule(*seed, *episodes, world.Families(), *long)
	agent := sim.DefaultAgentConfig()

	type armResult struct {
		arm      simhttp.Arm
		eps      []sim.EpisodeResult
		all      sim.Metrics
		tail     sim.Metrics
		timings  []simhttp.EpisodeTiming
		ttl      []time.Duration
		never    int
		forget   *sim.ForgettingResult
		memErrs  int
		recalled map[string]int
		diag     *rmrDiagnosis
		guard    *guardEvidence
	}
	var results []*armResult
	newMem := func(arm simhttp.Arm, label string) (sim.Memory, *simhttp.Memory, error) {
		if arm == simhttp.ArmNone {
			return simhttp.New(simhttp.Config{Arm: arm})
		}
		_, key, err := e.tenant(ctx, "bench-sim-"+label)
		if err != nil {
			return nil, nil, err
		}
		// The retrieval arm's tenant makes no mistake notes (no failure
		// learning): its RMR counts signatures seen in earlier episodes,
		// as the none arm's does.
		return simhttp.New(simhttp.Config{BaseURL: e.apiURL, Key: key, HTTP: e.http, Arm: arm, SyncRecord: *syncRec, Feedback: *feedback,
			Snapshots: *snapshots && arm != simhttp.ArmRetrieval})
	}
	for _, arm := range arms {
		mem, hm, err := newMem(arm, string(arm))
		if err != nil {
			return err
		}
		prog := benchkit.Progress{Label: "sim/" + string(arm), Total: *episodes}
		done, ok := 0, 0
		armStart := time.Now()
		eps, err := sim.Run(ctx, world, mem, sched, sim.RunConfig{Arm: string(arm), Agent: agent, OnEpisode: func(r sim.EpisodeResult) {
			done++
			if r.Success {
				ok++
			}
			prog.Label = fmt.Sprintf("sim/%s success %d/%d", arm, ok, done)
			prog.Step(done)
			if hm != nil && done%50 == 0 {
				fmt.Fprintf(os.Stderr, "[sim/%s] client time so far: %s\n", arm, phaseSummary(hm.Phases()))
			}
		}})
		if err != nil {
			return fmt.Errorf("sim %s: %w", arm, err)
		}
		rep.Set(string(arm)+".run_s", time.Since(armStart).Seconds())
		var diag *rmrDiagnosis
		if hm != nil && *snapshots && arm != simhttp.ArmRetrieval {
			snaps := hm.Snapshots()
			if markNoteHeld(eps, snaps) {
				d := diagnoseRMR(world, eps, snaps)
				diag = &d
				if *dump != "" {
					if err := dumpRepeats(*dump, string(arm), world, eps, snaps); err != nil {
						return err
					}
				}
			} else {
				rep.Note("%s: %d note snapshots for %d episodes: RMR falls back to signatures seen in earlier episodes.", arm, len(snaps), len(eps))
			}
		}
		res := &armResult{arm: arm, eps: eps, diag: diag,
			all:  sim.ComputeMetrics(eps, sim.MetricsConfig{Window: *window}),
			tail: sim.ComputeMetrics(sim.Tail(eps, *episodes/2), sim.MetricsConfig{Window: *window})}
		for _, ep := range eps {
			res.memErrs += ep.MemoryErrors
		}
		if hm != nil {
			res.timings = hm.Timings()
			res.ttl, res.never = hm.TimeToLearn()
			res.recalled = hm.Recalled()
			if arm != simhttp.ArmRetrieval {
				g := newGuardEvidence(eps, hm.Decisions(), guardWarn)
				res.guard = &g
			}
			for k, d := range hm.Phases() {
				rep.Set(string(arm)+".client_s."+k, d.Seconds())
			}
			if fb := hm.FeedbackStatuses(); len(fb) > 0 {
				rep.Note("%s: recall feedback responses by status: %v.", arm, fb)
			}
			if err := hm.LearnerError(); err != nil {
				rep.Note("%s: Record stopped waiting for the learner: %v.", arm, err)
			}
			if n := hm.Fallbacks(); n > 0 {
				rep.Note("%s: %d recalls fell back to listing learned items (the API had no /v1/recall).", arm, n)
			}
			waitWorker(ctx, hm, "sim/"+string(arm), *drain)
		}
		if *forget {
			fmem, fhm, err := newMem(arm, string(arm)+"-forget")
			if err != nil {
				return err
			}
			fams := world.Families()
			fworld := sim.NewWorld(sim.Config{Seed: *seed}) // no drift: only memory may change the second evaluation
			fcfg := sim.ForgettingConfig{Seed: *seed + 1, Family: fams[0], Others: fams[1:],
				LearnEpisodes: *forgetLearn, EvalEpisodes: *forgetEval, LongShare: *long, UpdatesTarget: *forgetUpdates,
				Count: count, UpdateWait: *forgetWait}
			what := "recorded episodes of the other families (no adapter in this arm)"
			if arm == simhttp.ArmFull {
				// Only this arm serves the adapter: its updates are real
				// versions the protocol waits for.
				fcfg.Adapter = fhm.AdapterCounts
				what = string(count) + " adapter versions"
			}
			fmt.Fprintf(os.Stderr, "[sim/%s] forgetting protocol: learn %s, then %d %s\n", arm, fams[0], *forgetUpdates, what)
			fstart := time.Now()
			fcfg.Progress = func(updates, episodes int) {
				if episodes%20 == 0 {
					fmt.Fprintf(os.Stderr, "[sim/%s] forgetting: %d updates over %d episodes in %s\n", arm, updates, episodes, time.Since(fstart).Round(time.Second))
				}
			}
			fr, err := sim.RunForgetting(ctx, fworld, fmem, agent, fcfg)
			if err != nil {
				return fmt.Errorf("sim %s forgetting: %w", arm, err)
			}
			res.forget = &fr
			rep.Set(string(arm)+".forgetting_s", time.Since(fstart).Seconds())
			fmt.Fprintf(os.Stderr, "[sim/%s] forgetting: %d updates counted over %d episodes in %s (adapter versions trained %d, published %d; %d episodes brought no update within %s)\n",
				arm, fr.Updates, fr.Intervening, time.Since(fstart).Round(time.Second), fr.Trained, fr.Published, fr.Timeouts, *forgetWait)
			if fhm != nil {
				waitWorker(ctx, fhm, "sim/"+string(arm)+"-forget", *drain)
			}
		}
		results = append(results, res)
		m := res.all
		fmt.Fprintf(os.Stderr, "[sim/%s] success %.3f long %.3f FRR %.3f RMR %.3f steps/success %.1f memory errors %d\n",
			arm, m.Success.Rate, m.LongHorizon.Rate, m.FRR.Rate, m.RMR.Rate, m.StepsPerSuccess, res.memErrs)
	}

	// Figures.
	var noneEps []sim.EpisodeResult
	for _, r := range results {
		if r.arm == simhttp.ArmNone {
			noneEps = r.eps
		}
	}
	for _, r := range results {
		p := string(r.arm)
		if noneEps != nil && r.arm != simhttp.ArmNone {
			// Steps on the episodes both this arm and no memory solved:
			// free of the bias of an arm that also solves longer tasks.
			if base, arm, n := sim.PairedSteps(noneEps, r.eps); n > 0 {
				rep.Set(p+".paired_steps_delta", arm/base-1)
				rep.Set(p+".paired_episodes", float64(n))
				// The floor: the same episodes' reference plans.
				if ref, _ := pairedRefSteps(noneEps, r.eps); ref > 0 {
					rep.Set(p+".paired_ref_steps_delta", ref/base-1)
				}
			}
		}
		for _, v := range []struct {
			prefix string
			m      sim.Metrics
		}{{p, r.all}, {p + ".tail", r.tail}} {
			rep.Set(v.prefix+".success", v.m.Success.Rate)
			rep.Set(v.prefix+".long_horizon_success", v.m.LongHorizon.Rate)
			rep.Set(v.prefix+".short_success", v.m.Short.Rate)
			rep.Set(v.prefix+".frr", v.m.FRR.Rate)
			rep.Set(v.prefix+".rmr", v.m.RMR.Rate)
			rep.Set(v.prefix+".rmr_seen", v.m.RMRSeen.Rate)
			rep.Set(v.prefix+".steps_per_success", v.m.StepsPerSuccess)
			rep.Set(v.prefix+".steps_per_solved", v.m.StepsPerSolved)
			rep.Set(v.prefix+".ref_steps_per_solved", v.m.RefStepsPerSolved)
			if v.m.RefStepsPerSolved > 0 {
				// Steps above the shortest solutions of the same tasks.
				rep.Set(v.prefix+".steps_over_ref", v.m.StepsPerSolved/v.m.RefStepsPerSolved-1)
			}
			rep.Set(v.prefix+".failed_steps", float64(v.m.FailedSteps))
			rep.Set(v.prefix+".episodes", float64(v.m.Episodes))
		}
		// RMR with the server's signatures, which group mistakes as the
		// tenant's notes do (coarser than the simulator's digit masking).
		srv := sim.ComputeMetrics(r.eps, sim.MetricsConfig{Window: *window, Signature: simhttp.ServerSignature})
		rep.Set(p+".rmr_server_signature", srv.RMR.Rate)
		rep.Set(p+".memory_errors", float64(r.memErrs))
		setWaste(rep, p, world.EpisodeWaste(r.eps, false))
		setWaste(rep, p+".solved", world.EpisodeWaste(r.eps, true))
		if r.diag != nil {
			r.diag.figures(rep, p)
		}
		if r.guard != nil {
			r.guard.set(rep, p)
		}
		rep.Set(p+".guard_warned", float64(r.all.Guard.Warned))
		rep.Set(p+".guard_blocked", float64(r.all.Guard.Blocked))
		rep.Set(p+".guard_suggested", float64(r.all.Guard.Suggested))
		if r.forget != nil {
			rep.Set(p+".forgetting_pp", r.forget.Forgetting)
			rep.Set(p+".forgetting_before", r.forget.Before.Rate)
			rep.Set(p+".forgetting_after", r.forget.After.Rate)
			rep.Set(p+".forgetting_updates", float64(r.forget.Updates))
			rep.Set(p+".forgetting_episodes", float64(r.forget.Intervening))
			rep.Set(p+".forgetting_proxy", b2f(r.forget.Proxy))
			if !r.forget.Proxy {
				rep.Set(p+".forgetting_adapter_trained", float64(r.forget.Trained))
				rep.Set(p+".forgetting_adapter_published", float64(r.forget.Published))
				rep.Set(p+".forgetting_update_timeouts", float64(r.forget.Timeouts))
			}
		}
		if r.timings != nil {
			step, guard, recall := overheadSamples(r.timings)
			if len(step) > 0 {
				rep.Set(p+".overhead_p50_ms", benchkit.Percentile(step, 50))
				rep.Set(p+".overhead_p99_ms", benchkit.Percentile(step, 99))
			}
			if len(guard) > 0 {
				rep.Set(p+".guard_p50_ms", benchkit.Percentile(guard, 50))
				rep.Set(p+".guard_p99_ms", benchkit.Percentile(guard, 99))
			}
			if len(recall) > 0 {
				rep.Set(p+".recall_p50_ms", benchkit.Percentile(recall, 50))
				rep.Set(p+".recall_p99_ms", benchkit.Percentile(recall, 99))
			}
			if len(r.ttl) > 0 {
				s := make([]float64, len(r.ttl))
				for i, d := range r.ttl {
					s[i] = d.Seconds()
				}
				rep.Set(p+".time_to_learn_p50_s", benchkit.Percentile(s, 50))
				rep.Set(p+".time_to_learn_p95_s", benchkit.Percentile(s, 95))
			}
			rep.Set(p+".time_to_learn_learnt", float64(len(r.ttl)))
			rep.Set(p+".time_to_learn_never", float64(r.never))
		}
	}

	// Tables.
	row := func(r *armResult, m sim.Metrics) []string {
		fg := "–"
		if r.forget != nil {
			fg = fmt.Sprintf("%.1f (%d→%d of %d; %d episodes)", r.forget.Forgetting, r.forget.Before.Hits, r.forget.After.Hits, r.forget.Before.N, r.forget.Intervening)
			if !r.forget.Proxy {
				fg = fmt.Sprintf("%.1f (%d→%d of %d; %d adapter versions trained, %d published)", r.forget.Forgetting, r.forget.Before.Hits,
					r.forget.After.Hits, r.forget.Before.N, r.forget.Trained, r.forget.Published)
			}
		}
		return []string{string(r.arm), pct(m.Success), pct(m.LongHorizon), pct(m.FRR), pct(m.RMR),
			fmt.Sprintf("%.1f", m.StepsPerSuccess), fmt.Sprintf("%.1f (ref %.1f)", m.StepsPerSolved, m.RefStepsPerSolved), fg, fmt.Sprint(m.FailedSteps),
			fmt.Sprintf("%d / %d / %d", m.Guard.Warned, m.Guard.Blocked, m.Guard.Suggested), fmt.Sprint(r.memErrs)}
	}
	header := []string{"arm", "success", "long-horizon success", "FRR", "RMR", "steps per success", "steps per solved episode", "forgetting (pp)", "failed steps", "guard warned / blocked / suggested", "memory errors"}
	t1 := benchkit.Table{Title: fmt.Sprintf("All %d episodes per arm (seed %d, drift at %d)", *episodes, *seed, *drift), Header: header}
	t2 := benchkit.Table{Title: fmt.Sprintf("Second half (episodes %d–%d), after the memory had time to learn", *episodes/2, *episodes), Header: header}
	for _, r := range results {
		t1.Rows = append(t1.Rows, row(r, r.all))
		t2.Rows = append(t2.Rows, row(r, r.tail))
	}
	rep.AddTable(t1)
	rep.AddTable(t2)
	lt := benchkit.Table{Title: "Server-side memory overhead (ms, Server-Timing)", Header: []string{"arm", "per step p50", "per step p99", "guard p50", "guard p99", "recall p50", "recall p99", "time-to-learn p50 / p95 (s)", "signatures learnt / never cited"}}
	for _, r := range results {
		if r.timings == nil {
			continue
		}
		p := string(r.arm)
		mt := rep.Metrics
		lt.Rows = append(lt.Rows, []string{p, f(mt[p+".overhead_p50_ms"]), f(mt[p+".overhead_p99_ms"]), f(mt[p+".guard_p50_ms"]), f(mt[p+".guard_p99_ms"]),
			f(mt[p+".recall_p50_ms"]), f(mt[p+".recall_p99_ms"]), f(mt[p+".time_to_learn_p50_s"]) + " / " + f(mt[p+".time_to_learn_p95_s"]),
			fmt.Sprintf("%d / %d", len(r.ttl), r.never)})
	}
	rep.AddTable(lt)
	var grows [][]string
	for _, r := range results {
		if r.guard != nil {
			grows = append(grows, r.guard.row(string(r.arm)))
		}
	}
	if len(grows) > 0 {
		rep.AddTable(guardEvidenceTable(grows))
	}
	tauAll, tauSolved, tauOK := tauWaste(rep, *tauPath)
	var wrows [][]string
	for _, r := range results {
		wrows = append(wrows, wasteRow(string(r.arm), world.EpisodeWaste(r.eps, false), world.EpisodeWaste(r.eps, true)))
	}
	rep.AddTable(wasteTable(wrows, tauAll, tauSolved, tauOK, *tauPath))
	rep.Note("Wasted calls (ARM.waste_*, ARM.solved.waste_*, tau.waste_*, tau.solved.waste_*): failed calls, and successful read calls identical to an earlier successful call of the episode, as shares of all calls (think, tau-bench's scratchpad, is no call); ARM.calls_per_useful is calls over calls not wasted. The tau-bench figures measure real agents (gpt-4o, no memory) the same way, to tell whether the stand-in agent wastes fewer steps than language-model agents do; its noise is the same in every arm, and memory removes waste only through what it returns.")
	for _, r := range results {
		if r.diag != nil {
			rep.AddTable(r.diag.table(string(r.arm)))
		}
	}
	for _, r := range results {
		if r.recalled != nil {
			rep.Note("%s: recalled items by kind over the run: %v.", r.arm, r.recalled)
		}
	}
	simNotes(rep, func(a simhttp.Arm) (sim.Metrics, sim.Metrics, bool) {
		for _, r := range results {
			if r.arm == a {
				return r.all, r.tail, true
			}
		}
		return sim.Metrics{}, sim.Metrics{}, false
	}, *forgetUpdates, count)

	// Plots.
	var curves, rmr []benchkit.Series
	for _, r := range results {
		var c benchkit.Series
		c.Name = string(r.arm)
		for _, p := range r.all.Curve {
			c.X = append(c.X, float64(p.End))
			c.Y = append(c.Y, p.Success.Rate)
		}
		curves = append(curves, c)
		rmr = append(rmr, rmrCurve(string(r.arm), r.eps, *window))
	}
	if err := rep.LinePlot(e.out, "learning", fmt.Sprintf("Success rate per %d-episode window", *window), "episode", "success rate", curves); err != nil {
		return err
	}
	if err := rep.LinePlot(e.out, "rmr", fmt.Sprintf("Repeat-mistake rate per %d-episode window", *window), "episode", "repeat-mistake rate", rmr); err != nil {
		return err
	}
	samples := map[string][]float64{}
	for _, r := range results {
		if r.timings == nil {
			continue
		}
		step, guard, recall := overheadSamples(r.timings)
		samples[string(r.arm)+" guard"] = guard
		samples[string(r.arm)+" recall"] = recall
		samples[string(r.arm)+" per step"] = step
	}
	if len(samples) > 0 {
		if err := rep.LatencyCDF(e.out, "latency", "Server-side guard and recall latency", samples); err != nil {
			return err
		}
	}
	if err := rep.Write(e.out); err != nil {
		return err
	}
	fmt.Print(rep.Markdown())
	return nil
}

// waitWorker lets the worker catch up with a phase's tenant before the
// next phase starts: until none of the tenant's events is pending (its
// failures clustered, its notes and procedures learnt and published). All
// arms share one worker, and one arm's backlog must not slow the next arm's
// learning.
func waitWorker(ctx context.Context, hm *simhttp.Memory, label string, timeout time.Duration) {
	start := time.Now()
	if _, err := hm.WaitCaughtUp(ctx, label, timeout); err != nil {
		fmt.Fprintf(os.Stderr, "[%s] waiting for the worker: %v; going on\n", label, err)
		return
	}
	fmt.Fprintf(os.Stderr, "[%s] worker caught up with the tenant after %s\n", label, time.Since(start).Round(time.Millisecond))
}

func pct(r sim.Rate) string {
	if r.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %% (%d/%d)", 100*r.Rate, r.Hits, r.N)
}

// overheadSamples turns per-episode server timings into per-step overhead
// (each guard call plus the episode's recall spread over its steps) and the
// raw guard and recall samples. Calls without a Server-Timing header are
// left out.
func overheadSamples(ts []simhttp.EpisodeTiming) (step, guard, recall []float64) {
	for _, t := range ts {
		r := max(t.RecallMS, 0)
		if t.RecallMS >= 0 {
			recall = append(recall, t.RecallMS)
		}
		n := 0
		for _, g := range t.GuardMS {
			if g >= 0 {
				n++
			}
		}
		for _, g := range t.GuardMS {
			if g < 0 {
				continue
			}
			guard = append(guard, g)
			step = append(step, g+r/float64(n))
		}
	}
	return step, guard, recall
}

// rmrCurve is the repeat-mistake rate per window of episodes.
func rmrCurve(name string, eps []sim.EpisodeResult, window int) benchkit.Series {
	s := benchkit.Series{Name: name}
	for start := 0; start < len(eps); start += window {
		end := min(start+window, len(eps))
		var held, n int
		for _, e := range eps[start:end] {
			for _, f := range e.Failures {
				n++
				if f.Held {
					held++
				}
			}
		}
		if n > 0 {
			s.X = append(s.X, float64(end))
			s.Y = append(s.Y, float64(held)/float64(n))
		}
	}
	return s
}

// simNotes writes the targets, met or not, into the report.
func simNotes(rep *benchkit.Report, get func(simhttp.Arm) (sim.Metrics, sim.Metrics, bool), forgetUpdates int, count sim.UpdateKind) {
	none, noneTail, okN := get(simhttp.ArmNone)
	full, fullTail, okF := get(simhttp.ArmFull)
	if okN && okF {
		for _, v := range []struct {
			label      string
			base, full sim.Metrics
		}{{"all episodes", none, full}, {"second half", noneTail, fullTail}} {
			c := sim.Compare(v.base, v.full, sim.DefaultTargets)
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range c.Met {
					if !yield(k) {
						return
					}
				}
			})
			var met []string
			for _, k := range keys {
				met = append(met, fmt.Sprintf("%s %s", k, map[bool]string{true: "met", false: "NOT met"}[c.Met[k]]))
			}
			rep.Note("Targets, full vs none (%s): long-horizon %+.1f pp (target ≥ +30), success %+.1f pp, FRR %.1f %% (target ≥ 60 %%), RMR %.1f %% (target ≤ 10 %%), steps per success %+.1f %% (target ≤ −25 %%; steps per solved episode %+.1f %%): %s.",
				v.label, c.LongHorizonPP, c.SuccessPP, 100*c.FRR, 100*c.RMR, 100*c.StepsPerSuccessDelta, 100*c.StepsPerSolvedDelta, strings.Join(met, ", "))
		}
	}
	if okN && none.RefStepsPerSolved > 0 {
		rep.Note("Steps per success (ARM.steps_per_success) is what one success costs: all the steps an arm took, in the episodes it failed too, over the episodes it solved. Steps per solved episode (ARM.steps_per_solved) is the mean length of the solved episodes alone: no memory takes %.1f steps per solved task whose shortest solutions average %.1f (%+.1f %%); no run takes fewer steps than its task's shortest solution, so that figure cannot drop by more than the gap to the plans (ARM.paired_ref_steps_delta is that floor on the tasks both arms solved).",
			none.StepsPerSolved, none.RefStepsPerSolved, 100*(none.StepsPerSolved/none.RefStepsPerSolved-1))
	}
	if notes, notesTail, ok := get(simhttp.ArmNotes); ok && okF {
		better := full.Success.Rate > notes.Success.Rate || full.RMR.Rate < notes.RMR.Rate || full.FRR.Rate > notes.FRR.Rate
		rep.Note("Adapter: full vs notes (adapter decisions ignored) on all episodes: success %.3f vs %.3f, RMR %.3f vs %.3f, FRR %.3f vs %.3f; second half success %.3f vs %.3f. The adapter arm %s the notes-only arm on at least one of success, RMR or FRR.",
			full.Success.Rate, notes.Success.Rate, full.RMR.Rate, notes.RMR.Rate, full.FRR.Rate, notes.FRR.Rate,
			fullTail.Success.Rate, notesTail.Success.Rate, map[bool]string{true: "beats", false: "does NOT beat"}[better])
	}
	rep.Note("RMR (DESIGN.md) counts a failed step as a repeat when the arm's tenant had an active mistake note with the step's error signature at the start of its episode (-diagnose lists the notes before every episode; the none arm has no tenant and the retrieval arm's tenant learns from successes only (success_only: no mistake notes), so their RMR and any arm's without snapshots fall back to the next figure). ARM.rmr_seen counts a failed step as a repeat when a failure with the same signature (tool plus error with digits masked) was in an earlier recorded episode of the arm, whether or not the memory made a note of it; ARM.rmr_server_signature does the same with the server's signatures (literals masked as the tenant's mistake notes are keyed). ARM.rmr_diag.* say why each repeat happened: guard flagged the action and the agent took it anyway (its suggestion failed, every candidate was flagged, or it distrusted memory after two failed suggestions), or guard allowed it (a recalled note's correction proposed it, guard cited the note below the warn threshold, or did not cite it though the action's masked pattern equals or resembles the note's, or the action looks unlike the note's failing action); seen_no_note counts failures seen in an earlier episode whose signature had no note. Forgetting: success on the first family right after learning it minus success on the same tasks (same agent streams, unrecorded, on a world without drift) after %d further updates. In the full arm an update is an adapter version the worker %s (ARM.forgetting_adapter_trained and ARM.forgetting_adapter_published count both kinds; the protocol waits for each update after each recorded episode of the other families, and ARM.forgetting_update_timeouts counts episodes after which none came in time; make bench-sim runs the worker with a 3 s training interval and one new labelled step as its threshold, so each episode brings one). The other arms serve no adapter: there an update is a recorded episode of the other families (ARM.forgetting_proxy 1).", forgetUpdates, map[sim.UpdateKind]string{sim.UpdateTrained: "trained (a candidate, whatever the gate decided)", sim.UpdatePublished: "published (made active by the gate)"}[count])
	rep.Note("Overhead per step is the server time (Server-Timing) of the step's guard call plus the episode's recall divided by its guard calls. Time-to-learn is the time from posting the first trajectory that failed with an error signature to the first guard answer citing that signature; signatures never cited are not in the percentiles.")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// phaseSummary renders client-side time per kind of call, largest first.
func phaseSummary(ph map[string]time.Duration) string {
	keys := slices.SortedFunc(maps.Keys(ph), func(a, b string) int { return cmp.Compare(ph[b], ph[a]) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", k, ph[k].Round(100*time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// guardWarn is guard's default warn threshold, which the arms' tenants keep.
const guardWarn = admem.DefaultGuardWarn
