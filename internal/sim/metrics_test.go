package sim

import (
	"math"
	"testing"
	"time"
)

// fail is a failed step with a tool and message.
func fail(tool, msg string) FailedStep { return FailedStep{Tool: tool, Error: msg} }

func episode(idx int, long, ok bool, steps, ref int, fails ...FailedStep) EpisodeResult {
	end := EndGoal
	if !ok {
		end = EndGaveUp
	}
	return EpisodeResult{Index: idx, Family: "f", Long: long, Success: ok, End: end, Steps: steps, RefSteps: ref, Failures: fails, Recorded: true}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestMetricsOnHandMadeEpisodes(t *testing.T) {
	cases := []struct {
		name                      string
		eps                       []EpisodeResult
		sr, long, frr, rmr, steps float64
		solved                    float64 // mean steps of solved episodes
		failed, repeats           int
	}{
		{name: "empty"},
		{
			name: "clean successes",
			eps:  []EpisodeResult{episode(0, false, true, 10, 10), episode(1, true, true, 30, 30)},
			sr:   1, long: 1, steps: 20, solved: 20,
		},
		{
			// Episode 0 fails twice with one signature: neither is held,
			// because the memory sees the trajectory only at its end.
			// Episode 1 repeats it (held) and makes a new one (not held).
			name: "repeats across episodes only",
			eps: []EpisodeResult{
				episode(0, false, false, 12, 10, fail("t", "bad id 12"), fail("t", "bad id 13")),
				episode(1, true, true, 34, 30, fail("t", "bad id 999"), fail("u", "quota 1/1")),
				episode(2, true, false, 40, 35),
			},
			// One success costs all 86 steps; the solved episode took 34.
			sr: 1.0 / 3, long: 0.5, frr: 0.5, rmr: 0.25, steps: 86, solved: 34, failed: 4, repeats: 1,
		},
		{
			name: "recovery",
			eps: []EpisodeResult{
				episode(0, false, true, 12, 10, fail("t", "x")),
				episode(1, false, true, 11, 10, fail("t", "x")),
				episode(2, false, false, 20, 10, fail("t", "y")),
				episode(3, false, false, 20, 10, fail("t", "x")),
			},
			sr: 0.5, frr: 0.5, rmr: 0.5, steps: 63.0 / 2, solved: 11.5, failed: 4, repeats: 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			AnnotateHeld(c.eps, nil)
			m := ComputeMetrics(c.eps, MetricsConfig{Window: 2})
			if !near(m.Success.Rate, c.sr) || !near(m.LongHorizon.Rate, c.long) || !near(m.FRR.Rate, c.frr) ||
				!near(m.RMR.Rate, c.rmr) || !near(m.StepsPerSuccess, c.steps) || !near(m.StepsPerSolved, c.solved) {
				t.Errorf("got SR %.3f long %.3f FRR %.3f RMR %.3f steps %.2f solved %.2f; want %.3f %.3f %.3f %.3f %.2f %.2f",
					m.Success.Rate, m.LongHorizon.Rate, m.FRR.Rate, m.RMR.Rate, m.StepsPerSuccess, m.StepsPerSolved, c.sr, c.long, c.frr, c.rmr, c.steps, c.solved)
			}
			if m.FailedSteps != c.failed || m.RMR.Hits != c.repeats {
				t.Errorf("failed %d repeats %d, want %d %d", m.FailedSteps, m.RMR.Hits, c.failed, c.repeats)
			}
			if want := (len(c.eps) + 1) / 2; len(m.Curve) != want {
				t.Errorf("%d curve points, want %d", len(m.Curve), want)
			}
		})
	}
}

func TestHeldIgnoresUnrecordedEpisodes(t *testing.T) {
	eps := []EpisodeResult{episode(0, false, false, 5, 5, fail("t", "e 1")), episode(1, false, false, 5, 5, fail("t", "e 2"))}
	eps[0].Recorded = false
	AnnotateHeld(eps, nil)
	if eps[1].Failures[0].Held {
		t.Fatal("a failure from an unrecorded episode counted as held")
	}
}

func TestCustomSignature(t *testing.T) {
	eps := []EpisodeResult{episode(0, false, false, 5, 5, fail("t", "A")), episode(1, false, false, 5, 5, fail("u", "B"))}
	AnnotateHeld(eps, nil)
	all := func(string, string) string { return "same" }
	if m := ComputeMetrics(eps, MetricsConfig{Signature: all}); m.RMR.Hits != 1 {
		t.Fatalf("custom signature: %d repeats, want 1", m.RMR.Hits)
	}
	if eps[1].Failures[0].Held {
		t.Fatal("ComputeMetrics changed its input")
	}
}

func TestCurveWindows(t *testing.T) {
	var eps []EpisodeResult
	for i := range 5 {
		eps = append(eps, episode(i, i == 4, i >= 3, 10, 10))
	}
	c := Curve(eps, 2)
	if len(c) != 3 || c[0].Success.Rate != 0 || c[1].Success.Rate != 0.5 || c[2].Success.Rate != 1 || c[2].End != 5 || c[2].LongSuccess.N != 1 {
		t.Fatalf("curve %+v", c)
	}
}

func TestLatencyPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(101-i)*time.Millisecond)
	}
	l := Latency(ds)
	if l.Calls != 100 || l.P50 != 50*time.Millisecond || l.P99 != 99*time.Millisecond || l.Max != 100*time.Millisecond || l.Mean != 50500*time.Microsecond {
		t.Fatalf("latency %+v", l)
	}
	if (Latency(nil) != LatencyStats{}) {
		t.Fatal("latency of nothing is not zero")
	}
}

func TestCompareAndPairedSteps(t *testing.T) {
	base := []EpisodeResult{episode(0, true, true, 40, 30), episode(1, true, false, 50, 30), episode(2, false, true, 20, 10)}
	arm := []EpisodeResult{episode(0, true, true, 30, 30), episode(1, true, true, 30, 30), episode(2, false, true, 10, 10)}
	mb, ma := ComputeMetrics(base, MetricsConfig{}), ComputeMetrics(arm, MetricsConfig{})
	c := Compare(mb, ma, DefaultTargets)
	// none: 110 steps for 2 successes (solved ones 30 on average); arm: 70
	// for 3.
	if !near(c.LongHorizonPP, 50) || !near(c.StepsPerSuccessDelta, 70.0/3/55-1) || !near(c.StepsPerSolvedDelta, 70.0/3/30-1) ||
		!c.Met["long_horizon_pp"] || !c.Met["steps_per_success"] {
		t.Fatalf("comparison %+v", c)
	}
	b, a, n := PairedSteps(base, arm)
	if n != 2 || b != 30 || a != 20 {
		t.Fatalf("paired steps %v %v %d", b, a, n)
	}
}
