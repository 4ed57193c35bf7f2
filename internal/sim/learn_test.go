package sim

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
)

func runArm(t testing.TB, w *World, mem Memory, sched []EpisodeSpec) []EpisodeResult {
	t.Helper()
	eps, err := Run(context.Background(), w, mem, sched, RunConfig{Agent: DefaultAgentConfig()})
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

func describe(name string, m Metrics) string {
	return fmt.Sprintf("%-6s SR %.2f  long %.2f (n=%d)  short %.2f  FRR %.2f (n=%d)  RMR %.2f (n=%d)  steps/succ %.1f solved %.1f (ref %.1f)  ends %v",
		name, m.Success.Rate, m.LongHorizon.Rate, m.LongHorizon.N, m.Short.Rate, m.FRR.Rate, m.FRR.N, m.RMR.Rate, m.RMR.N,
		m.StepsPerSuccess, m.StepsPerSolved, m.RefStepsPerSolved, m.Ends)
}

// The loop learns: with a naive memory that only turns recorded failures
// into mistake notes, success rises and repeat mistakes fall against no
// memory, on the same seeds.
func TestMemoryLoopLearns(t *testing.T) {
	n := 240
	if s := os.Getenv("SIM_EPISODES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	w := NewWorld(Config{Seed: 11, DriftAt: n / 2})
	sched := Schedule(11, n, w.Families(), 0.35)
	none := runArm(t, w, NoMemory{}, sched)
	ref := runArm(t, w, &refMemory{}, sched)

	half := n / 2
	mNone := ComputeMetrics(Tail(none, half), MetricsConfig{Window: 40})
	mRef := ComputeMetrics(Tail(ref, half), MetricsConfig{Window: 40})
	t.Log(describe("none", mNone))
	t.Log(describe("ref", mRef))
	for _, p := range ComputeMetrics(ref, MetricsConfig{Window: 40}).Curve {
		t.Logf("ref curve [%d,%d) %.2f", p.Start, p.End, p.Success.Rate)
	}
	if os.Getenv("SIM_EXPLORE") != "" {
		for r, c := range ComputeMetrics(none, MetricsConfig{}).PerRule {
			t.Logf("none rule %-28s %d", r, c)
		}
		for r, c := range ComputeMetrics(ref, MetricsConfig{}).PerRule {
			t.Logf("ref  rule %-28s %d", r, c)
		}
	}
	if mRef.Success.Rate < mNone.Success.Rate+0.15 || mRef.LongHorizon.Rate < mNone.LongHorizon.Rate+0.15 {
		t.Errorf("success with memory %.2f (long %.2f), without %.2f (long %.2f): want at least +15 points",
			mRef.Success.Rate, mRef.LongHorizon.Rate, mNone.Success.Rate, mNone.LongHorizon.Rate)
	}
	// Few failures are left with memory and most of those are known ones it
	// failed to prevent, so the rate falls less than the count does.
	if mRef.RMR.Hits*3 > mNone.RMR.Hits || mRef.RMR.Rate >= mNone.RMR.Rate {
		t.Errorf("repeat mistakes with memory %d (rate %.2f), without %d (rate %.2f): want a third or fewer and a lower rate",
			mRef.RMR.Hits, mRef.RMR.Rate, mNone.RMR.Hits, mNone.RMR.Rate)
	}
	if mRef.FailedSteps >= mNone.FailedSteps {
		t.Errorf("failed steps with memory %d, without %d", mRef.FailedSteps, mNone.FailedSteps)
	}
}
