package judge

import (
	"math"
	"testing"
)

func TestGateAdapter(t *testing.T) {
	nan := math.NaN()
	tol := DefaultGateTolerance()
	m := func(n int, auc, brier, recall float64) GateMetrics {
		return GateMetrics{N: n, Failures: n / 4, AUC: auc, Brier: brier, ClusterRecall: recall}
	}
	ptr := func(g GateMetrics) *GateMetrics { return &g }
	cases := []struct {
		name   string
		cand   GateMetrics
		active *GateMetrics
		want   bool
	}{
		{"first adapter above floor", m(100, 0.80, 0.15, 0.9), nil, true},
		{"first adapter at chance", m(100, 0.52, 0.24, 0.5), nil, false},
		{"first adapter, one class held out", m(100, nan, 0.1, nan), nil, false},
		{"too few held-out examples", m(10, 0.95, 0.05, 1), nil, false},
		{"undefined Brier", m(100, 0.9, nan, 1), nil, false},
		{"better on everything", m(100, 0.85, 0.12, 0.9), ptr(m(100, 0.80, 0.15, 0.8)), true},
		{"within AUC tolerance", m(100, 0.795, 0.15, 0.8), ptr(m(100, 0.80, 0.15, 0.8)), true},
		{"AUC drop beyond tolerance", m(100, 0.78, 0.12, 0.9), ptr(m(100, 0.80, 0.15, 0.8)), false},
		{"Brier rise beyond tolerance", m(100, 0.85, 0.17, 0.9), ptr(m(100, 0.80, 0.15, 0.8)), false},
		{"Brier rise within tolerance", m(100, 0.85, 0.155, 0.9), ptr(m(100, 0.80, 0.15, 0.8)), true},
		{"forgets a cluster", m(100, 0.85, 0.12, 0.70), ptr(m(100, 0.80, 0.15, 0.8)), false},
		{"cluster recall within tolerance", m(100, 0.85, 0.12, 0.76), ptr(m(100, 0.80, 0.15, 0.8)), true},
		{"no clusters held out", m(100, 0.85, 0.12, nan), ptr(m(100, 0.80, 0.15, 0.8)), true},
		{"AUC undefined for one model only", m(100, nan, 0.12, 0.9), ptr(m(100, 0.80, 0.15, 0.8)), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := GateAdapter(c.cand, c.active, tol)
			if d.Activate != c.want {
				t.Fatalf("activate = %v, want %v (reasons %q)", d.Activate, c.want, d.Reasons)
			}
			if len(d.Reasons) == 0 {
				t.Fatal("a decision without reasons")
			}
		})
	}
}
