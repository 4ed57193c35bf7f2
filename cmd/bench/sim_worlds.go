package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/simhttp"
)

// worldsOptions are the flags of the multi-world mode of bench sim.
type worldsOptions struct {
	seed          uint64
	worlds        int
	episodes      int
	long          float64
	drift         int
	arms          []simhttp.Arm
	parallel      int
	transient     float64
	window        int
	sync          time.Duration
	feedback      bool
	annotate      bool
	drain         time.Duration
	forget        bool
	forgetUpdates int
	forgetCount   sim.UpdateKind
	forgetWait    time.Duration
	forgetLearn   int
	forgetEval    int
}

// worldFigures are the figures every arm reports, in report order, with
// their table headers; the names come first.
var worldFigures = []struct{ name, header string }{
	{"success", "success"}, {"cautious_success", "cautious success"}, {"guard_fpr", "guard FPR"},
	{"guard_tpr_repeat", "guard TPR on repeats"}, {"transient_warned", "transient retries warned"},
	{"bad_suggestions", "bad suggestions"}, {"foreign_literals", "foreign literals"},
	{"long_horizon_success", "long-horizon success"}, {"frr", "FRR"}, {"rmr", "RMR"}, {"steps_per_success", "steps per success"},
}

// requiredFigures must appear for every arm, as the issue names them.
var requiredFigures = []string{"success", "cautious_success", "guard_fpr", "guard_tpr_repeat", "transient_warned", "bad_suggestions", "foreign_literals"}

// slotStats is what an HTTP arm's run leaves besides its episodes.
type slotStats struct {
	timings []simhttp.EpisodeTiming
	ttl     []time.Duration
	never   int
	memErrs int
}

