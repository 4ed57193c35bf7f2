package trajectories

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/store"
)

// LearnStore is the part of a learner transaction the learning code uses.
type LearnStore interface {
	TenantID() string
	UpsertItem(kind admem.EntryKind, key, source string, merge store.Merge) (store.LearnedItem, error)
	AddOccurrence(signatureID, trajectoryID string, stepIdx int) (bool, error)
	Trajectory(id string) (admem.Trajectory, error)
	RecentTrajectories(outcome admem.Outcome, limit int, exclude string, keep func(task string) bool) ([]admem.Trajectory, error)
	Items(kind admem.EntryKind, limit int) ([]store.LearnedItem, error)
	Settings() (admem.LearningSettings, error)
}

// Learner merges trajectories into mistake notes and procedures.
type Learner struct {
	Mistakes   learner.MistakeOptions
	Procedures learner.ProcedureOptions
	// Guides bounds how many recent trajectories of the other outcome are
	// considered for alignment (successes that teach a failure its
	// correction, failures a new success can correct). Only those of a
	// similar task have their steps loaded. The newest few are enough, and
	// each costs a read and an alignment per event.
	Guides int
}

// NewLearner returns a learner with the library's defaults.
func NewLearner() *Learner { return &Learner{Guides: 25} }

// ProcedureState is a procedure's stored state: the distilled procedure and,
// under the reflect strategy, the steps at which agents following it failed.
type ProcedureState struct {
	Procedure learner.Procedure
	Pitfalls  []Pitfall
}

// Pitfall marks a procedure step at which an agent that followed it failed.
type Pitfall struct {
	Step        int // 1-based script step
	Tool        string
	SignatureID string
	Error       string // "Class: template"
	Trajectory  string
}

// Render is the procedure's prompt text with its pitfalls.
func (p ProcedureState) Render() string {
	var b strings.Builder
	b.WriteString(p.Procedure.Render())
	for _, f := range p.Pitfalls {
		fmt.Fprintf(&b, "\nCaution at step %d (%s): failed with %q.", f.Step, f.Tool, f.Error)
	}
	return b.String()
}

