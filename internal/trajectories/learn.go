package trajectories

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/store"
)

// LearnStore is the part of a learner transaction the learning code uses.
type LearnStore interface {
	TenantID() string
	UpsertItem(kind admem.EntryKind, key, source string, merge store.Merge) (store.LearnedItem, error)
	Trajectory(id string) (admem.Trajectory, error)
	Items(kind admem.EntryKind, limit int) ([]store.LearnedItem, error)
	Settings() (admem.LearningSettings, error)
	// Book locks the tools and loads their histories and mistakes;
	// SaveBook writes back what learning changed.
	Book(tools []string) (*mistake.Book, error)
	SaveBook(b *mistake.Book, source string) error
	// Learnt returns the failed steps of a trajectory already counted;
	// CountFailures records more, by step index and signature id.
	Learnt(trajectoryID string) (map[int]bool, error)
	CountFailures(t admem.Trajectory, sigs map[int]string) error
}

// Learner turns trajectories into procedural memory: mistakes (the
// mistake model of internal/mistake) and procedures.
type Learner struct {
	Procedures learner.ProcedureOptions
	// Now is the clock evidence is dated with (nil: time.Now).
	Now func() time.Time
}

// NewLearner returns a learner with the library's defaults.
func NewLearner() *Learner { return &Learner{} }

func (l *Learner) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

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

// LearnRecorded learns from a closed trajectory: a success becomes (or
// merges into) a procedure; every step is evidence for the mistake model
// (a call that worked or failed, once each however often it is learnt),
// and the agent's recoveries from its failures teach their fixes; under
// the reflect strategy the procedures a failure followed get a pitfall.
func (l *Learner) LearnRecorded(ls LearnStore, id string) error {
	t, err := ls.Trajectory(id)
	if err != nil {
		return err
	}
	if t.Purged {
		// An admin took back what its source taught (an event that was
		// still on its way when the purge committed).
		return nil
	}
	st, err := ls.Settings()
	if err != nil {
		return err
	}
	if t.Outcome == admem.OutcomeSuccess {
		if err := l.learnProcedure(ls, t); err != nil {
			return err
		}
	}
	if st.Strategy == admem.StrategySuccessOnly {
		return nil
	}
	if err := l.learnMistakes(ls, t, -1); err != nil {
		return err
	}
	var failed []int
	for i, s := range t.Steps {
		if s.Failed() {
			failed = append(failed, i)
		}
	}
	if st.Strategy == admem.StrategyReflect && t.Outcome == admem.OutcomeFailure && len(failed) > 0 {
		return l.reflect(ls, t, failed[len(failed)-1])
	}
	return nil
}

// LearnStepFailed learns one failed step of a trajectory still being
// recorded (the step.failed event), so guard knows it within a second; a
// closed trajectory's steps are learnt with it (LearnRecorded).
func (l *Learner) LearnStepFailed(ls LearnStore, trajectoryID string, idx int) error {
	t, err := ls.Trajectory(trajectoryID)
	if err != nil {
		return err
	}
	if !t.Open || t.Purged || idx < 0 || idx >= len(t.Steps) || !t.Steps[idx].Failed() {
		return nil
	}
	st, err := ls.Settings()
	if err != nil || st.Strategy == admem.StrategySuccessOnly {
		return err
	}
	return l.learnMistakes(ls, t, idx)
}

// learnMistakes feeds the trajectory's steps to the mistake model: all of
// them not learnt before (idx < 0, a closed trajectory) or the failed step
// idx alone.
func (l *Learner) learnMistakes(ls LearnStore, t admem.Trajectory, idx int) error {
	learnt, err := ls.Learnt(t.ID)
	if err != nil {
		return err
	}
	var tools []string
	for i, s := range t.Steps {
		if idx < 0 || i == idx {
			tools = append(tools, s.Action)
		}
	}
	// Tools the errors name ("renamed to Y") are loaded too: what a newer
	// error says about them reaches their mistakes.
	tools = append(tools, mistake.SaidTools(t)...)
	b, err := ls.Book(tools)
	if err != nil {
		return err
	}
	counted := map[int]string{}
	if idx >= 0 {
		if learnt[idx] {
			return nil
		}
		b.LearnFailure(t, idx, l.now())
		counted[idx] = signature.FromStep(t.Steps[idx]).ID()
	} else {
		b.LearnClosed(t, func(i int) bool { return learnt[i] }, l.now())
		for i, s := range t.Steps {
			if s.Failed() && !learnt[i] {
				counted[i] = signature.FromStep(s).ID()
			}
		}
	}
	if err := ls.CountFailures(t, counted); err != nil {
		return err
	}
	return ls.SaveBook(b, "trajectory:"+t.ID)
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
		s.Procedure.AddFailed(t.ID)
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

func (l *Learner) similarity(a, b string) float64 {
	if l.Procedures.Similarity != nil {
		return l.Procedures.Similarity(a, b)
	}
	return learner.TokenJaccard(a, b)
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