// runSimWorlds is bench sim on generated worlds: -worlds worlds derived
// from -seed, in each every arm played by the default agent and by the
// cautious agent, each on a fresh tenant (the none arm needs none), over
// the same schedule of -episodes episodes. It reports each figure per
// world (world.I.ARM.METRIC), its mean over the worlds (worlds.ARM.METRIC)
// and its standard deviation (worlds.ARM.METRIC_sd).
func runSimWorlds(ctx context.Context, e *env, o worldsOptions) error {
	armNames := make([]string, len(o.arms))
	for i, a := range o.arms {
		armNames[i] = string(a)
	}
	driftAt := o.drift
	if driftAt == 0 {
		driftAt = -1 // never
	}
	rep := benchkit.NewReport("sim", map[string]any{"world": "generated", "worlds": o.worlds, "episodes": o.episodes, "seed": o.seed,
		"long_share": o.long, "drift_at": o.drift, "arms": strings.Join(armNames, ","), "agents": "default,cautious",
		"parallel": o.parallel, "transient": o.transient, "window": o.window, "sync": o.sync.String(), "feedback": o.feedback, "annotate": o.annotate,
		"forget": o.forget, "api": e.apiURL})

	var mu sync.Mutex
	hms := map[string]*simhttp.Memory{}
	stats := map[string]*slotStats{} // by arm, pooled over worlds and agents
	newMem := func(ctx context.Context, s sim.Slot) (sim.Memory, error) {
		arm := simhttp.Arm(s.Arm)
		if arm == simhttp.ArmNone {
			return sim.NoMemory{}, nil
		}
		_, key, err := e.tenant(ctx, fmt.Sprintf("bench-sim-w%d-%s-%s", s.World, s.Arm, s.Agent))
		if err != nil {
			return nil, err
		}
		if o.annotate {
			if err := annotateTools(ctx, e, key, s.W); err != nil {
				return nil, err
			}
		}
		cfg := simhttp.Config{BaseURL: e.apiURL, Key: key, HTTP: e.http, Arm: arm, SyncRecord: o.sync, Feedback: o.feedback}
		mem, hm, err := simhttp.New(cfg)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		hms[s.String()] = hm
		mu.Unlock()
		return mem, nil
	}

	total := o.worlds * len(o.arms) * 2
	start := time.Now()
	done := 0
	progress := map[string]*benchkit.Progress{}
	counts := map[string][2]int{}
	cfg := sim.WorldsConfig{Seed: o.seed, Worlds: o.worlds, Episodes: o.episodes, LongShare: o.long, Arms: armNames,
		Gen: sim.GenConfig{DriftAt: driftAt, Transient: o.transient}, Parallel: o.parallel, Window: o.window,
		OnEpisode: func(s sim.Slot, r sim.EpisodeResult) {
			mu.Lock()
			defer mu.Unlock()
			k := s.String()
			p := progress[k]
			if p == nil {
				p = &benchkit.Progress{Total: o.episodes}
				progress[k] = p
			}
			c := counts[k]
			c[0]++
			if r.Success {
				c[1]++
			}
			counts[k] = c
			p.Label = fmt.Sprintf("sim %s (%s) success %d/%d", k, s.W.Domain(), c[1], c[0])
			p.Step(c[0])
		},
		OnRun: func(s sim.Slot, r *sim.RunResult) {
			mu.Lock()
			hm := hms[s.String()]
			done++
			n := done
			mu.Unlock()
			m := r.Metrics
			fmt.Fprintf(os.Stderr, "[sim %s] success %.3f guard FPR %.3f bad suggestions %.3f in %s; %d/%d runs in %s\n",
				s, m.Success.Rate, m.Quality.GuardFPR.Rate, m.Quality.BadSuggestions.Rate, r.Duration.Round(time.Second), n, total, time.Since(start).Round(time.Second))
			if hm == nil {
				return
			}
			memErrs := 0
			for _, ep := range r.Episodes {
				memErrs += ep.MemoryErrors
			}
			ttl, never := hm.TimeToLearn()
			mu.Lock()
			st := stats[s.Arm]
			if st == nil {
				st = &slotStats{}
				stats[s.Arm] = st
			}
			st.timings = append(st.timings, hm.Timings()...)
			st.ttl = append(st.ttl, ttl...)
			st.never += never
			st.memErrs += memErrs
			mu.Unlock()
			fmt.Fprintf(os.Stderr, "[sim %s] client time: %s\n", s, phaseSummary(hm.Phases()))
			if err := hm.LearnerError(); err != nil {
				rep.Note("%s: Record stopped waiting for the learner: %v.", s, err)
			}
			// Record already waited for the worker after each episode;
			// the tenant's learning status says when the rest is done, so
			// the next slot does not inherit this one's backlog.
			waitWorker(ctx, hm, "sim/"+s.String(), o.drain)
		},
	}
	res, err := sim.RunWorlds(ctx, cfg, newMem)
	if err != nil {
		return err
	}
	rep.Set("run_s", time.Since(start).Seconds())
	// The upper bound on the same worlds and schedules: the oracle memory,
	// in-process (it knows the rules; no HTTP).
	ocfg := cfg
	ocfg.Arms, ocfg.OnEpisode, ocfg.OnRun = []string{"oracle"}, nil, nil
	ores, err := sim.RunWorlds(ctx, ocfg, func(context.Context, sim.Slot) (sim.Memory, error) { return &sim.OracleMemory{}, nil })
	if err != nil {
		return err
	}
	for k := range ores.Mean {
		res.Mean[k], res.SD[k], res.N[k] = ores.Mean[k], ores.SD[k], ores.N[k]
	}
	for i, pw := range ores.PerWorld {
		for k, v := range pw {
			res.PerWorld[i][k] = v
		}
	}

	// Figures.
	for _, arm := range armNames {
		for _, f := range requiredFigures {
			if _, ok := res.Mean[arm+"."+f]; !ok {
				res.Mean[arm+"."+f], res.SD[arm+"."+f] = 0, 0
				rep.Note("worlds.%s.%s is 0 because no world had a case to count (its denominator was empty everywhere).", arm, f)
			}
		}
	}
	for _, k := range res.Keys() {
		rep.Set("worlds."+k, res.Mean[k])
		rep.Set("worlds."+k+"_sd", res.SD[k])
	}
	for i, pw := range res.PerWorld {
		for k, v := range pw {
			rep.Set(fmt.Sprintf("world.%d.%s", i, k), v)
		}
		w := res.Worlds[i]
		rep.Set(fmt.Sprintf("world.%d.families", i), float64(len(w.Families())))
		rep.Set(fmt.Sprintf("world.%d.tools", i), float64(len(w.Tools())))
		rep.Set(fmt.Sprintf("world.%d.rules", i), float64(len(w.Rules())))
	}
	for arm, st := range stats {
		step, guard, recall := overheadSamples(st.timings)
		if len(step) > 0 {
			rep.Set("worlds."+arm+".overhead_p50_ms", benchkit.Percentile(step, 50))
			rep.Set("worlds."+arm+".overhead_p99_ms", benchkit.Percentile(step, 99))
		}
		if len(guard) > 0 {
			rep.Set("worlds."+arm+".guard_p50_ms", benchkit.Percentile(guard, 50))
			rep.Set("worlds."+arm+".guard_p99_ms", benchkit.Percentile(guard, 99))
		}
		if len(recall) > 0 {
			rep.Set("worlds."+arm+".recall_p50_ms", benchkit.Percentile(recall, 50))
			rep.Set("worlds."+arm+".recall_p99_ms", benchkit.Percentile(recall, 99))
		}
		if len(st.ttl) > 0 {
			s := make([]float64, len(st.ttl))
			for i, d := range st.ttl {
				s[i] = d.Seconds()
			}
			rep.Set("worlds."+arm+".time_to_learn_p50_s", benchkit.Percentile(s, 50))
			rep.Set("worlds."+arm+".time_to_learn_p95_s", benchkit.Percentile(s, 95))
		}
		rep.Set("worlds."+arm+".memory_errors", float64(st.memErrs))
	}

	// Tables.
	header := []string{"arm"}
	for _, f := range worldFigures {
		header = append(header, f.header)
	}
	mt := benchkit.Table{Title: fmt.Sprintf("Mean ± sd over %d generated worlds (%d episodes per world, arm and agent; seed %d); oracle: the upper bound, in-process", o.worlds, o.episodes, o.seed), Header: header}
	for _, arm := range append(slices.Clone(armNames), "oracle") {
		row := []string{arm}
		for _, f := range worldFigures {
			k := arm + "." + f.name
			if _, ok := res.Mean[k]; !ok {
				row = append(row, "–")
				continue
			}
			row = append(row, meanSD(res.Mean[k], res.SD[k], f.name == "foreign_literals" || f.name == "steps_per_success"))
		}
		mt.Rows = append(mt.Rows, row)
	}
	rep.AddTable(mt)
	wh := []string{"world", "domain", "families / tools / rules"}
	for _, arm := range armNames {
		wh = append(wh, arm+" success / cautious / FPR")
	}
	wh = append(wh, "oracle success / cautious")
	wt := benchkit.Table{Title: "Per world", Header: wh}
	for i, w := range res.Worlds {
		pw := res.PerWorld[i]
		row := []string{fmt.Sprint(i), w.Domain(), fmt.Sprintf("%d / %d / %d", len(w.Families()), len(w.Tools()), len(w.Rules()))}
		for _, arm := range armNames {
			row = append(row, fmt.Sprintf("%s / %s / %s", opt(pw, arm+".success"), opt(pw, arm+".cautious_success"), opt(pw, arm+".guard_fpr")))
		}
		row = append(row, fmt.Sprintf("%s / %s", opt(pw, "oracle.success"), opt(pw, "oracle.cautious_success")))
		wt.Rows = append(wt.Rows, row)
	}
	rep.AddTable(wt)
	lt := benchkit.Table{Title: "Server-side memory overhead, pooled over worlds (ms, Server-Timing)", Header: []string{"arm", "per step p50", "per step p99", "guard p50", "guard p99", "recall p50", "recall p99", "time-to-learn p50 / p95 (s)", "memory errors"}}
	for _, arm := range armNames {
		if stats[arm] == nil {
			continue
		}
		p, m := "worlds."+arm, rep.Metrics
		lt.Rows = append(lt.Rows, []string{arm, f(m[p+".overhead_p50_ms"]), f(m[p+".overhead_p99_ms"]), f(m[p+".guard_p50_ms"]), f(m[p+".guard_p99_ms"]),
			f(m[p+".recall_p50_ms"]), f(m[p+".recall_p99_ms"]), f(m[p+".time_to_learn_p50_s"]) + " / " + f(m[p+".time_to_learn_p95_s"]), fmt.Sprint(stats[arm].memErrs)})
	}
	if len(lt.Rows) > 0 {
		rep.AddTable(lt)
	}
	worldsNotes(rep, o)

	if o.forget {
		// The first world again without its drift: only memory may
		// change the second evaluation.
		w := sim.Generate(res.Seeds[0], sim.GenConfig{Transient: o.transient})
		if err := worldsForgetting(ctx, e, rep, w, o, newMem); err != nil {
			return err
		}
	}

	// Plots: success (both agents) and guard FPR per world and arm.
	labels := make([]string, len(res.Worlds))
	for i := range labels {
		labels[i] = fmt.Sprintf("w%d", i)
	}
	var succ, fpr []benchkit.Series
	for _, arm := range armNames {
		for _, v := range []struct{ name, key string }{{arm, "success"}, {arm + " cautious", "cautious_success"}} {
			s := benchkit.Series{Name: v.name}
			for i, pw := range res.PerWorld {
				s.X, s.Y = append(s.X, float64(i)), append(s.Y, pw[arm+"."+v.key])
			}
			succ = append(succ, s)
		}
		s := benchkit.Series{Name: arm}
		for i, pw := range res.PerWorld {
			s.X, s.Y = append(s.X, float64(i)), append(s.Y, pw[arm+".guard_fpr"])
		}
		fpr = append(fpr, s)
	}
	if err := rep.BarPlot(e.out, "worlds-success", "Success per generated world, arm and agent", "success rate", labels, succ); err != nil {
		return err
	}
	if err := rep.BarPlot(e.out, "worlds-guard-fpr", "Guard false-positive rate per generated world and arm (default agent)", "guard FPR", labels, fpr); err != nil {
		return err
	}
	return rep.Finish(e.out, os.Stdout)
}

