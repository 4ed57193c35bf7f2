package simlocal

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/toolclass"
)

var (
	worldsN   = flag.Int("simlocal.worlds", 0, "generated worlds to play in process (0: skip TestWorlds)")
	episodes  = flag.Int("simlocal.episodes", 100, "episodes per world, arm and agent")
	seed      = flag.Uint64("simlocal.seed", 1, "seed the worlds are derived from")
	arms      = flag.String("simlocal.arms", "notes,full", "arms: notes (mistake model alone), full (with the adapter)")
	priorL2   = flag.Float64("simlocal.priorl2", -1, "adapter PriorL2 (-1: default)")
	l2        = flag.Float64("simlocal.l2", -1, "adapter L2 (-1: default)")
	rank      = flag.Int("simlocal.rank", -1, "adapter rank (-1: default)")
	calib     = flag.Int("simlocal.calib", -1, "adapter calibration 0/1 (-1: default)")
	namedOnly = flag.Bool("simlocal.named", false, "adapter on the named evidence features only")
	gate      = flag.Bool("simlocal.gate", false, "suggestions go through the tool policy the HTTP bench declares (reads read-only, the rest writes, renamed tools confirmed replacements)")
	dump      = flag.String("simlocal.dump", "", "after each slot, dump this tool's mistakes and recent calls")
	diag      = flag.Int("simlocal.diag", 0, "print this many lines of missed repeats per slot")
)

