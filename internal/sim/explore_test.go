package sim

import (
	"os"
	"testing"
)

// TestExplore prints per-family success of both test arms over a long run;
// it is for calibrating the agent and runs only with SIM_EXPLORE set.
func TestExplore(t *testing.T) {
	if os.Getenv("SIM_EXPLORE") == "" {
		t.Skip("set SIM_EXPLORE=1 to print calibration numbers")
	}
	n := 800
	w := NewWorld(Config{Seed: 11, DriftAt: n / 2})
	sched := Schedule(11, n, w.Families(), 0.35)
	for _, arm := range []struct {
		name string
		mem  Memory
	}{{"none", NoMemory{}}, {"ref", &refMemory{}}} {
		eps := runArm(t, w, arm.mem, sched)
		tail := Tail(eps, n/4)
		m := ComputeMetrics(tail, MetricsConfig{Window: 100})
		t.Log(describe(arm.name, m))
		for _, f := range Families(tail) {
			var long, short []EpisodeResult
			for _, e := range tail {
				if e.Family != f {
					continue
				}
				if e.Long {
					long = append(long, e)
				} else {
					short = append(short, e)
				}
			}
			ml, ms := ComputeMetrics(long, MetricsConfig{}), ComputeMetrics(short, MetricsConfig{})
			t.Logf("  %-12s short %.2f (n=%d)  long %.2f (n=%d)", f, ms.Success.Rate, ms.Success.N, ml.Success.Rate, ml.Success.N)
		}
		for _, p := range ComputeMetrics(eps, MetricsConfig{Window: 100}).Curve {
			t.Logf("  curve [%d,%d) %.2f", p.Start, p.End, p.Success.Rate)
		}
	}
}
