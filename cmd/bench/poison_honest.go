package main

import (
	"context"
	"strings"
	"time"

	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/locomo"
	"github.com/admem/admem/internal/taubench"
)

// honestCost replays the tau-bench logs through guard twice, with the one
// honest key trusted for learning (the trust layer lets all it reports
// count, as before the layer) and untrusted (the layer in force: one
// source may warn, never block or suggest), and measures time-to-learn
// in each arm. Guard answers from the mistake notes alone (use_adapter
// off): the adapter's training time would otherwise decide the figures.
func (b *poisonBench) honestCost(ctx context.Context, tauPath string, ttlN int) error {
	eps, err := taubench.Load(tauPath)
	if err != nil {
		return err
	}
	byTask, taskIDs := groupTrials(eps)
	sp := lastTrialSplit(byTask, taskIDs, -1)
	t := benchkit.Table{Title: "Cost to honest learning (tau-bench replay, one honest key; guard from mistake notes)",
		Header: []string{"arm", "guard recall, repeat errors", "guard recall, all errors", "guard FPR", "time-to-learn p50 / p95 (s)"}}
	for _, arm := range []struct {
		name, metric string
		trusted      bool
	}{{"key trusted (trust layer lets it count)", "trusted", true}, {"key untrusted (trust layer in force)", "untrusted", false}} {
		_, key, err := b.e.tenantKey(ctx, "poison-honest-"+arm.metric, arm.trusted)
		if err != nil {
			return err
		}
		if _, _, err := learnSplit(ctx, b.e, key, sp, taskIDs); err != nil {
			return err
		}
		if err := setUseAdapter(ctx, b.e, key, false); err != nil {
			return err
		}
		res, err := replayGuard(ctx, b.e, key, sp, taskIDs)
		if err != nil {
			return err
		}
		b.e.untrustedKeys = !arm.trusted
		ttl, notLearned, _, err := timeToLearn(ctx, b.e, eps, ttlN, 10*time.Second)
		b.e.untrustedKeys = false
		if err != nil {
			return err
		}
		m := "honest." + arm.metric + "."
		b.rep.Set(m+"guard.recall_repeat_errors", res.recallRepeat())
		b.rep.Set(m+"guard.recall_all_errors", res.recallAll())
		b.rep.Set(m+"guard.fpr", res.fpr())
		b.rep.Set(m+"learn.time_to_learn_p50_s", benchkit.Median(ttl))
		b.rep.Set(m+"learn.time_to_learn_p95_s", benchkit.Percentile(ttl, 95))
		b.rep.Set(m+"learn.time_to_learn_not_learned", float64(notLearned))
		t.Rows = append(t.Rows, []string{arm.name, benchkit.FormatFloat(res.recallRepeat()), benchkit.FormatFloat(res.recallAll()),
			benchkit.FormatFloat(res.fpr()),
			benchkit.FormatFloat(benchkit.Median(ttl)) + " / " + benchkit.FormatFloat(benchkit.Percentile(ttl, 95))})
	}
	b.rep.AddTable(t)
	b.rep.Note("Honest cost: every task's trials but the last are recorded by one key; each call of the last trial is put to " +
		"guard. Trusted: the admin marked the key trusted for learning, so what it alone reports counts (blocks, fixes), as before " +
		"the trust layer. Untrusted: the same key unmarked; its mistakes may make guard warn, not block or suggest. Time-to-learn is " +
		"the time from the failing trajectory's POST to guard's first warning of its first failed call (a tenant per trajectory).")
	return nil
}

func loadLoCoMoTexts(path string) ([]string, error) {
	convs, _, err := locomo.Load(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range convs {
		for _, t := range c.Turns {
			out = append(out, t.Text)
			if t.Caption != "" {
				out = append(out, t.Caption)
			}
		}
	}
	return out, nil
}

func loadTauTexts(path string) ([]string, error) {
	eps, err := taubench.Load(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ep := range eps {
		for _, s := range ep.Trajectory.Steps {
			for _, txt := range []string{s.Observation, s.Error} {
				if strings.TrimSpace(txt) != "" {
					out = append(out, txt)
				}
			}
		}
	}
	return out, nil
}
