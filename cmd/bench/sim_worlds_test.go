package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/admem/admem/internal/simhttp"
)

// The multi-world report carries the figure names for every arm,
// means, sds and per-world figures, the oracle's upper bound, tables and
// plots. The none arm needs no API, so this runs without one.
func TestSimWorldsReport(t *testing.T) {
	dir := t.TempDir()
	e := &env{name: "sim", out: dir}
	err := runSimWorlds(context.Background(), e, worldsOptions{seed: 3, worlds: 2, episodes: 6, long: 0.35, drift: -1,
		arms: []simhttp.Arm{simhttp.ArmNone}, parallel: 2, transient: 0.05, window: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sim.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range requiredFigures {
		want = append(want, "worlds.none."+f, "worlds.none."+f+"_sd", "world.0.none."+f, "world.1.none."+f)
	}
	want = append(want, "worlds.oracle.success", "worlds.oracle.cautious_success", "world.1.tools")
	for _, k := range want {
		// No world has a suggestion to count for the none arm.
		perWorldEmpty := strings.HasPrefix(k, "world.") && strings.HasSuffix(k, "bad_suggestions")
		if _, ok := doc.Metrics[k]; !ok && !perWorldEmpty {
			t.Errorf("sim.json has no %s", k)
		}
	}
	if doc.Metrics["worlds.oracle.success"] < doc.Metrics["worlds.none.success"] {
		t.Errorf("oracle %.2f below none %.2f", doc.Metrics["worlds.oracle.success"], doc.Metrics["worlds.none.success"])
	}
	md, err := os.ReadFile(filepath.Join(dir, "sim.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Mean ± sd over 2 generated worlds", "Per world", "guard_fpr:"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("sim.md lacks %q", s)
		}
	}
	for _, p := range []string{"sim-worlds-success.png", "sim-worlds-guard-fpr.png"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
}
