package trajectories

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/store"
)

// Entries is the memory service as the publisher uses it: learned mistake
// notes and procedures become versioned entries of kind mistake and
// procedure, so they have history, provenance and rollback like any memory.
type Entries interface {
	FindByKey(ctx context.Context, tenantID string, kind admem.EntryKind, key string, scope admem.Scope) (admem.Entry, error)
	Write(ctx context.Context, tenantID string, in admem.NewEntry, o admem.WriteOptions) (admem.WriteResult, error)
	Update(ctx context.Context, tenantID, id string, u admem.EntryUpdate) (admem.Entry, error)
}

// ItemStore reads learned items.
type ItemStore interface {
	ItemsByID(ctx context.Context, tenantID string, ids []string) ([]store.LearnedItem, error)
}

// EntryKey is the entry key a learned item is published under.
func EntryKey(it store.LearnedItem) string { return string(it.Kind) + ":" + it.Key }

// Metadata keys of published entries.
const (
	MetaLearnedItem    = "learned_item_id"
	MetaLearnedVersion = "learned_version"
	MetaCount          = "count"
	MetaTrajectories   = "trajectory_ids" // up to MaxLinks trajectories the item was learnt from
)

// MaxLinks bounds the trajectory links an entry carries.
const MaxLinks = 50

// trajectoryLinks returns the trajectories a note happened in or a
// procedure was distilled from (and failed in), at most MaxLinks.
func trajectoryLinks(it store.LearnedItem) []string {
	var ids []string
	switch it.Kind {
	case admem.KindMistake:
		var m mistake.Mistake
		if json.Unmarshal(it.State, &m) == nil {
			ids = m.Trajectories
		}
	case admem.KindProcedure:
		var p ProcedureState
		if json.Unmarshal(it.State, &p) == nil {
			ids = append(append([]string{}, p.Procedure.Sources...), p.Procedure.FailedSources...)
		}
	}
	if len(ids) > MaxLinks {
		ids = ids[len(ids)-MaxLinks:]
	}
	return ids
}

// Publish writes the learned item's current version as an entry: a new
// entry the first time, a new entry version when the item moved on, nothing
// when the entry already shows this version or a later one. Publishing
// again is therefore harmless.
func Publish(ctx context.Context, items ItemStore, entries Entries, tenantID, itemID string) error {
	its, err := items.ItemsByID(ctx, tenantID, []string{itemID})
	if errors.Is(err, admem.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(its) == 0 {
		return nil // the tenant or the item is gone
	}
	it := its[0]
	content := it.Content
	if len(content) > admem.MaxContentBytes {
		content = content[:admem.MaxContentBytes]
		for !utf8.ValidString(content) {
			content = content[:len(content)-1]
		}
	}
	meta := map[string]any{MetaLearnedItem: it.ID, MetaLearnedVersion: it.Version, MetaCount: it.Count}
	if ids := trajectoryLinks(it); len(ids) > 0 {
		meta[MetaTrajectories] = ids
	}
	prov := admem.Provenance{Source: admem.SourceWorker, SourceID: it.ID}
	key := EntryKey(it)
	e, err := entries.FindByKey(ctx, tenantID, it.Kind, key, admem.Scope{})
	switch {
	case errors.Is(err, admem.ErrNotFound):
		if it.Status != admem.EntryActive {
			return nil
		}
		_, err := entries.Write(ctx, tenantID, admem.NewEntry{Kind: it.Kind, Key: key, Content: content, Metadata: meta, Provenance: prov},
			admem.WriteOptions{})
		if err != nil {
			return fmt.Errorf("trajectories: publish %s: %w", key, err)
		}
		return nil
	case err != nil:
		return err
	}
	if published, _ := e.Metadata[MetaLearnedVersion].(float64); int(published) >= it.Version && e.Status == it.Status {
		return nil
	}
	u := admem.EntryUpdate{Content: &content, Metadata: meta, Provenance: prov}
	if e.Status != it.Status {
		st := it.Status
		u.Status = &st
	}
	if _, err := entries.Update(ctx, tenantID, e.ID, u); err != nil {
		return fmt.Errorf("trajectories: publish %s: %w", key, err)
	}
	return nil
}
