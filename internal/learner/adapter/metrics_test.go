package adapter

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAUC(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		scores []float64
		pos    []bool
		want   float64
	}{
		{"perfect", []float64{0.9, 0.8, 0.2, 0.1}, []bool{true, true, false, false}, 1},
		{"inverted", []float64{0.1, 0.2, 0.8, 0.9}, []bool{true, true, false, false}, 0},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, true, false}, 0.5},
		// Pairs (pos, neg): (0.8,0.3) win, (0.8,0.5) win, (0.5,0.3) win, (0.5,0.5) tie → 3.5/4.
		{"one tie", []float64{0.8, 0.5, 0.5, 0.3}, []bool{true, true, false, false}, 0.875},
		{"one class", []float64{0.1, 0.2}, []bool{true, true}, math.NaN()},
		{"empty", nil, nil, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AUC(tc.scores, tc.pos)
			if !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Errorf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAUCMatchesPairCount compares the rank formula with the definition:
// the share of (positive, negative) pairs ordered correctly, ties half.
func TestAUCMatchesPairCount(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		n := 2 + rng.IntN(60)
		scores := make([]float64, n)
		pos := make([]bool, n)
		for i := range scores {
			scores[i] = float64(rng.IntN(6)) / 5 // few distinct values: many ties
			pos[i] = rng.IntN(3) == 0
		}
		var wins float64
		var pairs int
		for i := range n {
			for j := range n {
				if !pos[i] || pos[j] {
					continue
				}
				pairs++
				switch {
				case scores[i] > scores[j]:
					wins++
				case scores[i] == scores[j]:
					wins += 0.5
				}
			}
		}
		got := AUC(scores, pos)
		if pairs == 0 {
			if !math.IsNaN(got) {
				t.Fatalf("trial %d: AUC %v without pairs", trial, got)
			}
			continue
		}
		if want := wins / float64(pairs); math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: AUC %v, pair count %v", trial, got, want)
		}
	}
}

func TestBrierAndLogLoss(t *testing.T) {
	t.Parallel()
	p := []float64{0.9, 0.2, 0, 1}
	y := []bool{true, false, true, true}
	if got, want := Brier(p, y), (0.01+0.04+1+0)/4; math.Abs(got-want) > 1e-15 {
		t.Errorf("Brier = %v, want %v", got, want)
	}
	// p=0 for a positive is clipped to 1e-15 rather than giving +Inf.
	want := -(math.Log(0.9) + math.Log(0.8) + math.Log(1e-15) + math.Log(1-1e-15)) / 4
	if got := LogLoss(p, y); math.Abs(got-want) > 1e-12 {
		t.Errorf("LogLoss = %v, want %v", got, want)
	}
	if !math.IsNaN(Brier(nil, nil)) || !math.IsNaN(LogLoss(nil, nil)) {
		t.Error("empty input should give NaN")
	}
}

func TestClusterRecall(t *testing.T) {
	t.Parallel()
	ex := []Example{
		{Failed: true, Cluster: "a"}, {Failed: true, Cluster: "a"}, // both flagged
		{Failed: true, Cluster: "b"}, {Failed: true, Cluster: "b"}, // one of two: counts
		{Failed: true, Cluster: "c"}, {Failed: true, Cluster: "c"}, {Failed: true, Cluster: "c"}, // one of three: not
		{Failed: true},                // no cluster: ignored by cluster recall
		{Failed: false, Cluster: "a"}, // success: ignored
	}
	risks := []float64{0.9, 0.7, 0.6, 0.1, 0.5, 0.2, 0.3, 0.99, 0.95}
	m := EvaluateRisks(risks, ex, 0.5)
	if m.Clusters != 3 || m.N != 9 || m.Failures != 8 {
		t.Fatalf("counts: %+v", m)
	}
	if want := 2.0 / 3; math.Abs(m.ClusterRecall-want) > 1e-12 {
		t.Errorf("ClusterRecall = %v, want %v", m.ClusterRecall, want)
	}
	if want := (1 + 0.5 + 1.0/3) / 3; math.Abs(m.ClusterMacroRecall-want) > 1e-12 {
		t.Errorf("ClusterMacroRecall = %v, want %v", m.ClusterMacroRecall, want)
	}
	if none := EvaluateRisks([]float64{0.1}, []Example{{Failed: true}}, 0.5); !math.IsNaN(none.ClusterRecall) {
		t.Errorf("no clusters should give NaN, got %v", none.ClusterRecall)
	}
}
