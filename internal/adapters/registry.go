// Package adapters owns the lifecycle of trained procedural adapters: the
// worker's training job (examples → candidate → judge gate → stored
// version), activation (one row update plus a Redis notification), and the
// per-replica registry that keeps every tenant's active model in memory and
// swaps it atomically when a new version is activated anywhere.
//
// Readers of the registry never block: a loaded tenant costs one map lookup
// and one atomic load, and a request that started on the old model finishes
// on it. Notifications arrive by Redis pub/sub; a periodic poll of the
// active versions is the fallback when a notification is lost.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/learner/adapter"
)

// Active is a tenant's active adapter as loaded in memory. It is immutable.
type Active struct {
	Version    int
	Model      *adapter.Model
	EmbedderID string
	LoadedAt   time.Time
	// BaseRate is the share of failures among the held-out steps the
	// version was measured on; 0 when unknown.
	BaseRate float64
}

// Probability turns the model's risk, which is class-balanced (trained with
// failures and successes weighing half each, so 0.5 means "as likely as the
// average step"), into the probability that the step fails at the tenant's
// base rate: p = rπ / (rπ + (1−r)(1−π)). Failures are rare, so a balanced
// risk of 0.8 is usually far from "more likely to fail than not". Without a
// known base rate it returns the risk unchanged.
func (a *Active) Probability(risk float64) float64 {
	pi := a.BaseRate
	if !(pi > 0 && pi < 1) {
		return risk
	}
	num := risk * pi
	den := num + (1-risk)*(1-pi)
	if den <= 0 {
		return risk
	}
	return num / den
}

// baseRate reads the held-out failure share from a version's metrics.
func baseRate(metrics map[string]any) float64 {
	held, _ := metrics["held_out"].(map[string]any)
	num := func(v any) float64 {
		switch x := v.(type) {
		case float64:
			return x
		case int:
			return float64(x)
		case int64:
			return float64(x)
		}
		return 0
	}
	n, f := num(held["n"]), num(held["failures"])
	if n <= 0 || f <= 0 || f >= n {
		return 0
	}
	return f / n
}

// Source is where the registry reads active versions from.
type Source interface {
	ActiveAdapter(ctx context.Context, tenantID string) (admem.AdapterVersion, error)
	ActiveAdapterVersions(ctx context.Context) (map[string]int, error)
}

// Registry holds each tenant's active model for one API replica.
type Registry struct {
	src   Source
	log   *slog.Logger
	slots sync.Map // tenant id → *slot
	loads singleFlight
	swaps atomic.Int64
}

type slot struct {
	p atomic.Pointer[Active] // nil: the tenant has no active adapter
}

// NewRegistry returns an empty registry; tenants load on first use.
func NewRegistry(src Source, log *slog.Logger) *Registry {
	return &Registry{src: src, log: log}
}

// Get returns the tenant's active adapter, or nil when it has none. The
// first call for a tenant on this replica reads it from the database;
// every later call is lock-free.
func (r *Registry) Get(ctx context.Context, tenantID string) (*Active, error) {
	if v, ok := r.slots.Load(tenantID); ok {
		return v.(*slot).p.Load(), nil
	}
	if err := r.Refresh(ctx, tenantID); err != nil {
		return nil, err
	}
	v, _ := r.slots.Load(tenantID)
	return v.(*slot).p.Load(), nil
}

// Swaps counts models swapped in since start (for tests and metrics).
func (r *Registry) Swaps() int64 { return r.swaps.Load() }

// Refresh reloads the tenant's active version from the database and swaps
// it in if it changed. Concurrent refreshes of one tenant share one load.
func (r *Registry) Refresh(ctx context.Context, tenantID string) error {
	return r.loads.do(tenantID, func() error {
		v, err := r.src.ActiveAdapter(ctx, tenantID)
		var next *Active
		switch {
		case errors.Is(err, admem.ErrNotFound):
		case err != nil:
			return fmt.Errorf("adapters: load active adapter of %s: %w", tenantID, err)
		default:
			s, _ := r.slots.Load(tenantID)
			if s != nil {
				if cur := s.(*slot).p.Load(); cur != nil && cur.Version == v.Version {
					return nil
				}
			}
			m := new(adapter.Model)
			if err := m.UnmarshalBinary(v.Blob); err != nil {
				// A blob this build cannot read must not take guard down:
				// serve without an adapter (notes still work) and say why.
				if r.log != nil {
					r.log.Error("active adapter unreadable; serving without it", "tenant_id", tenantID, "version", v.Version, "err", err)
				}
				break
			}
			next = &Active{Version: v.Version, Model: m, EmbedderID: m.EmbedderID(), LoadedAt: time.Now(), BaseRate: baseRate(v.Metrics)}
		}
		s, _ := r.slots.LoadOrStore(tenantID, &slot{})
		prev := s.(*slot).p.Swap(next)
		if prevVersion(prev) != prevVersion(next) {
			r.swaps.Add(1)
			if r.log != nil {
				r.log.Info("adapter swapped", "tenant_id", tenantID, "from", prevVersion(prev), "to", prevVersion(next))
			}
		}
		return nil
	})
}

func prevVersion(a *Active) int {
	if a == nil {
		return 0
	}
	return a.Version
}

// Poll compares every loaded tenant's version with the database's active
// versions and reloads those that differ.
func (r *Registry) Poll(ctx context.Context) error {
	active, err := r.src.ActiveAdapterVersions(ctx)
	if err != nil {
		return err
	}
	var errs []error
	r.slots.Range(func(k, v any) bool {
		tenant := k.(string)
		if prevVersion(v.(*slot).p.Load()) != active[tenant] {
			if err := r.Refresh(ctx, tenant); err != nil {
				errs = append(errs, err)
			}
		}
		return true
	})
	return errors.Join(errs...)
}

// singleFlight runs one function per key at a time; callers arriving while
// it runs wait for it and share its error.
type singleFlight struct {
	mu sync.Mutex
	m  map[string]*call
}

type call struct {
	done chan struct{}
	err  error
}

func (g *singleFlight) do(key string, fn func() error) error {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*call{}
	}
	if c, ok := g.m[key]; ok {
		g.mu.Unlock()
		<-c.done
		return c.err
	}
	c := &call{done: make(chan struct{})}
	g.m[key] = c
	g.mu.Unlock()
	c.err = fn()
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(c.done)
	return c.err
}