// TestWorlds plays the notes and full arms on freshly generated worlds in
// process and prints the figures per arm (mean and sd over the
// worlds). It measures; it asserts only that the run completes. Run with
// go test ./internal/simlocal -run TestWorlds -v -simlocal.worlds 10.
func TestWorlds(t *testing.T) {
	if *worldsN == 0 {
		t.Skip("pass -simlocal.worlds N to play generated worlds")
	}
	armList := strings.Split(*arms, ",")
	cfg := sim.WorldsConfig{Seed: *seed, Worlds: *worldsN, Episodes: *episodes, Arms: armList,
		Gen: sim.GenConfig{Transient: 0.05}, Parallel: 2}
	var mu sync.Mutex
	mems := map[string]*Memory{}
	cfg.OnRun = func(s sim.Slot, r *sim.RunResult) {
		if s.Arm == "full" {
			t.Logf("%s %s", s, separation(r.Episodes))
		}
		if *dump != "" {
			mu.Lock()
			var b strings.Builder
			DumpMistake(&b, mems[s.String()], *dump)
			mu.Unlock()
			t.Logf("%s %s:\n%s", s, *dump, b.String())
		}
		if *diag > 0 {
			mu.Lock()
			defer mu.Unlock()
			var b strings.Builder
			Diagnose(&b, mems[s.String()], r.Episodes, *diag)
			t.Logf("%s missed repeats:\n%s", s, b.String())
		}
	}
	res, err := sim.RunWorlds(context.Background(), cfg, func(_ context.Context, s sim.Slot) (sim.Memory, error) {
		m := New()
		if *gate {
			m.Tools = policyOf(s.W)
		}
		mu.Lock()
		mems[s.String()] = m
		mu.Unlock()
		if s.Arm == "full" {
			m.Adapter = NewAdapter()
			m.Adapter.NamedOnly = *namedOnly
			if *priorL2 >= 0 {
				m.Adapter.Cfg.PriorL2 = *priorL2
			}
			if *l2 >= 0 {
				m.Adapter.Cfg.L2 = *l2
			}
			if *rank >= 0 {
				m.Adapter.Cfg.Rank = *rank
			}
			if *calib >= 0 {
				m.Adapter.Cfg.Calibrate = *calib == 1
			}
		}
		return m, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	figs := []string{"success", "cautious_success", "guard_fpr", "guard_tpr_repeat", "transient_warned",
		"bad_suggestions", "foreign_literals", "cautious.guard_fpr", "cautious.guard_tpr_repeat", "gave_up", "cautious.gave_up"}
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s", "figure")
	for _, a := range armList {
		fmt.Fprintf(&b, " %16s", a)
	}
	b.WriteString("\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "%-28s", f)
		for _, a := range armList {
			fmt.Fprintf(&b, "    %.3f (%.3f)", res.Mean[a+"."+f], res.SD[a+"."+f])
		}
		b.WriteString("\n")
	}
	for i := range res.PerWorld {
		fmt.Fprintf(&b, "world %d:", i)
		for _, a := range armList {
			pw := res.PerWorld[i]
			fmt.Fprintf(&b, "  %s succ %.2f caut %.2f fpr %.3f tpr %.3f fl %.0f |", a, pw[a+".success"], pw[a+".cautious_success"], pw[a+".guard_fpr"], pw[a+".guard_tpr_repeat"], pw[a+".foreign_literals"]+pw[a+".cautious.foreign_literals"])
		}
		b.WriteString("\n")
	}
	t.Log("\n" + b.String())
}

// separation reports, over the judged candidates an adapter scored, how
// well the notes' risk, the adapter's and the served risk separate the
// calls that would fail from those that would work (AUC), and the flagged
// shares at the warn threshold.
func separation(eps []sim.EpisodeResult) string {
	var note, ad, served []float64
	var fails []bool
	for _, e := range eps {
		for _, j := range e.Judged {
			if j.AdapterRisk == nil || j.NoteRisk <= 0 {
				continue
			}
			note, ad, served = append(note, j.NoteRisk), append(ad, *j.AdapterRisk), append(served, j.Risk)
			fails = append(fails, j.Fails)
		}
	}
	nf := 0
	for _, f := range fails {
		if f {
			nf++
		}
	}
	flag := func(xs []float64) (tp, fp int) {
		for i, x := range xs {
			if x >= Warn {
				if fails[i] {
					tp++
				} else {
					fp++
				}
			}
		}
		return
	}
	ntp, nfp := flag(note)
	atp, afp := flag(ad)
	mx, lo := make([]float64, len(note)), make([]float64, len(note))
	for i := range note {
		mx[i] = max(note[i], ad[i])
		lo[i] = note[i]
		if note[i] < Warn {
			lo[i] = ad[i]
		}
	}
	mtp, mfp := flag(mx)
	ltp, lfp := flag(lo)
	return fmt.Sprintf("with evidence: n=%d fail=%d  AUC note %.3f adapter %.3f served %.3f  flagged note tp %d fp %d, adapter tp %d fp %d, max tp %d fp %d, raise-only tp %d fp %d",
		len(fails), nf, auc(note, fails), auc(ad, fails), auc(served, fails), ntp, nfp, atp, afp, mtp, mfp, ltp, lfp)
}

func auc(score []float64, pos []bool) float64 {
	var p, n, s float64
	for i := range score {
		for j := range score {
			if pos[i] && !pos[j] {
				switch {
				case score[i] > score[j]:
					s++
				case score[i] == score[j]:
					s += 0.5
				}
			}
		}
		if pos[i] {
			p++
		} else {
			n++
		}
	}
	if p == 0 || n == 0 {
		return 0
	}
	return s / (p * n)
}

// policyOf is the tool policy the HTTP benchmark's tenant admin declares
// for a world: reads are read-only, the rest writes, and each renamed
// tool's names are confirmed replacements of each other.
func policyOf(w *sim.World) *toolclass.Policy {
	p := &toolclass.Policy{Declared: map[string]toolclass.Class{}, Replacements: map[string]map[string]bool{}}
	for _, t := range w.Tools() {
		p.Declared[t.Name] = toolclass.Writes
		if t.Read {
			p.Declared[t.Name] = toolclass.ReadOnly
		}
		if t.Alt != "" {
			for _, pr := range [][2]string{{t.Name, t.Alt}, {t.Alt, t.Name}} {
				if p.Replacements[pr[0]] == nil {
					p.Replacements[pr[0]] = map[string]bool{}
				}
				p.Replacements[pr[0]][pr[1]] = true
			}
		}
	}
	return p
}
