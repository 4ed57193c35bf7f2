package trajectories

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/store"
)

// BatchEventStore opens one learner transaction for several events of a
// tenant, recording them all as processed.
type BatchEventStore interface {
	EventStore
	LearnBatch(ctx context.Context, tenantID, consumer string, eventIDs []string, fn func(*store.LearnTx, []bool) error) error
}

// ManyObserver is an Observer of the trajectories of one tenant that a
// batch learnt, all at once (a closed trajectory for its
// trajectory.recorded event, an open one for its step.failed events).
type ManyObserver func(ctx context.Context, tenantID string, ts []admem.Trajectory) error

// BatchHandler returns the worker's event handler for events read
// together: per tenant, every trajectory event learns in one transaction
// (with the processed-event records, so a redelivery changes nothing),
// trajectories and the mistake model's tools are loaded once for the
// batch, each trajectory is observed once (by many, with the trajectories
// the transaction read, when it is set; trajectories of redelivered events
// by observe), and each learned item is published once. When a tenant's
// transaction fails (a concurrent change, an event that cannot be learnt)
// its events are learnt one at a time, so one bad event holds back only
// itself, and no other tenant's are redone.
func (l *Learner) BatchHandler(ledger string, db BatchEventStore, items ItemStore, entries Entries, many ManyObserver, observe ...Observer) func(ctx context.Context, evs []admem.Event) []error {
	one := l.Handler(ledger, db, items, entries, observe...)
	return func(ctx context.Context, evs []admem.Event) []error {
		errs := make([]error, len(evs))
		var tenants []string
		byTenant := map[string][]int{}
		for i, ev := range evs {
			if _, ok := byTenant[ev.TenantID]; !ok {
				tenants = append(tenants, ev.TenantID)
			}
			byTenant[ev.TenantID] = append(byTenant[ev.TenantID], i)
		}
		for _, t := range tenants {
			l.handleTenant(ctx, ledger, db, items, entries, many, observe, one, evs, byTenant[t], errs)
		}
		return errs
	}
}

func (l *Learner) handleTenant(ctx context.Context, ledger string, db BatchEventStore, items ItemStore, entries Entries, many ManyObserver, observe []Observer,
	one func(context.Context, admem.Event) error, evs []admem.Event, idx []int, errs []error) {
	tenantID := evs[idx[0]].TenantID
	var learn []int
	published := map[string]error{}
	for _, i := range idx {
		ev := evs[i]
		switch ev.Type {
		case admem.EventTrajectoryRecorded, admem.EventStepFailed:
			learn = append(learn, i)
		case admem.EventLearnedChanged:
			// Publishing reads the item's current version: once per item.
			err, done := published[ev.SubjectID]
			if !done {
				err = one(ctx, ev)
				published[ev.SubjectID] = err
			}
			errs[i] = err
		default:
			errs[i] = one(ctx, ev)
		}
	}
	if len(learn) == 0 {
		return
	}
	ids := make([]string, len(learn))
	for k, i := range learn {
		ids[k] = evs[i].ID
	}
	var loaded map[string]admem.Trajectory
	err := db.LearnBatch(ctx, tenantID, ledger, ids, func(lt *store.LearnTx, fresh []bool) error {
		var batch []admem.Event
		for k, i := range learn {
			if fresh[k] {
				batch = append(batch, evs[i])
			}
		}
		var err error
		loaded, err = l.learnBatch(lt, batch)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrAlreadyProcessed) {
		// Only this tenant's part is redone, event by event.
		for _, i := range learn {
			errs[i] = one(ctx, evs[i])
		}
		return
	}
	// Each trajectory is observed once: its trajectory.recorded event, or
	// its first step.failed.
	subject := map[string]int{}
	var order []string
	for _, i := range learn {
		ev := evs[i]
		at, ok := subject[ev.SubjectID]
		if !ok {
			order = append(order, ev.SubjectID)
			subject[ev.SubjectID] = i
			continue
		}
		if ev.Type == admem.EventTrajectoryRecorded && evs[at].Type != admem.EventTrajectoryRecorded {
			subject[ev.SubjectID] = i
		}
	}
	failed := map[string]error{}
	var together []string
	var ts []admem.Trajectory
	for _, s := range order {
		ev := evs[subject[s]]
		if t, ok := loaded[s]; ok && many != nil {
			// A closed trajectory is observed for its trajectory.recorded
			// event, which may come in a later batch; a purged one not at
			// all (its examples went with the purge).
			if !t.Purged && (ev.Type == admem.EventTrajectoryRecorded || t.Open) {
				together, ts = append(together, s), append(ts, t)
			}
			continue
		}
		for _, o := range observe {
			if err := o(ctx, ev); err != nil {
				failed[s] = err
				break
			}
		}
	}
	if len(ts) > 0 {
		if err := many(ctx, tenantID, ts); err != nil {
			for _, s := range together {
				failed[s] = err
			}
		}
	}
	for _, i := range learn {
		errs[i] = failed[evs[i].SubjectID]
	}
}

// learnBatch learns a tenant's fresh events in order, in one transaction,
// and returns the trajectories it read, by id.
func (l *Learner) learnBatch(lt *store.LearnTx, evs []admem.Event) (map[string]admem.Trajectory, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	var ids []string
	for _, ev := range evs {
		if !slices.Contains(ids, ev.SubjectID) {
			ids = append(ids, ev.SubjectID)
		}
	}
	bs, err := newBatchStore(lt, ids)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if _, ok := bs.trajs[ev.SubjectID]; !ok {
			// A deleted trajectory: nothing to learn.
			continue
		}
		switch ev.Type {
		case admem.EventTrajectoryRecorded:
			err = l.LearnRecorded(bs, ev.SubjectID)
		case admem.EventStepFailed:
			idx, ok := ev.Payload["step_index"].(float64)
			if !ok {
				return nil, fmt.Errorf("trajectories: step.failed event %s has no step_index", ev.ID)
			}
			err = l.LearnStepFailed(bs, ev.SubjectID, int(idx))
		}
		if err != nil {
			return nil, err
		}
	}
	return bs.trajs, bs.flush()
}