// meanSD renders "0.512 ± 0.084" (counts and step figures with one decimal).
func meanSD(m, sd float64, count bool) string {
	if count {
		return fmt.Sprintf("%.1f ± %.1f", m, sd)
	}
	return fmt.Sprintf("%.3f ± %.3f", m, sd)
}

func opt(m map[string]float64, k string) string {
	if v, ok := m[k]; ok {
		return fmt.Sprintf("%.2f", v)
	}
	return "–"
}

// worldsNotes writes down what the multi-world figures mean.
func worldsNotes(rep *benchkit.Report, o worldsOptions) {
	rep.Note("Each world is generated from a seed derived from -seed (internal/sim Generate): a business domain, 15-30 tools named in one of several styles, 5-8 task families with plans of 10-60 steps, one to three error styles (HTTP JSON bodies, SDK exceptions, plain text), hidden rules of fourteen kinds with random parameters (some world-wide, most on one family's tools), transient faults on %.0f %% of calls and one drift half-way. The agent is the same noisy stand-in in every arm; the cautious agent never takes a call guard warned about or blocked except guard's own suggestion, and gives up when nothing is left.", 100*o.transient)
	rep.Note("worlds.oracle.* is the upper bound on the same worlds and schedules: sim.OracleMemory, in-process, blocks exactly the calls that would fail deterministically and suggests the reference plan's next call; the none arm is the lower bound.")
	rep.Note("worlds.ARM.METRIC is the mean over worlds of the default agent's figure (cautious_success: the cautious agent's success; worlds.ARM.cautious.METRIC: the cautious agent's other figures), worlds.ARM.METRIC_sd its standard deviation over worlds, world.I.ARM.METRIC world I's figure. A world whose denominator is empty for a rate is left out of that rate's mean.")
	rep.Note("guard_fpr: every warn or block on a candidate the oracle (Env.Probe) says would have worked, transient faults included (a call whose only problem is a transient fault would have worked), over all judged candidates that would have worked. guard_tpr_repeat: candidates that would fail deterministically with an error signature (tool plus message, digits masked) the arm had already seen fail in an earlier recorded step (an earlier episode, or earlier in the same episode), share flagged. transient_warned: candidates that retry the previous call, which had just failed transiently, share flagged. bad_suggestions: followed suggestions that then failed deterministically, or called a tool with side effects for no step the task needed, or carried a foreign value, over followed suggestions. foreign_literals: per world, the number of suggestions (followed or not) carrying an instance value (id, e-mail, amount, date, token, note) of another task or user of the world that the request (task text, context steps sent, candidates) did not hold, in any format of the value's kind. RMR leaves transient faults out: they are no mistakes.")
}

