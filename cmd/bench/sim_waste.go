package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/taubench"
)

// tauRead tells tau-bench's read tools (lookups, searches and the
// calculator) from its writes.
func tauRead(tool string) bool {
	for _, p := range []string{"get_", "search_", "list_"} {
		if strings.HasPrefix(tool, p) {
			return true
		}
	}
	return tool == "calculate"
}

// setWaste writes a waste measure's figures under prefix.
func setWaste(rep *benchkit.Report, prefix string, w sim.Waste) {
	rep.Set(prefix+".waste_share", w.Share())
	rep.Set(prefix+".waste_failed_share", w.FailedShare())
	rep.Set(prefix+".waste_repeated_read_share", w.RepeatedShare())
	rep.Set(prefix+".waste_retried_share", w.RetriedShare())
	rep.Set(prefix+".calls_per_useful", w.CallsPerUseful())
	rep.Set(prefix+".calls", float64(w.Calls))
}

// tauWaste measures the same waste on real agents' logs (tau-bench), all
// episodes and solved ones, so the stand-in agent's noise can be compared
// with data. An unreadable file is a note, not an error.
func tauWaste(rep *benchkit.Report, path string) (all, solved sim.Waste, ok bool) {
	if path == "" {
		return all, solved, false
	}
	if _, err := os.Stat(path); err != nil {
		rep.Note("Waste of real agents not measured: %v.", err)
		return all, solved, false
	}
	eps, err := taubench.Load(path)
	if len(eps) == 0 {
		rep.Note("Waste of real agents not measured: %s: %v.", path, err)
		return all, solved, false
	}
	for _, e := range eps {
		all.Add(e.Trajectory.Steps, tauRead)
		if e.Reward != nil && *e.Reward == 1 {
			solved.Add(e.Trajectory.Steps, tauRead)
		}
	}
	setWaste(rep, "tau", all)
	setWaste(rep, "tau.solved", solved)
	return all, solved, true
}

// wasteTable compares the arms' wasted calls with real agents'.
func wasteTable(rows [][]string, tauAll, tauSolved sim.Waste, tauOK bool, tauPath string) benchkit.Table {
	t := benchkit.Table{Title: "Wasted calls: failed calls and repeated successful reads (all episodes / solved ones)",
		Header: []string{"agent", "calls", "wasted", "failed", "repeated reads", "failed calls retried with the same tool", "calls per useful call"}}
	t.Rows = append(t.Rows, rows...)
	if tauOK {
		t.Rows = append(t.Rows, wasteRow("tau-bench "+tauPath, tauAll, tauSolved))
	}
	return t
}

func wasteRow(name string, all, solved sim.Waste) []string {
	p := func(a, b float64) string { return fmt.Sprintf("%.1f / %.1f %%", 100*a, 100*b) }
	return []string{name, fmt.Sprintf("%d / %d", all.Calls, solved.Calls), p(all.Share(), solved.Share()), p(all.FailedShare(), solved.FailedShare()),
		p(all.RepeatedShare(), solved.RepeatedShare()), p(all.RetriedShare(), solved.RetriedShare()),
		fmt.Sprintf("%.3f / %.3f", all.CallsPerUseful(), solved.CallsPerUseful())}
}