// batchStore is a learner transaction that serves what a batch reads more
// than once from memory: its trajectories, the settings, the counted
// failures, the procedures, and one mistake book over all the batch's tools.
type batchStore struct {
	*store.LearnTx
	trajs    map[string]admem.Trajectory
	learnt   map[string]map[int]bool
	settings *admem.LearningSettings
	items    map[admem.EntryKind][]store.LearnedItem
	book     *mistake.Book
}

func newBatchStore(lt *store.LearnTx, ids []string) (*batchStore, error) {
	trajs, err := lt.Trajectories(ids)
	if err != nil {
		return nil, err
	}
	learnt, err := lt.LearntAll(ids)
	if err != nil {
		return nil, err
	}
	bs := &batchStore{LearnTx: lt, trajs: trajs, learnt: learnt, items: map[admem.EntryKind][]store.LearnedItem{}, book: mistake.NewBook()}
	// Every tool the batch may learn about, locked in one sorted pass (so
	// two workers learning one tenant never deadlock).
	var tools []string
	for _, t := range trajs {
		for _, s := range t.Steps {
			tools = append(tools, s.Action)
		}
		tools = append(tools, mistake.SaidTools(t)...)
	}
	if err := lt.LoadBook(bs.book, tools); err != nil {
		return nil, err
	}
	return bs, nil
}

func (bs *batchStore) Trajectory(id string) (admem.Trajectory, error) {
	if t, ok := bs.trajs[id]; ok {
		return t, nil
	}
	return bs.LearnTx.Trajectory(id)
}

func (bs *batchStore) Settings() (admem.LearningSettings, error) {
	if bs.settings == nil {
		st, err := bs.LearnTx.Settings()
		if err != nil {
			return st, err
		}
		bs.settings = &st
	}
	return *bs.settings, nil
}

func (bs *batchStore) Learnt(id string) (map[int]bool, error) {
	if m, ok := bs.learnt[id]; ok {
		return m, nil
	}
	return bs.LearnTx.Learnt(id)
}

func (bs *batchStore) CountFailures(t admem.Trajectory, sigs map[int]string) error {
	if err := bs.LearnTx.CountFailures(t, sigs); err != nil {
		return err
	}
	if m, ok := bs.learnt[t.ID]; ok {
		for i := range sigs {
			m[i] = true
		}
	}
	return nil
}

// Items serves the first read of a kind from memory afterwards, kept up to
// date by UpsertItem (newest first, as stored).
func (bs *batchStore) Items(kind admem.EntryKind, limit int) ([]store.LearnedItem, error) {
	its, ok := bs.items[kind]
	if !ok {
		var err error
		if its, err = bs.LearnTx.Items(kind, limit); err != nil {
			return nil, err
		}
		bs.items[kind] = its
	}
	return its[:min(limit, len(its))], nil
}

func (bs *batchStore) UpsertItem(kind admem.EntryKind, key, source string, merge store.Merge) (store.LearnedItem, error) {
	it, err := bs.LearnTx.UpsertItem(kind, key, source, merge)
	if err != nil || it.ID == "" {
		return it, err
	}
	if its, ok := bs.items[kind]; ok {
		if at := slices.IndexFunc(its, func(x store.LearnedItem) bool { return x.Key == key }); at >= 0 && its[at].Version == it.Version {
			return it, nil // unchanged: it keeps its place
		}
		its = slices.DeleteFunc(slices.Clone(its), func(x store.LearnedItem) bool { return x.Key == key })
		bs.items[kind] = append([]store.LearnedItem{it}, its...)
	}
	return it, nil
}

// Book returns the batch's book, loading tools it does not hold yet.
func (bs *batchStore) Book(tools []string) (*mistake.Book, error) {
	if err := bs.LoadBook(bs.book, tools); err != nil {
		return nil, err
	}
	return bs.book, nil
}

// SaveBook saves the new versions one trajectory made (they name it as
// their source); the tools' histories and the mistakes' in-place changes
// are written once for the batch, by flush.
func (bs *batchStore) SaveBook(b *mistake.Book, source string) error {
	return bs.LearnTx.SaveBookVersions(b, source)
}

func (bs *batchStore) flush() error { return bs.LearnTx.SaveBook(bs.book, "") }
