// Package readcache keeps per-tenant, in-process copies of what the read
// path reads from Postgres, each checked against a per-tenant stamp that
// the database moves at the commit of every change the copy depends on
// (migrations 000012 and 000015). A request then costs one row read instead
// of the queries that made the copy; a change made by any process is seen
// by the next request after its commit. Copies are keyed by tenant first:
// one tenant's copy is never looked up under another's id.
package readcache

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/admem/admem/internal/guard"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/store"
)

// Limits on what the guard cache holds.
const (
	// MaxTenants bounds the tenants with a copy; past it an arbitrary
	// tenant's copy is dropped (it is read again when next needed).
	MaxTenants = 1000
	// MaxToolSets bounds the distinct candidate tool lists kept per tenant.
	MaxToolSets = 256
)

// GuardStore is what the guard cache reads through.
type GuardStore interface {
	guard.Store
	GuardStamp(ctx context.Context, tenantID string) (store.GuardStamp, error)
}

// Guard is guard.Store with each tenant's knowledge and tools' histories
// cached per list of candidate tools while the tenant's guard stamp is
// unchanged. Copies are shared by concurrent requests: guard only reads
// what it is given (TestGuardCacheSharedByConcurrentRequests in
// internal/http checks it under the race detector).
type Guard struct {
	GuardStore

	mu      sync.Mutex
	tenants map[string]*guardTenant
}

type guardTenant struct {
	stamp     store.GuardStamp
	byKey     map[string]guard.Knowledge
	histories map[string][]*mistake.Tool
}

// NewGuard returns the cache over st.
func NewGuard(st GuardStore) *Guard {
	return &Guard{GuardStore: st, tenants: map[string]*guardTenant{}}
}

// GuardKnowledge returns the tenant's knowledge about the tools, from the
// copy when the tenant's stamp has not moved since it was read.
func (g *Guard) GuardKnowledge(ctx context.Context, tenantID string, tools []string) (guard.Knowledge, error) {
	stamp, err := g.GuardStamp(ctx, tenantID)
	if err != nil {
		return guard.Knowledge{}, err
	}
	key := toolsKey(tools)
	if k, ok := g.lookup(tenantID, stamp, key); ok {
		return k, nil
	}
	// Read after the stamp: the knowledge is at least as new as the stamp
	// it is kept under, so a later change moves the stamp past it.
	k, err := g.GuardStore.GuardKnowledge(ctx, tenantID, tools)
	if err != nil {
		return guard.Knowledge{}, err
	}
	g.keep(tenantID, stamp, key, k)
	return k, nil
}

// GuardHistories returns the tools' recent calls, from the copy when the
// tenant's stamp has not moved since it was read. Guard reads them when a
// claim from too few sources meets a call: decoding them per request was
// half of guard's CPU where that is common.
func (g *Guard) GuardHistories(ctx context.Context, tenantID string, tools []string) ([]*mistake.Tool, error) {
	stamp, err := g.GuardStamp(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	key := toolsKey(tools)
	g.mu.Lock()
	if t := g.tenants[tenantID]; t != nil && t.stamp == stamp {
		if hs, ok := t.histories[key]; ok {
			g.mu.Unlock()
			return hs, nil
		}
	}
	g.mu.Unlock()
	hs, err := g.GuardStore.GuardHistories(ctx, tenantID, tools)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.current(tenantID, stamp); t != nil {
		t.histories[key] = hs
	}
	return hs, nil
}

func (g *Guard) lookup(tenantID string, stamp store.GuardStamp, key string) (guard.Knowledge, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.tenants[tenantID]
	if t == nil || t.stamp != stamp {
		return guard.Knowledge{}, false
	}
	k, ok := t.byKey[key]
	return k, ok
}

func (g *Guard) keep(tenantID string, stamp store.GuardStamp, key string, k guard.Knowledge) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.current(tenantID, stamp); t != nil {
		t.byKey[key] = k
	}
}

// current returns the tenant's copy at stamp (g.mu held), made or emptied
// for it, with room for one more entry; nil when a concurrent request
// already holds a later copy.
func (g *Guard) current(tenantID string, stamp store.GuardStamp) *guardTenant {
	t := g.tenants[tenantID]
	switch {
	case t == nil:
		if len(g.tenants) >= MaxTenants {
			for id := range g.tenants {
				delete(g.tenants, id)
				break
			}
		}
		t = &guardTenant{stamp: stamp, byKey: map[string]guard.Knowledge{}, histories: map[string][]*mistake.Tool{}}
		g.tenants[tenantID] = t
	case t.stamp != stamp:
		if newer(t.stamp, stamp) {
			return nil
		}
		t.stamp, t.byKey, t.histories = stamp, map[string]guard.Knowledge{}, map[string][]*mistake.Tool{}
	}
	if len(t.byKey) >= MaxToolSets {
		clear(t.byKey)
	}
	if len(t.histories) >= MaxToolSets {
		clear(t.histories)
	}
	return t
}

// toolsKey is the list of tools as a map key, each name length-prefixed so
// that no two lists share a key.
func toolsKey(tools []string) string {
	var b strings.Builder
	for _, t := range tools {
		b.WriteString(strconv.Itoa(len(t)))
		b.WriteByte(':')
		b.WriteString(t)
	}
	return b.String()
}

// newer reports whether a is past b (the counters only grow; a tenant's
// purge rebuilds from scratch with Reset, which only grows too).
func newer(a, b store.GuardStamp) bool {
	return a.Learned.Version > b.Learned.Version || a.Learned.Reset > b.Learned.Reset || a.Policy > b.Policy
}
