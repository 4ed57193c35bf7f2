package main

import (
	"fmt"
	"math"
	"slices"

	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/learner/adapter"
	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/simhttp"
)

// guardEvidence is what tells the adapter's part in an arm's guard
// decisions: how often it changed the decision the mistake notes alone
// gave, and how well each risk separated the actions the agent took that
// failed from those that worked.
type guardEvidence struct {
	candidates int
	changed    map[simhttp.DecisionKey]int // notes' decision != served
	// over the actions taken with a guard verdict of their own (not a
	// suggestion, whose replaced candidate the verdict is about)
	taken, failed          int
	aucRisk, aucNote       float64
	aucAdapter             float64 // NaN: no adapter scored them
	adapterScored          int
	flaggedByAdapterFailed int // taken although only the adapter flagged it, and failed
	flaggedByAdapterTaken  int
}

func newGuardEvidence(eps []sim.EpisodeResult, decisions map[simhttp.DecisionKey]int, warn float64) guardEvidence {
	g := guardEvidence{changed: map[simhttp.DecisionKey]int{}}
	for k, n := range decisions {
		g.candidates += n
		if k.Notes != k.Served {
			g.changed[k] += n
		}
	}
	var risk, note, ad []float64
	var fail, adFail []bool
	for _, e := range eps {
		for _, t := range e.Taken {
			if t.Pick == sim.PickNoGuard || t.Pick == sim.PickSuggested || t.Verdict.Decision == "" {
				continue
			}
			g.taken++
			if t.Failed {
				g.failed++
			}
			risk = append(risk, t.Verdict.Risk)
			note = append(note, t.Verdict.NoteRisk)
			fail = append(fail, t.Failed)
			if a := t.Verdict.AdapterRisk; a != nil {
				ad = append(ad, *a)
				adFail = append(adFail, t.Failed)
				if *a >= warn && t.Verdict.NoteRisk < warn {
					g.flaggedByAdapterTaken++
					if t.Failed {
						g.flaggedByAdapterFailed++
					}
				}
			}
		}
	}
	g.adapterScored = len(ad)
	g.aucRisk, g.aucNote = adapter.AUC(risk, fail), adapter.AUC(note, fail)
	g.aucAdapter = adapter.AUC(ad, adFail)
	return g
}

func (g guardEvidence) set(rep *benchkit.Report, p string) {
	n := 0
	for _, c := range g.changed {
		n += c
	}
	rep.Set(p+".guard_candidates", float64(g.candidates))
	rep.Set(p+".guard_adapter_changed", float64(n))
	rep.Set(p+".taken_guarded", float64(g.taken))
	rep.Set(p+".taken_failed", float64(g.failed))
	setFinite(rep, p+".taken_auc_risk", g.aucRisk)
	setFinite(rep, p+".taken_auc_note", g.aucNote)
	if g.adapterScored > 0 {
		setFinite(rep, p+".taken_auc_adapter", g.aucAdapter)
		rep.Set(p+".taken_adapter_scored", float64(g.adapterScored))
		rep.Set(p+".taken_adapter_only_flagged", float64(g.flaggedByAdapterTaken))
		rep.Set(p+".taken_adapter_only_flagged_failed", float64(g.flaggedByAdapterFailed))
	}
}

func (g guardEvidence) row(arm string) []string {
	keys := slices.SortedFunc(func(yield func(simhttp.DecisionKey) bool) {
		for k := range g.changed {
			if !yield(k) {
				return
			}
		}
	}, func(a, b simhttp.DecisionKey) int { return g.changed[b] - g.changed[a] })
	changed := "none"
	if len(keys) > 0 {
		changed = ""
		for i, k := range keys {
			if i > 0 {
				changed += ", "
			}
			changed += fmt.Sprintf("%s→%s %d", k.Notes, k.Served, g.changed[k])
		}
	}
	ad := "–"
	if g.adapterScored > 0 {
		ad = fmt.Sprintf("%.3f (%d scored)", g.aucAdapter, g.adapterScored)
	}
	only := "–"
	if g.adapterScored > 0 {
		only = fmt.Sprintf("%d (%d failed)", g.flaggedByAdapterTaken, g.flaggedByAdapterFailed)
	}
	return []string{arm, fmt.Sprint(g.candidates), changed, fmt.Sprintf("%d (%d failed)", g.taken, g.failed),
		f(g.aucRisk), f(g.aucNote), ad, only}
}

func guardEvidenceTable(rows [][]string) benchkit.Table {
	return benchkit.Table{Title: "Guard: where the adapter changed the notes' decision, and how well each risk told failing actions apart",
		Header: []string{"arm", "candidates scored", "decisions changed by the adapter (notes→served)", "actions taken under a verdict",
			"AUC of risk", "AUC of note risk", "AUC of adapter risk", "taken though only the adapter flagged them"},
		Rows: rows}
}

// setFinite sets a figure that may be undefined (an AUC over one class):
// JSON has no NaN, so an undefined figure is left out.
func setFinite(rep *benchkit.Report, name string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		rep.Set(name, v)
	}
}