// worldsForgetting runs the forgetting protocol on one world per arm, with
// the default agent, on fresh tenants.
func worldsForgetting(ctx context.Context, e *env, rep *benchkit.Report, w *sim.World, o worldsOptions, newMem sim.MemoryFactory) error {
	fams := w.Families()
	for _, arm := range o.arms {
		slot := sim.Slot{World: 0, W: w, Arm: string(arm), Agent: "forget"}
		mem, err := newMem(ctx, slot)
		if err != nil {
			return err
		}
		fcfg := sim.ForgettingConfig{Seed: o.seed + 1, Family: fams[0], Others: fams[1:], LearnEpisodes: o.forgetLearn,
			EvalEpisodes: o.forgetEval, LongShare: o.long, UpdatesTarget: o.forgetUpdates, Count: o.forgetCount, UpdateWait: o.forgetWait}
		if hm, ok := mem.(*simhttp.Memory); ok && arm == simhttp.ArmFull {
			fcfg.Adapter = hm.AdapterCounts
		}
		fmt.Fprintf(os.Stderr, "[sim forgetting %s] learn %s on world 0, then %d updates\n", arm, fams[0], o.forgetUpdates)
		fr, err := sim.RunForgetting(ctx, w, mem, sim.DefaultAgentConfig(), fcfg)
		if err != nil {
			return fmt.Errorf("sim %s forgetting: %w", arm, err)
		}
		p := "world.0." + string(arm)
		rep.Set(p+".forgetting_pp", fr.Forgetting)
		rep.Set(p+".forgetting_updates", float64(fr.Updates))
		rep.Set(p+".forgetting_proxy", b2f(fr.Proxy))
	}
	rep.Note("Forgetting (world.0.ARM.forgetting_pp) is measured on the first world only, with the default agent: success on its first family right after learning it minus success on the same tasks after %d further updates.", o.forgetUpdates)
	return nil
}