// LearnFailedSteps counts the failed steps at idxs of t into their mistake
// notes (creating them), with corrections from recoveries within t and from
// aligning t with recent successes of similar tasks. Each step counts once,
// however often it is learnt. It returns the notes written.
func (l *Learner) LearnFailedSteps(ls LearnStore, t admem.Trajectory, idxs []int) ([]store.LearnedItem, error) {
	st, err := ls.Settings()
	if err != nil {
		return nil, err
	}
	if st.Strategy == admem.StrategySuccessOnly || len(idxs) == 0 {
		return nil, nil
	}
	successes, err := ls.RecentTrajectories(admem.OutcomeSuccess, l.Guides, t.ID, l.similarTo(t.Task, l.Mistakes.MinSimilarity))
	if err != nil {
		return nil, err
	}
	probe := t
	probe.Outcome = admem.OutcomeFailure // only its failed steps matter here; a success would guide itself
	notes := map[string]learner.MistakeNote{}
	for _, n := range learner.DistillMistakes(append([]admem.Trajectory{probe}, successes...), l.Mistakes) {
		notes[n.ID] = n
	}
	fresh := map[string]int{}
	var order []string
	for _, i := range idxs {
		if i < 0 || i >= len(t.Steps) || !t.Steps[i].Failed() {
			continue
		}
		id := signature.FromStep(t.Steps[i]).ID()
		added, err := ls.AddOccurrence(id, t.ID, i)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(order, id) {
			order = append(order, id)
		}
		if added {
			fresh[id]++
		}
	}
	var out []store.LearnedItem
	for _, id := range order {
		incoming, ok := notes[id]
		if !ok {
			continue
		}
		if fresh[id] == 0 {
			// Already counted: only new corrections may be added.
			incoming.Count, incoming.TrajectoryIDs, incoming.Tasks = 0, nil, nil
		} else {
			incoming.Count = fresh[id]
		}
		it, err := l.mergeNote(ls, incoming, "trajectory:"+t.ID)
		if err != nil {
			return nil, err
		}
		if it.ID != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

func (l *Learner) mergeNote(ls LearnStore, incoming learner.MistakeNote, source string) (store.LearnedItem, error) {
	return ls.UpsertItem(admem.KindMistake, incoming.ID, source, func(old *store.LearnedItem) (store.LearnedItem, bool, error) {
		next := incoming
		if old != nil {
			var prev learner.MistakeNote
			if err := json.Unmarshal(old.State, &prev); err != nil {
				return store.LearnedItem{}, false, fmt.Errorf("trajectories: decode mistake note %s: %w", old.Key, err)
			}
			next = learner.MergeNotes(prev, incoming, l.Mistakes)
			if reflect.DeepEqual(prev, next) {
				return *old, false, nil
			}
		} else if incoming.Count == 0 {
			return store.LearnedItem{}, false, nil
		}
		state, err := json.Marshal(next)
		if err != nil {
			return store.LearnedItem{}, false, err
		}
		return store.LearnedItem{State: state, Content: next.Render(), SearchText: noteSearchText(next), Count: next.Count}, true, nil
	})
}

// LearnRecorded learns from a closed trajectory: a success becomes (or
// merges into) a procedure and may teach corrections to notes of similar
// failures; a failure's steps are counted into notes (once each), and under
// the reflect strategy the procedures it followed get a pitfall.
func (l *Learner) LearnRecorded(ls LearnStore, id string) error {
	t, err := ls.Trajectory(id)
	if err != nil {
		return err
	}
	st, err := ls.Settings()
	if err != nil {
		return err
	}
	if t.Outcome == admem.OutcomeSuccess {
		if err := l.learnProcedure(ls, t); err != nil {
			return err
		}
		if st.Strategy != admem.StrategySuccessOnly {
			if err := l.teachCorrections(ls, t); err != nil {
				return err
			}
		}
	}
	if st.Strategy == admem.StrategySuccessOnly {
		return nil
	}
	var failed []int
	for i, s := range t.Steps {
		if s.Failed() {
			failed = append(failed, i)
		}
	}
	if _, err := l.LearnFailedSteps(ls, t, failed); err != nil {
		return err
	}
	if st.Strategy == admem.StrategyReflect && t.Outcome == admem.OutcomeFailure && len(failed) > 0 {
		return l.reflect(ls, t, failed[len(failed)-1])
	}
	return nil
}

// LearnStepFailed learns from one failed step (the step.failed event).
func (l *Learner) LearnStepFailed(ls LearnStore, trajectoryID string, idx int) error {
	t, err := ls.Trajectory(trajectoryID)
	if err != nil {
		return err
	}
	_, err = l.LearnFailedSteps(ls, t, []int{idx})
	return err
}

func (l *Learner) learnProcedure(ls LearnStore, t admem.Trajectory) error {
	ps := learner.DistillProcedures([]admem.Trajectory{t}, l.Procedures)
	if len(ps) == 0 {
		return nil
	}
	p := ps[0]
	items, err := ls.Items(admem.KindProcedure, 1000)
	if err != nil {
		return err
	}
	procs := make([]learner.Procedure, 0, len(items))
	states := make([]ProcedureState, 0, len(items))
	for _, it := range items {
		if !mayMatch(it.SearchText, t.Task) {
			continue
		}
		var s ProcedureState
		if err := json.Unmarshal(it.State, &s); err != nil {
			return fmt.Errorf("trajectories: decode procedure %s: %w", it.Key, err)
		}
		// Procedures already supported by t (a replayed event) stay as they are.
		if slices.Contains(s.Procedure.Sources, t.ID) {
			return nil
		}
		procs = append(procs, s.Procedure)
		states = append(states, s)
	}
	merged, at := learner.UpsertProcedure(procs, p, l.Procedures)
	key := merged[at].ID
	state := ProcedureState{Procedure: merged[at]}
	if at < len(states) {
		key = states[at].Procedure.ID
		state.Pitfalls = states[at].Pitfalls
	}
	_, err = ls.UpsertItem(admem.KindProcedure, key, "trajectory:"+t.ID, func(old *store.LearnedItem) (store.LearnedItem, bool, error) {
		return procedureItem(state)
	})
	return err
}

// teachCorrections aligns a new success with recent failures of similar
// tasks and adds the corrections it teaches to their existing notes.
func (l *Learner) teachCorrections(ls LearnStore, success admem.Trajectory) error {
	var failures []admem.Trajectory
	for _, o := range []admem.Outcome{admem.OutcomeFailure, admem.OutcomePartial} {
		fs, err := ls.RecentTrajectories(o, l.Guides, success.ID, l.similarTo(success.Task, l.Mistakes.MinSimilarity))
		if err != nil {
			return err
		}
		failures = append(failures, fs...)
	}
	if len(failures) == 0 {
		return nil
	}
	for _, n := range learner.DistillMistakes(append(failures, success), l.Mistakes) {
		if len(n.Corrections) == 0 {
			continue
		}
		has := false
		for _, c := range n.Corrections {
			if c.From == success.ID {
				has = true
			}
		}
		if !has {
			continue
		}
		n.Count, n.TrajectoryIDs, n.Tasks = 0, nil, nil
		if _, err := l.mergeNote(ls, n, "trajectory:"+success.ID); err != nil {
			return err
		}
	}
	return nil
}

// reflect gives each procedure of a similar task whose tool the failed step
// called a new version with the failure recorded as a pitfall.
func (l *Learner) reflect(ls LearnStore, t admem.Trajectory, idx int) error {
	items, err := ls.Items(admem.KindProcedure, 1000)
	if err != nil {
		return err
	}
	step := t.Steps[idx]
	sig := signature.FromStep(step)
	minSim := l.Procedures.MinSimilarity
	if minSim == 0 {
		minSim = learner.DefaultMinSimilarity
	}
	for _, it := range items {
		if it.Status != admem.EntryActive || !mayMatch(it.SearchText, t.Task) {
			continue
		}
		var s ProcedureState
		if err := json.Unmarshal(it.State, &s); err != nil {
			return fmt.Errorf("trajectories: decode procedure %s: %w", it.Key, err)
		}
		if l.similarity(s.Procedure.Task, t.Task) < minSim || slices.Contains(s.Procedure.FailedSources, t.ID) {
			continue
		}
		at := slices.IndexFunc(s.Procedure.Script, func(ss learner.ScriptStep) bool { return ss.Tool == step.Action })
		if at < 0 {
			continue
		}
		s.Procedure.FailedSources = append(slices.Clone(s.Procedure.FailedSources), t.ID)
		slices.Sort(s.Procedure.FailedSources)
		s.Procedure.Version++
		if !slices.ContainsFunc(s.Pitfalls, func(p Pitfall) bool { return p.SignatureID == sig.ID() && p.Step == at+1 }) {
			s.Pitfalls = append(s.Pitfalls, Pitfall{Step: at + 1, Tool: step.Action, SignatureID: sig.ID(),
				Error: sig.Class + ": " + sig.Template, Trajectory: t.ID})
		}
		if _, err := ls.UpsertItem(admem.KindProcedure, it.Key, "reflect:"+t.ID, func(*store.LearnedItem) (store.LearnedItem, bool, error) {
			return procedureItem(s)
		}); err != nil {
			return err
		}
	}
	return nil
}

func procedureItem(s ProcedureState) (store.LearnedItem, bool, error) {
	state, err := json.Marshal(s)
	if err != nil {
		return store.LearnedItem{}, false, err
	}
	p := s.Procedure
	text := strings.Join(append([]string{p.Task}, p.Tasks...), " ")
	for _, st := range p.Script {
		text += " " + st.Tool
	}
	return store.LearnedItem{State: state, Content: s.Render(), SearchText: text, Count: p.Successes()}, true, nil
}

func noteSearchText(n learner.MistakeNote) string {
	parts := append([]string{n.When, n.Doing.Tool, n.DoingPattern, n.Signature.String()}, n.Tasks...)
	for _, c := range n.Corrections {
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, " ")
}

func (l *Learner) similarity(a, b string) float64 {
	if l.Procedures.Similarity != nil {
		return l.Procedures.Similarity(a, b)
	}
	return learner.TokenJaccard(a, b)
}

// similarTo accepts tasks at least minSim similar to task.
func (l *Learner) similarTo(task string, minSim float64) func(string) bool {
	if minSim == 0 {
		minSim = learner.DefaultMinSimilarity
	}
	return func(other string) bool { return l.similarity(other, task) >= minSim }
}

// mayMatch is a cheap, safe pre-filter before decoding a stored procedure:
// a procedure whose text shares no word with the task cannot be similar
// enough to merge with it or to be followed by it.
func mayMatch(searchText, task string) bool {
	low := strings.ToLower(searchText)
	for _, w := range strings.FieldsFunc(strings.ToLower(task), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len(w) > 1 && strings.Contains(low, w) {
			return true
		}
	}
	return false
}
