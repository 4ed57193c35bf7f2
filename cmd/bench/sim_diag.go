package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/sim"
	"github.com/admem/admem/internal/simhttp"
)

// markNoteHeld sets each failure's Held to whether the tenant had an active
// mistake note with the failure's server error signature at the start of
// its episode (DESIGN.md's repeat mistake). Notes are learnt from a
// trajectory only after it is posted at the end of its episode, so a note
// learnt during the episode could only come from an earlier episode's
// backlog; with -sync there is none. It reports false, leaving Held as
// AnnotateHeld set it, when there is not one snapshot per episode.
func markNoteHeld(eps []sim.EpisodeResult, snaps []map[string]simhttp.Note) bool {
	if len(snaps) != len(eps) {
		return false
	}
	sim.MarkHeld(eps, func(i int, f sim.FailedStep) bool {
		_, ok := snaps[i][simhttp.FailureSignature(f)]
		return ok
	})
	return true
}

// RMR diagnosis: why each repeated mistake (a failed step whose signature the
// tenant had a note for) still happened.
const (
	diagSuggestion  = "flagged_suggestion_failed" // guard flagged the preferred candidate and the agent took its suggestion, which failed
	diagAllFlagged  = "flagged_least_risky"       // every candidate flagged, no usable suggestion: the agent took the least risky
	diagDistrust    = "flagged_distrust"          // flagged, but two suggestions in a row had failed: the agent went its own way
	diagFromNote    = "allowed_note_correction"   // a recalled note's correction put the action forward and guard allowed it
	diagCitedLow    = "allowed_cited_low_risk"    // guard cited the note's signature but the risk stayed under the warn threshold
	diagSamePattern = "allowed_same_pattern"      // not cited although the action's masked pattern is the note's
	diagNearPattern = "allowed_near_pattern"      // not cited; pattern token similarity >= 0.5 (guard's note match bar)
	diagFarPattern  = "allowed_other_pattern"     // not cited; the action looks unlike the note's failing action
	diagNoGuard     = "no_guard"                  // the guard call failed
)

var diagOrder = []string{diagSuggestion, diagAllFlagged, diagDistrust, diagFromNote, diagCitedLow, diagSamePattern, diagNearPattern, diagFarPattern, diagNoGuard}

// rmrDiagnosis counts held failures by why they happened (diag* above), by
// hidden rule kind, and the failures seen in an earlier episode for which
// the tenant had no note (a learner gap, or a note retired or merged away).
type rmrDiagnosis struct {
	Held, Seen, SeenNoNote int
	Why                    map[string]int
	Kind                   map[string]int            // held failures by rule kind
	KindWhy                map[string]map[string]int // rule kind -> why -> count
	SeenNoNoteKind         map[string]int
}

func diagnoseRMR(w *sim.World, eps []sim.EpisodeResult, snaps []map[string]simhttp.Note) rmrDiagnosis {
	kinds := map[string]string{}
	for _, r := range w.Rules() {
		kinds[r.ID] = string(r.Kind)
	}
	d := rmrDiagnosis{Why: map[string]int{}, Kind: map[string]int{}, KindWhy: map[string]map[string]int{}, SeenNoNoteKind: map[string]int{}}
	for i, e := range eps {
		for _, f := range e.Failures {
			kind := kinds[f.Rule]
			if kind == "" {
				kind = "validation"
			}
			if f.Seen {
				d.Seen++
			}
			if !f.Held {
				if f.Seen {
					d.SeenNoNote++
					d.SeenNoNoteKind[kind]++
				}
				continue
			}
			d.Held++
			var note simhttp.Note
			if i < len(snaps) {
				note = snaps[i][simhttp.FailureSignature(f)]
			}
			why := whyRepeated(f, note)
			d.Why[why]++
			d.Kind[kind]++
			if d.KindWhy[kind] == nil {
				d.KindWhy[kind] = map[string]int{}
			}
			d.KindWhy[kind][why]++
		}
	}
	return d
}

func whyRepeated(f sim.FailedStep, note simhttp.Note) string {
	switch f.Pick {
	case sim.PickNoGuard:
		return diagNoGuard
	case sim.PickSuggested:
		return diagSuggestion
	case sim.PickDistrust:
		return diagDistrust
	case sim.PickLeastRisky:
		if f.Decision == sim.Warn || f.Decision == sim.Block {
			return diagAllFlagged
		}
	}
	if f.Noted {
		return diagFromNote
	}
	if slices.Contains(f.Cited, simhttp.FailureSignature(f)) {
		return diagCitedLow
	}
	args := make(map[string]any, len(f.Action.Args))
	for k, v := range f.Action.Args {
		args[k] = v
	}
	p := failures.ActionPattern(f.Action.Tool, args)
	switch {
	case p == note.DoingPattern:
		return diagSamePattern
	case actionJaccard(p, note.DoingPattern) >= 0.5:
		return diagNearPattern
	}
	return diagFarPattern
}

