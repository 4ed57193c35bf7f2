package wiring

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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
	"github.com/admem/admem/internal/trajectories"
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
	l.Guard = guard.New(infra.DB, l.Registry, femb, newLearnedProcedures(infra.DB), newLearnedNotes(infra.DB))
	return l
}

// FollowAdapters keeps the registry current (pub/sub plus polling) until
// ctx ends; the API runs it for its lifetime (see API.Close).
func (l *Learning) FollowAdapters(ctx context.Context, rdb *redis.Client, prefix string, interval time.Duration, log *slog.Logger) {
	l.Registry.Follow(ctx, rdb, prefix, interval, log)
}

// learnedCache keeps each tenant's decoded learned items of one kind for a
// second: guard answers in milliseconds, and an item a second old still
// beats waiting for the worker.
type learnedCache[T any] struct {
	db     *store.DB
	kind   admem.EntryKind
	decode func(store.LearnedItem) (T, bool)
	mu     sync.Mutex
	cache  map[string]cachedItems[T]
}

type cachedItems[T any] struct {
	at    time.Time
	items []T
}

const learnedTTL = time.Second

// maxGuardItems bounds how many active items of a kind guard considers.
const maxGuardItems = 500

func (l *learnedCache[T]) get(ctx context.Context, tenantID string) ([]T, error) {
	l.mu.Lock()
	c, ok := l.cache[tenantID]
	l.mu.Unlock()
	if ok && time.Since(c.at) <= learnedTTL {
		return c.items, nil
	}
	items, err := l.db.ActiveItems(ctx, tenantID, l.kind, maxGuardItems)
	if err != nil {
		return nil, err
	}
	c = cachedItems[T]{at: time.Now()}
	for _, it := range items {
		if x, ok := l.decode(it); ok {
			c.items = append(c.items, x)
		}
	}
	l.mu.Lock()
	if l.cache == nil {
		l.cache = map[string]cachedItems[T]{}
	}
	l.cache[tenantID] = c
	l.mu.Unlock()
	return c.items, nil
}

// learnedNotes serves guard the mistake notes the trajectory learner writes
// at append time.
type learnedNotes struct{ items learnedCache[guard.Note] }

func newLearnedNotes(db *store.DB) *learnedNotes {
	return &learnedNotes{items: learnedCache[guard.Note]{db: db, kind: admem.KindMistake, decode: decodeNote}}
}

func decodeNote(it store.LearnedItem) (guard.Note, bool) {
	var n learner.MistakeNote
	if json.Unmarshal(it.State, &n) != nil || n.Signature.Tool == "" {
		return guard.Note{}, false
	}
	gn := guard.Note{ID: it.ID, SignatureID: n.Signature.ID(), Signature: n.Signature.String(), Tool: n.Signature.Tool,
		Doing: n.DoingPattern, Text: it.Content, Count: max(n.Count, it.Count),
		RepeatedCall: n.RepeatedCall, RepeatOnly: n.RepeatOnly(), Replaced: n.Replaced(), Gone: n.ToolGone(), Args: n.ArgRules(), Created: it.CreatedAt}
	gn.Need, _ = n.MissingStep()
	if len(n.Corrections) > 0 {
		gn.Correction = n.Corrections[0].Text
		if !n.Corrections[0].Do.IsZero() {
			gn.Do = n.Corrections[0].Do.Text()
			gn.Fix = n.Corrections[0].Do
		}
	}
	return gn, true
}

func (l *learnedNotes) MistakeNotes(ctx context.Context, tenantID string, tools []string) ([]guard.Note, error) {
	notes, err := l.items.get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out []guard.Note
	for _, n := range notes {
		if slices.Contains(tools, n.Tool) {
			out = append(out, n)
		}
	}
	return out, nil
}

// learnedProcedures serves guard's suggestions from procedures: when a
// candidate is flagged, the most reliable procedure of a similar task that
// calls the same tool differently (and did not fail at that step) says how.
type learnedProcedures struct {
	items learnedCache[trajectories.ProcedureState]
}

func newLearnedProcedures(db *store.DB) *learnedProcedures {
	return &learnedProcedures{items: learnedCache[trajectories.ProcedureState]{db: db, kind: admem.KindProcedure,
		decode: func(it store.LearnedItem) (trajectories.ProcedureState, bool) {
			var ps trajectories.ProcedureState
			return ps, json.Unmarshal(it.State, &ps) == nil && len(ps.Procedure.Script) > 0
		}}}
}

func (l *learnedProcedures) SuggestAlternative(ctx context.Context, tenantID, task, tool, flagged string) (string, string, bool, error) {
	procs, err := l.items.get(ctx, tenantID)
	if err != nil {
		return "", "", false, err
	}
	action, text, ok := suggestFromProcedures(procs, task, tool, flagged)
	return action, text, ok, nil
}

// suggestFromProcedures picks, among procedures of tasks at least
// learner.DefaultMinSimilarity alike (token Jaccard with any task merged
// into the procedure), the one scoring highest on similarity × reliability
// with a step of tool whose call differs from flagged and where no agent
// following it failed; it returns that step's call and why.
func suggestFromProcedures(procs []trajectories.ProcedureState, task, tool, flagged string) (string, string, bool) {
	bestScore := 0.0
	var action, text string
	for _, ps := range procs {
		p := ps.Procedure
		sim := learner.TokenJaccard(task, p.Task)
		for _, t := range p.Tasks {
			sim = max(sim, learner.TokenJaccard(task, t))
		}
		if sim < learner.DefaultMinSimilarity {
			continue
		}
		score := sim * p.Reliability()
		if score <= bestScore {
			continue
		}
		for i, st := range p.Script {
			call := st.Text()
			if st.Tool != tool || call == flagged || failedAt(ps.Pitfalls, i+1, tool) {
				continue
			}
			bestScore, action = score, call
			text = fmt.Sprintf("a procedure for a similar task (%d successes, %d failures) calls %s as step %d: %s",
				p.Successes(), p.Failures(), tool, i+1, call)
			if len(p.Params) > 0 {
				text += " (fill in " + strings.Join(p.Params, ", ") + ")"
			}
			break
		}
	}
	return action, text, action != ""
}

func failedAt(pitfalls []trajectories.Pitfall, step int, tool string) bool {
	for _, pf := range pitfalls {
		if pf.Step == step && pf.Tool == tool {
			return true
		}
	}
	return false
}
