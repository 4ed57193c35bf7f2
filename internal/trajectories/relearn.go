package trajectories

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/store"
)

// Relearn recomputes a tenant's procedural memory from scratch: the
// trajectories that still count (ts, in the order they were learnt) are
// learnt again, as the worker learnt them, into an empty model held in
// memory. A purge uses it to take a source's evidence out of everything it
// taught; the store then writes what changed as new versions.
func (l *Learner) Relearn(settings admem.LearningSettings, ts []admem.Trajectory) (store.Relearnt, error) {
	rs := &replay{
		settings: settings,
		book:     mistake.NewBook(),
		byID:     make(map[string]admem.Trajectory, len(ts)),
		items:    map[string]*replayItem{},
		learnt:   map[string]map[int]bool{},
	}
	for _, t := range ts {
		rs.byID[t.ID] = t
	}
	// Evidence is dated when the trajectory was learnt, not now.
	rl := *l
	for _, t := range ts {
		at := t.CreatedAt
		if t.ClosedAt != nil {
			at = *t.ClosedAt
		}
		rl.Now = func() time.Time { return at }
		if !t.Open {
			if err := rl.LearnRecorded(rs, t.ID); err != nil {
				return store.Relearnt{}, fmt.Errorf("trajectories: relearn %s: %w", t.ID, err)
			}
			continue
		}
		for i, s := range t.Steps {
			if s.Failed() {
				if err := rl.LearnStepFailed(rs, t.ID, i); err != nil {
					return store.Relearnt{}, fmt.Errorf("trajectories: relearn %s step %d: %w", t.ID, i, err)
				}
			}
		}
	}
	out := store.Relearnt{Book: rs.book, Procedures: map[string]store.LearnedItem{}, Occurrences: rs.occurrences}
	for key, it := range rs.items {
		if it.item.Kind == admem.KindProcedure {
			out.Procedures[key] = it.item
		}
	}
	return out, nil
}

type replayItem struct {
	item  store.LearnedItem
	order int
}

// replay is the LearnStore of a relearn: everything in memory, starting
// empty, over a fixed set of trajectories.
type replay struct {
	settings    admem.LearningSettings
	book        *mistake.Book
	byID        map[string]admem.Trajectory
	items       map[string]*replayItem // procedures by key
	order       int
	learnt      map[string]map[int]bool
	occurrences []store.Occurrence
}

func (r *replay) TenantID() string { return "" }

func (r *replay) UpsertItem(kind admem.EntryKind, key, _ string, merge store.Merge) (store.LearnedItem, error) {
	var old *store.LearnedItem
	if it, ok := r.items[key]; ok {
		c := it.item
		old = &c
	}
	next, changed, err := merge(old)
	if err != nil {
		return store.LearnedItem{}, err
	}
	if !changed {
		if old == nil {
			return store.LearnedItem{}, nil
		}
		return *old, nil
	}
	next.Kind, next.Key, next.Status = kind, key, admem.EntryActive
	if old != nil {
		next.Version = old.Version + 1
	} else {
		next.Version = 1
	}
	r.order++
	r.items[key] = &replayItem{item: next, order: r.order}
	return next, nil
}

func (r *replay) Trajectory(id string) (admem.Trajectory, error) {
	t, ok := r.byID[id]
	if !ok {
		return admem.Trajectory{}, admem.ErrNotFound
	}
	return t, nil
}

// Items returns the procedures, most recently changed first, as the store does.
func (r *replay) Items(kind admem.EntryKind, limit int) ([]store.LearnedItem, error) {
	var its []*replayItem
	for _, it := range r.items {
		if kind == "" || it.item.Kind == kind {
			its = append(its, it)
		}
	}
	slices.SortFunc(its, func(a, b *replayItem) int { return cmp.Compare(b.order, a.order) })
	if len(its) > limit {
		its = its[:limit]
	}
	out := make([]store.LearnedItem, len(its))
	for i, it := range its {
		out[i] = it.item
	}
	return out, nil
}

func (r *replay) Settings() (admem.LearningSettings, error) { return r.settings, nil }

func (r *replay) Book([]string) (*mistake.Book, error) { return r.book, nil }

func (r *replay) SaveBook(b *mistake.Book, _ string) error {
	b.Reset()
	return nil
}

func (r *replay) Learnt(trajectoryID string) (map[int]bool, error) {
	out := map[int]bool{}
	for i := range r.learnt[trajectoryID] {
		out[i] = true
	}
	return out, nil
}

func (r *replay) CountFailures(t admem.Trajectory, sigs map[int]string) error {
	if r.learnt[t.ID] == nil {
		r.learnt[t.ID] = map[int]bool{}
	}
	idx := make([]int, 0, len(sigs))
	for i := range sigs {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		if r.learnt[t.ID][i] {
			continue
		}
		r.learnt[t.ID][i] = true
		p := admem.Provenance{ActorKeyID: t.Provenance.ActorKeyID, AgentID: t.Scope.AgentID, SessionID: t.Scope.SessionID}
		if i < len(t.Steps) && t.Steps[i].Provenance.ActorKeyID != "" {
			p.ActorKeyID = t.Steps[i].Provenance.ActorKeyID
		}
		r.occurrences = append(r.occurrences, store.Occurrence{SignatureID: sigs[i], TrajectoryID: t.ID, Step: i, Provenance: p})
	}
	return nil
}