// figures writes the diagnosis as ARM.rmr_diag.* figures.
func (d rmrDiagnosis) figures(rep *benchkit.Report, arm string) {
	p := arm + ".rmr_diag."
	rep.Set(p+"held", float64(d.Held))
	rep.Set(p+"seen", float64(d.Seen))
	rep.Set(p+"seen_no_note", float64(d.SeenNoNote))
	for _, k := range diagOrder {
		rep.Set(p+k, float64(d.Why[k]))
	}
	for k, n := range d.Kind {
		rep.Set(p+"kind."+k, float64(n))
	}
}

// table is the diagnosis as a table: why by rule kind.
func (d rmrDiagnosis) table(arm string) benchkit.Table {
	var kinds []string
	for _, m := range []map[string]int{d.Kind, d.SeenNoNoteKind} {
		for k := range m {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	sort.Strings(kinds)
	t := benchkit.Table{Title: fmt.Sprintf("%s: why repeated mistakes happened (%d failed steps whose signature had a note; %d seen before without a note)", arm, d.Held, d.SeenNoNote),
		Header: append([]string{"why"}, append(kinds, "all")...)}
	for _, why := range diagOrder {
		if d.Why[why] == 0 {
			continue
		}
		row := []string{why}
		for _, k := range kinds {
			row = append(row, strconv.Itoa(d.KindWhy[k][why]))
		}
		t.Rows = append(t.Rows, append(row, strconv.Itoa(d.Why[why])))
	}
	if d.SeenNoNote > 0 {
		row := []string{"(seen before, no note)"}
		for _, k := range kinds {
			row = append(row, strconv.Itoa(d.SeenNoNoteKind[k]))
		}
		t.Rows = append(t.Rows, append(row, strconv.Itoa(d.SeenNoNote)))
	}
	return t
}

// dumpRepeats writes one JSON line per failed step whose signature had a
// note, with what the diagnosis read (for -dump-repeats).
func dumpRepeats(path, arm string, w *sim.World, eps []sim.EpisodeResult, snaps []map[string]simhttp.Note) error {
	kinds := map[string]string{}
	for _, r := range w.Rules() {
		kinds[r.ID] = string(r.Kind)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for i, e := range eps {
		for _, fs := range e.Failures {
			if !fs.Held || i >= len(snaps) {
				continue
			}
			note := snaps[i][simhttp.FailureSignature(fs)]
			var considered []map[string]any
			for _, c := range fs.Considered {
				v := map[string]any{"action": c.Action.String(), "decision": c.Verdict.Decision, "risk": c.Verdict.Risk, "note_risk": c.Verdict.NoteRisk}
				if c.Verdict.AdapterRisk != nil {
					v["adapter_risk"] = *c.Verdict.AdapterRisk
				}
				if c.Verdict.Suggestion != nil {
					v["suggestion"] = c.Verdict.Suggestion.String()
				}
				considered = append(considered, v)
			}
			if err := enc.Encode(map[string]any{"arm": arm, "episode": e.Index, "family": e.Family, "step": fs.Step, "rule": fs.Rule,
				"kind": kinds[fs.Rule], "why": whyRepeated(fs, note), "action": fs.Action.String(), "error": fs.Class + ": " + fs.Error,
				"pick": fs.Pick, "decision": fs.Decision, "risk": fs.Risk, "cited": fs.Cited, "flagged": fs.Flagged, "advice": fs.Advice,
				"note_doing": note.DoingPattern, "note_after": note.After, "note_do": note.Do, "note_seen": note.Seen, "considered": considered}); err != nil {
				f.Close()
				return err
			}
		}
	}
	return f.Close()
}

// pairedRefSteps is the mean reference-plan length of the episodes both
// base and arm solved: no run can take fewer steps than its plan, so
// ref/base − 1 is the largest reduction of steps per solved episode any memory
// could give on those episodes.
func pairedRefSteps(base, arm []sim.EpisodeResult) (float64, int) {
	ok := map[int]bool{}
	for _, e := range base {
		if e.Success {
			ok[e.Index] = true
		}
	}
	sum, n := 0, 0
	for _, e := range arm {
		if e.Success && ok[e.Index] {
			sum += e.RefSteps
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(sum) / float64(n), n
}

// actionJaccard compares two canonical actions by their argument tokens
// (key=value pairs), so that calls differing in one argument score high.
func actionJaccard(a, b string) float64 {
	ta, tb := argTokens(a), argTokens(b)
	if len(ta) == 0 && len(tb) == 0 {
		return 1
	}
	inter := 0
	for t := range ta {
		if tb[t] {
			inter++
		}
	}
	union := len(ta) + len(tb) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

func argTokens(s string) map[string]bool {
	if i := strings.IndexByte(s, '('); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSuffix(s, ")")
	out := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '{' || r == '}' || r == '[' || r == ']' || r == ' ' }) {
		out[f] = true
	}
	return out
}
