package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/injection"
)

func (b *poisonBench) quarantine(ctx context.Context, locomoPath, tauPath string, seed uint64, per int) error {
	reals, err := realTexts(locomoPath, tauPath)
	if err != nil {
		return err
	}
	_, key, err := b.e.writerTenantTrust(ctx, "poison-quarantine", false)
	if err != nil {
		return err
	}
	quarantined := func(texts []string) ([]bool, error) {
		out := make([]bool, 0, len(texts))
		for i := 0; i < len(texts); i += 100 {
			j := min(i+100, len(texts))
			es := make([]map[string]any, 0, j-i)
			for _, t := range texts[i:j] {
				es = append(es, map[string]any{"content": t})
			}
			var res struct {
				Results []struct {
					Entry struct{ Trust string }
				}
			}
			if err := b.e.call(ctx, "POST", "/v1/entries/batch", key, map[string]any{"entries": es, "infer": false}, &res, nil); err != nil {
				return nil, err
			}
			if len(res.Results) != j-i {
				return nil, fmt.Errorf("entries batch: %d results for %d entries", len(res.Results), j-i)
			}
			for _, r := range res.Results {
				out = append(out, r.Entry.Trust == "quarantined")
			}
		}
		return out, nil
	}
	t := benchkit.Table{Title: "Quarantine over HTTP (facts written through POST /v1/entries/batch)", Header: []string{"set", "items", "quarantined", "rate", "target"}}
	worst := 0.0
	for _, set := range []struct{ name, metric string }{{"LoCoMo turns", "locomo_facts"}, {"tau-bench observations", "tau_observations"}} {
		q, err := quarantined(reals[set.metric])
		if err != nil {
			return err
		}
		n := count(q)
		r := float64(n) / float64(max(1, len(q)))
		worst = max(worst, r)
		b.rep.Set("poison.false_quarantine."+set.metric, r)
		t.Rows = append(t.Rows, []string{set.name, fmt.Sprint(len(q)), fmt.Sprint(n), benchkit.FormatFloat(r), "≤ 0.01"})
	}
	b.rep.Set("poison.false_quarantine", worst)
	// The blind pool was written after the classifier's last change and
	// never tuned on: its figure is the headline. The held-out pool was
	// read once its misses were (docs/trust.md).
	for _, pl := range []struct {
		name, metric string
		pool         injection.Pool
		seed         uint64
	}{{"blind pool (never tuned on)", "poison.quarantine_recall", injection.Blind, seed + 4000},
		{"held-out pool", "poison.quarantine_recall.heldout", injection.HeldOut, seed}} {
		samples := injection.Generate(pl.pool, pl.seed, per)
		texts := make([]string, len(samples))
		for i, s := range samples {
			texts[i] = s.Text
		}
		q, err := quarantined(texts)
		if err != nil {
			return err
		}
		byClass := map[string][2]int{}
		for i, s := range samples {
			c := byClass[s.Class]
			byClass[s.Class] = [2]int{c[0] + int(b2f(q[i])), c[1] + 1}
		}
		rec := float64(count(q)) / float64(max(1, len(q)))
		b.rep.Set(pl.metric, rec)
		t.Rows = append(t.Rows, []string{"injected instructions, " + pl.name + ", every class and disguise", fmt.Sprint(len(q)), fmt.Sprint(count(q)), benchkit.FormatFloat(rec), "≥ 0.95"})
		classes := make([]string, 0, len(byClass))
		for c := range byClass {
			classes = append(classes, c)
		}
		slices.Sort(classes)
		for _, c := range classes {
			x := byClass[c]
			r := float64(x[0]) / float64(x[1])
			b.rep.Set(pl.metric+".class."+metricName(c), r)
			t.Rows = append(t.Rows, []string{"— " + c, fmt.Sprint(x[1]), fmt.Sprint(x[0]), benchkit.FormatFloat(r), ""})
		}
	}
	b.rep.AddTable(t)
	return nil
}

func count(xs []bool) int {
	n := 0
	for _, x := range xs {
		if x {
			n++
		}
	}
	return n
}

func realTexts(locomoPath, tauPath string) (map[string][]string, error) {
	out := map[string][]string{}
	convs, err := loadLoCoMoTexts(locomoPath)
	if err != nil {
		return nil, err
	}
	out["locomo_facts"] = convs
	obs, err := loadTauTexts(tauPath)
	if err != nil {
		return nil, err
	}
	out["tau_observations"] = obs
	return out, nil
}