// annotateTools declares, as the tenant's admin, what each of the world's
// tools does, and confirms each pair of names of one tool (a rename) as
// replacements of each other: guard may then suggest a read or the other
// name, and still never volunteers another writing tool.
func annotateTools(ctx context.Context, e *env, adminKey string, w *sim.World) error {
	for _, t := range w.Tools() {
		class := client.ToolAnnotationClassWrites
		if t.Read {
			class = client.ToolAnnotationClassReadOnly
		}
		r, err := e.client.AnnotateToolWithResponse(ctx, t.Name, client.ToolAnnotation{Class: class}, bearer(adminKey))
		if err != nil {
			return err
		}
		if r.JSON200 == nil {
			return fmt.Errorf("annotate %s: %d %s", t.Name, r.StatusCode(), r.Body)
		}
		if t.Alt == "" {
			continue
		}
		for _, p := range [][2]string{{t.Name, t.Alt}, {t.Alt, t.Name}} {
			r, err := e.client.ConfirmToolReplacementWithResponse(ctx, p[0], p[1], bearer(adminKey))
			if err != nil {
				return err
			}
			if r.JSON200 == nil {
				return fmt.Errorf("confirm %s → %s: %d %s", p[0], p[1], r.StatusCode(), r.Body)
			}
		}
	}
	return nil
}
