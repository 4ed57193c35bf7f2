package wiring

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/guard"
	"github.com/admem/admem/internal/learner"
	"github.com/admem/admem/internal/store"
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
	l.Notifier = adapters.NewNotifier(infra.Redis, cfg.RedisPrefix)
	l.Adapters = adapters.NewService(infra.DB, l.Registry, l.Notifier)
	l.Guard = guard.New(infra.DB, l.Registry, femb, nil, &learnedNotes{db: infra.DB})
	return l
}

// FollowAdapters keeps the registry current (pub/sub plus polling) until
// ctx ends; the API runs it for its lifetime (see API.Close).
func (l *Learning) FollowAdapters(ctx context.Context, rdb *redis.Client, prefix string, interval time.Duration, log *slog.Logger) {
	l.Registry.Follow(ctx, rdb, prefix, interval, log)
}

// learnedNotes serves guard the mistake notes the trajectory learner writes
// at append time, cached per tenant for a second: guard answers in
// milliseconds, and a note a second old still beats waiting for the worker.
type learnedNotes struct {
	db    *store.DB
	mu    sync.Mutex
	cache map[string]cachedNotes
}

type cachedNotes struct {
	at    time.Time
	notes []guard.Note
}

const notesTTL = time.Second

func (l *learnedNotes) MistakeNotes(ctx context.Context, tenantID string, tools []string) ([]guard.Note, error) {
	l.mu.Lock()
	c, ok := l.cache[tenantID]
	l.mu.Unlock()
	if !ok || time.Since(c.at) > notesTTL {
		items, err := l.db.ActiveItems(ctx, tenantID, admem.KindMistake, 500)
		if err != nil {
			return nil, err
		}
		c = cachedNotes{at: time.Now()}
		for _, it := range items {
			var n learner.MistakeNote
			if json.Unmarshal(it.State, &n) != nil || n.Signature.Tool == "" {
				continue
			}
			gn := guard.Note{ID: it.ID, SignatureID: n.Signature.ID(), Signature: n.Signature.String(), Tool: n.Signature.Tool,
				Doing: n.DoingPattern, Text: it.Content, Count: max(n.Count, it.Count)}
			if len(n.Corrections) > 0 {
				gn.Correction = n.Corrections[0].Text
				if !n.Corrections[0].Do.IsZero() {
					gn.Do = n.Corrections[0].Do.Text()
				}
			}
			c.notes = append(c.notes, gn)
		}
		l.mu.Lock()
		if l.cache == nil {
			l.cache = map[string]cachedNotes{}
		}
		l.cache[tenantID] = c
		l.mu.Unlock()
	}
	var out []guard.Note
	for _, n := range c.notes {
		if slices.Contains(tools, n.Tool) {
			out = append(out, n)
		}
	}
	return out, nil
}
