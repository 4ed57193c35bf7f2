package wiring

import (
	"context"
	"log/slog"
	"time"

	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/guard"
	"github.com/admem/admem/internal/readcache"
	"github.com/redis/go-redis/v9"
)

// Learning is the failure-learning side of a process: failure clusters,
// the adapter registry of this replica, adapter admin and guard.
type Learning struct {
	Embedder embed.Embedder // nil when none could be loaded
	Failures *failures.Service
	Registry *adapters.Registry
	Notifier *adapters.Notifier
	Adapters *adapters.Service
	Guard    *guard.Service
}

// NewLearning assembles the learning services over infra. They embed with
// the process's one embedder of cfg (LoadEmbedder: the provider and all its
// ADMEM_EMBED_* settings), the same instance factual memory and recall use,
// so failure contexts, guard requests and adapters share one vector space.
// Without an embedder, failures cannot be recorded and guard answers from
// clusters by action alone; it logs why.
func NewLearning(cfg config.Config, infra *Infra, log *slog.Logger) *Learning {
	emb, err := LoadEmbedder(cfg)
	if err != nil {
		log.Warn("no embedder: guard runs on mistake notes without context, failures are not recorded", "embedder", cfg.Embedder, "err", err)
		emb = nil
	}
	l := &Learning{Embedder: emb}
	var femb failures.Embedder
	if emb != nil {
		femb = emb
	}
	l.Failures = failures.New(infra.DB, femb, failures.Options{})
	l.Registry = adapters.NewRegistry(infra.DB, log)
	// Activations are announced while an admin's request waits: through the
	// request client, behind its breaker (a lost notice is caught by the
	// replicas' polling).
	l.Notifier = adapters.NewNotifier(infra.RequestRedis, cfg.RedisPrefix)
	l.Adapters = adapters.NewService(infra.DB, l.Registry, l.Notifier)
	// Guard reads the tenant's knowledge from a copy checked against the
	// tenant's guard stamp (one row) per request.
	l.Guard = guard.New(readcache.NewGuard(infra.DB), guardModels{reg: l.Registry, emb: femb})
	return l
}

// FollowAdapters keeps the registry current (pub/sub plus polling) until
// ctx ends; the API runs it for its lifetime (see API.Close).
func (l *Learning) FollowAdapters(ctx context.Context, rdb *redis.Client, prefix string, interval time.Duration, log *slog.Logger) {
	l.Registry.Follow(ctx, rdb, prefix, interval, log)
}
