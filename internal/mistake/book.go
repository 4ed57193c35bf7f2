package mistake

import (
	"slices"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/signature"
)

// Book is a tenant's mistake model, or the part of it one piece of work
// needs: some tools' recent calls and all the mistakes of those tools.
// It is not safe for concurrent use; guard reads one per request, the
// worker one per batch.
type Book struct {
	Tools    map[string]*Tool
	Mistakes map[string]*Mistake // by signature id

	byTool  map[string][]*Mistake
	changed map[string]bool // signature ids of mistakes changed since Reset
	touched map[string]bool // tools changed since Reset
}

// NewBook returns an empty book.
func NewBook() *Book {
	return &Book{Tools: map[string]*Tool{}, Mistakes: map[string]*Mistake{}}
}

// Add puts stored state into the book: tools (with Name set) and their
// mistakes. Invalid stored tools are replaced by empty ones.
func (b *Book) Add(tools []*Tool, mistakes []*Mistake) {
	for _, t := range tools {
		if !t.valid() {
			*t = Tool{Name: t.Name}
		}
		b.Tools[t.Name] = t
	}
	for _, m := range mistakes {
		b.Mistakes[m.SignatureID] = m
	}
	b.byTool = nil
}

// Changed returns the mistakes and tools changed since the book was made
// or last Reset, for the store to save.
func (b *Book) Changed() ([]*Tool, []*Mistake) {
	var ts []*Tool
	for name := range b.touched {
		ts = append(ts, b.Tools[name])
	}
	slices.SortFunc(ts, func(x, y *Tool) int { return strings.Compare(x.Name, y.Name) })
	var ms []*Mistake
	for id := range b.changed {
		ms = append(ms, b.Mistakes[id])
	}
	slices.SortFunc(ms, func(x, y *Mistake) int { return strings.Compare(x.SignatureID, y.SignatureID) })
	return ts, ms
}

// Reset forgets what changed.
func (b *Book) Reset() { b.changed, b.touched = nil, nil }

// Saved forgets that these mistakes changed (the store wrote them), and
// keeps every other change.
func (b *Book) Saved(ms []*Mistake) {
	for _, m := range ms {
		delete(b.changed, m.SignatureID)
	}
}

// ToolMistakes returns the mistakes of a tool, most failures first.
func (b *Book) ToolMistakes(tool string) []*Mistake {
	if b.byTool == nil {
		b.byTool = map[string][]*Mistake{}
		for _, m := range b.Mistakes {
			b.byTool[m.Signature.Tool] = append(b.byTool[m.Signature.Tool], m)
		}
		for _, ms := range b.byTool {
			slices.SortFunc(ms, func(x, y *Mistake) int {
				if x.Failures != y.Failures {
					return y.Failures - x.Failures
				}
				return strings.Compare(x.SignatureID, y.SignatureID)
			})
		}
	}
	return b.byTool[tool]
}

func (b *Book) tool(name string) *Tool {
	t := b.Tools[name]
	if t == nil {
		t = &Tool{Name: name}
		b.Tools[name] = t
	}
	if b.touched == nil {
		b.touched = map[string]bool{}
	}
	b.touched[name] = true
	return t
}

func (b *Book) mistake(sig signature.Signature) *Mistake {
	id := sig.ID()
	m := b.Mistakes[id]
	if m == nil {
		m = &Mistake{SignatureID: id, Signature: sig}
		b.Mistakes[id] = m
		b.byTool = nil
	}
	if b.changed == nil {
		b.changed = map[string]bool{}
	}
	b.changed[id] = true
	return m
}

// Source names where a trajectory came from: its agent and session (and,
// when known, the key that sent it). Evidence from one source is not
// independent of itself.
func Source(t admem.Trajectory) string {
	return t.Scope.AgentID + "/" + t.Scope.SessionID
}

// LearnFailure learns one failed step of a trajectory still being
// recorded: the failure is evidence at once (guard sees it within a
// second), its recovery is read when the trajectory closes.
func (b *Book) LearnFailure(t admem.Trajectory, i int, at time.Time) {
	if i < 0 || i >= len(t.Steps) || !t.Steps[i].Failed() {
		return
	}
	sit := stepsBefore(t, i)
	f := Describe(sit, CallOf(t.Steps[i]))
	b.observe(t, i, &f, at)
	b.fit(t.Steps[i].Action)
}

// LearnClosed learns a closed trajectory: every step not learnt before
// (learnt reports those, e.g. failures learnt as they were appended) as a
// call that worked or failed, then what the agent's recoveries from its
// failures teach.
func (b *Book) LearnClosed(t admem.Trajectory, learnt func(i int) bool, at time.Time) {
	facts := make([]Facts, len(t.Steps))
	for i := range t.Steps {
		facts[i] = Describe(stepsBefore(t, i), CallOf(t.Steps[i]))
	}
	tools := map[string]bool{}
	for i := range t.Steps {
		tools[t.Steps[i].Action] = true
		if learnt != nil && learnt(i) {
			continue
		}
		b.observe(t, i, &facts[i], at)
	}
	for i, st := range t.Steps {
		if !st.Failed() {
			continue
		}
		m := b.mistake(signature.FromStep(st))
		fix, retried, worked := readRecovery(t, facts, i)
		if retried {
			m.Retried++
		}
		if worked {
			m.RetryOK++
		}
		if fix != nil {
			m.teach(*fix, t.ID)
		}
	}
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b.fit(n)
	}
}

func (b *Book) observe(t admem.Trajectory, i int, f *Facts, at time.Time) {
	st := t.Steps[i]
	tool := b.tool(st.Action)
	if !st.Failed() {
		tool.Observe(f, "")
		return
	}
	sig := signature.FromStep(st)
	m := b.mistake(sig)
	m.observe(f, CallOf(st), sig, st.Error, t.Task, t.ID, Source(t), at)
	tool.Observe(f, sig.ID())
	if m.Failures == 1 || m.Began > tool.Clock {
		m.Began = tool.Clock
	}
	m.addInstance(f, st.Error, tool.Clock)
	b.supersedeNamed(st.Action, st.Error, at)
}

// fit refits every mistake of a tool on its recent calls.
func (b *Book) fit(tool string) {
	t := b.Tools[tool]
	if t == nil {
		return
	}
	for _, m := range b.ToolMistakes(tool) {
		before := m.Rule
		kind := m.Kind
		m.Fit(t)
		if kind != m.Kind || !sameRule(before, m.Rule) {
			b.markChanged(m.SignatureID)
		}
	}
	b.supersedeFormats(tool)
}

func sameRule(a, b Rule) bool {
	return a.Level == b.Level && a.P == b.P && a.Fails == b.Fails && a.OKs == b.OKs &&
		slices.Equal(a.Features, b.Features)
}
