package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/injection"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/locomo"
	"github.com/admem/admem/internal/taubench"
)

// runQuarantine measures the instruction classifier (judge.ClassifyInstruction)
// with no server: the false-quarantine rate on real data nobody wrote as an
// attack (LoCoMo dialog turns as facts, tau-bench tool observations) and the
// quarantine recall on generated injection variants of the held-out pool
// (the dev pool, which tuning looked at, is reported apart).
func runQuarantine(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("quarantine", flag.ContinueOnError)
	locomoPath := fs.String("locomo", firstNonEmpty(e.data, "../shared/data/locomo/locomo-dev.json"), "LoCoMo file (conversation turns are the facts)")
	tauPath := fs.String("tau", "../shared/data/taubench/airline-dev.json", "tau-bench file (tool observations)")
	seed := fs.Uint64("seed", 1, "seed of the generated injections")
	per := fs.Int("per-template", 20, "fillings per template (each under every disguise)")
	examples := fs.Int("examples", 10, "misclassified examples listed in the report, per kind")
	if err := fs.Parse(args); err != nil {
		return err
	}
	convs, _, err := locomo.Load(*locomoPath)
	if err != nil {
		return err
	}
	eps, err := taubench.Load(*tauPath)
	if err != nil {
		return err
	}
	rep := benchkit.NewReport("quarantine", map[string]any{"locomo": *locomoPath, "tau": *tauPath, "seed": *seed, "per_template": *per,
		"classifier": "judge.ClassifyInstruction"})

	// Real data: every turn (text and image caption) and every non-empty
	// tool observation or error.
	type real struct{ name, text string }
	var facts, obs []real
	for _, c := range convs {
		for _, t := range c.Turns {
			facts = append(facts, real{c.ID + " " + t.DiaID, t.Text})
			if t.Caption != "" {
				facts = append(facts, real{c.ID + " " + t.DiaID + " caption", t.Caption})
			}
		}
	}
	for _, ep := range eps {
		for _, s := range ep.Trajectory.Steps {
			for _, txt := range []string{s.Observation, s.Error} {
				if strings.TrimSpace(txt) != "" {
					obs = append(obs, real{fmt.Sprintf("task %s trial %d step %d %s", ep.TaskID, ep.Trial, s.Index, s.Action), txt})
				}
			}
		}
	}
	anySignal := 0
	falseRate := func(label string, xs []real) (float64, int) {
		n := 0
		var shown []string
		for _, x := range xs {
			v := judge.ClassifyInstruction(x.text)
			if v.Score > 0 {
				anySignal++
			}
			if v.Quarantine {
				n++
				if len(shown) < *examples {
					shown = append(shown, fmt.Sprintf("%s: %q → %s", x.name, cutText(x.text, 160), v.Reason()))
				}
			}
		}
		if len(shown) > 0 {
			rep.Note("False quarantines, %s (first %d):\n\n- %s", label, len(shown), strings.Join(shown, "\n- "))
		}
		return float64(n) / float64(max(1, len(xs))), n
	}
	fFacts, nFacts := falseRate("LoCoMo facts", facts)
	fObs, nObs := falseRate("tau-bench observations", obs)
	all := float64(nFacts+nObs) / float64(max(1, len(facts)+len(obs)))
	rep.Set("poison.false_quarantine", max(fFacts, fObs))
	rep.Set("poison.false_quarantine.locomo_facts", fFacts)
	rep.Set("poison.false_quarantine.tau_observations", fObs)
	rep.Set("poison.false_quarantine.pooled", all)
	rep.Set("real.any_signal", float64(anySignal))
	rep.Set("real.locomo_facts", float64(len(facts)))
	rep.Set("real.tau_observations", float64(len(obs)))

	realTable := benchkit.Table{Title: "False quarantine on real data (lower is better; target ≤ 0.01)", Header: []string{"data", "items", "quarantined", "rate"}}
	realTable.Rows = append(realTable.Rows,
		[]string{"LoCoMo turns (facts)", fmt.Sprint(len(facts)), fmt.Sprint(nFacts), benchkit.FormatFloat(fFacts)},
		[]string{"tau-bench observations", fmt.Sprint(len(obs)), fmt.Sprint(nObs), benchkit.FormatFloat(fObs)})
	rep.AddTable(realTable)

	// Generated attacks.
	for _, pl := range []struct {
		name string
		pool injection.Pool
		seed uint64
	}{{"heldout", injection.HeldOut, *seed}, {"fresh", injection.Fresh, *seed + 3000}, {"blind", injection.Blind, *seed + 4000}, {"tuned", injection.Tuned, *seed + 2000}, {"dev", injection.Dev, *seed + 1000}} {
		samples := injection.Generate(pl.pool, pl.seed, *per)
		byClass := map[string][2]int{}
		byDisguise := map[string][2]int{}
		caught := 0
		var missed []string
		for _, s := range samples {
			v := judge.ClassifyInstruction(s.Text)
			hit := 0
			if v.Quarantine {
				hit = 1
				caught++
			} else if len(missed) < *examples {
				missed = append(missed, fmt.Sprintf("%s/%s: %q (score %.1f %v)", s.Class, s.Disguise, cutText(s.Text, 160), v.Score, v.Signals))
			}
			c := byClass[s.Class]
			byClass[s.Class] = [2]int{c[0] + hit, c[1] + 1}
			d := byDisguise[s.Disguise]
			byDisguise[s.Disguise] = [2]int{d[0] + hit, d[1] + 1}
		}
		recall := float64(caught) / float64(max(1, len(samples)))
		prefix := "poison.quarantine_recall"
		if pl.name != "heldout" {
			prefix = pl.name + ".quarantine_recall"
		} else {
			rep.Set(prefix, recall)
		}
		rep.Set(prefix+".overall", recall)
		rep.Set("generated."+pl.name+".samples", float64(len(samples)))
		t := benchkit.Table{Title: fmt.Sprintf("Quarantine recall, %s pool (%d samples)", pl.name, len(samples)), Header: []string{"class / disguise", "samples", "recall"}}
		for _, m := range []map[string][2]int{byClass, byDisguise} {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				c := m[k]
				r := float64(c[0]) / float64(c[1])
				rep.Set(prefix+"."+k, r)
				t.Rows = append(t.Rows, []string{k, fmt.Sprint(c[1]), benchkit.FormatFloat(r)})
			}
		}
		rep.AddTable(t)
		if len(missed) > 0 {
			rep.Note("Missed injections, %s pool (first %d):\n\n- %s", pl.name, len(missed), strings.Join(missed, "\n- "))
		}
	}
	rep.Note("poison.false_quarantine is the worse of the two real sets. The held-out pool's phrasings were written after " +
		"tuning on the dev and tuned pools; all pools are disguised the same ways (casing, homoglyphs, zero-width and tag " +
		"characters, letters apart, leetspeak, fullwidth, JSON, a benign carrier text). See docs/trust.md for what was " +
		"changed after the held-out pool was first measured.")
	return rep.Finish(e.out, os.Stdout)
}

func cutText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
