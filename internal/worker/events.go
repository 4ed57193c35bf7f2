package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/trajectories"
	"github.com/admem/admem/internal/wiring"
)

// addEventPipeline adds the learner's stream consumer, the queue-depth
// gauges and the outbox purge. Every worker replica runs all of them:
// consumers share the stream (one consumer group), and each event's effect
// commits once.
func (w *Worker) addEventPipeline(m *events.Metrics) {
	cfg := w.consumerConfig(events.Learner)
	db, rdb := w.infra.DB, w.infra.Redis
	consumer := events.NewBatchConsumer(rdb, cfg, LearnerBatchHandler(w.cfg, w.infra, w.log), db, w.log, m)
	w.consumers = append(w.consumers, events.Learner)
	w.loops = append(w.loops,
		Loop{Name: "learner-consumer", Run: func(ctx context.Context) {
			if err := events.EnsureGroup(ctx, rdb, cfg); err != nil {
				w.log.Warn("event stream not ready; the consumer retries", "err", err)
			}
			consumer.Run(ctx)
		}},
	)
	w.jobs = append(w.jobs,
		Job{Name: "event-queue-depth", Every: 5 * time.Second, Run: func(ctx context.Context) error {
			_, err := events.Measure(ctx, db, rdb, cfg, m)
			return err
		}},
		Job{Name: "purge-outbox", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
			n, err := db.PurgeOutbox(ctx, time.Now().Add(-7*24*time.Hour))
			if err == nil && n > 0 {
				w.log.Info("purged relayed outbox events", "count", n)
			}
			if err != nil {
				return err
			}
			// Far beyond any redelivery: ClaimIdle × MaxAttempts is minutes.
			n, err = db.PurgeProcessedEvents(ctx, time.Now().Add(-7*24*time.Hour))
			if err == nil && n > 0 {
				w.log.Info("purged processed-event records", "count", n)
			}
			return err
		}},
	)
}

// LearnerHandler returns the handler of the worker's one learning pass
// over the event stream: failure clusters (when an embedder is configured),
// the mistake model, procedures, and publishing learned items as memory
// entries. Tests apply events with the same handler.
func LearnerHandler(cfg config.Config, infra *wiring.Infra, log *slog.Logger) events.Handler {
	mem, _, observers := learnerParts(cfg, infra, log)
	return trajectories.NewLearner().Handler(events.Learner.Ledger, infra.DB, infra.DB, mem, observers...)
}

// LearnerBatchHandler is LearnerHandler for the events the consumer reads
// together: each tenant's learn in one transaction (see
// trajectories.Learner.BatchHandler). The worker runs this one.
func LearnerBatchHandler(cfg config.Config, infra *wiring.Infra, log *slog.Logger) events.BatchHandler {
	mem, many, observers := learnerParts(cfg, infra, log)
	return trajectories.NewLearner().BatchHandler(events.Learner.Ledger, infra.DB, infra.DB, mem, many, observers...)
}

func learnerParts(cfg config.Config, infra *wiring.Infra, log *slog.Logger) (trajectories.Entries, trajectories.ManyObserver, []trajectories.Observer) {
	mem := wiring.NewMemory(cfg, infra, log)
	emb, err := wiring.LoadEmbedder(cfg)
	if err != nil {
		log.Warn("no embedder: failure clusters are off", "err", err)
		return mem, nil, nil
	}
	svc := failures.New(infra.DB, emb, failures.Options{})
	many := func(ctx context.Context, tenantID string, ts []admem.Trajectory) error {
		if _, err := svc.ObserveTrajectories(ctx, tenantID, ts); err != nil {
			return fmt.Errorf("worker: failure learning for %d trajectories: %w", len(ts), err)
		}
		return nil
	}
	return mem, many, []trajectories.Observer{FailureObserver(infra.DB, svc)}
}

// addRelay adds the outbox relay. It comes after the consumers: each event
// it relays waits for every consumer this worker runs (the learning status
// counts it pending until each has settled it). Relays of every replica
// share the outbox (SKIP LOCKED).
func (w *Worker) addRelay(m *events.Metrics) {
	cfg := events.DefaultConfig(w.cfg.RedisPrefix, consumerName())
	for _, c := range w.consumers {
		cfg.Await = append(cfg.Await, c.Ledger)
	}
	relay := events.NewRelay(w.infra.DB, w.infra.Redis, cfg, w.log, m)
	w.loops = append(w.loops, Loop{Name: "outbox-relay", Run: relay.Run})
	// A Redis that lost the stream (restarted empty, flushed, failed over
	// to an empty replica) took relayed events nobody had learnt yet with
	// it, and a Postgres restored from a backup brings back events the
	// stream acknowledged long ago: put them back. While all is well, one
	// GET-sized call and one index-only query a tick.
	recovery := events.NewStreamRecovery(w.infra.DB, w.infra.Redis, cfg, w.log, m)
	w.jobs = append(w.jobs, Job{Name: "stream-recovery", Every: 2 * time.Second, Timeout: time.Minute, Run: func(ctx context.Context) error {
		_, err := recovery.Recover(ctx)
		return err
	}})
}

// consumerConfig is the stream configuration of one of events.Consumers
// in this process.
func (w *Worker) consumerConfig(id events.ConsumerID) events.Config {
	cfg := events.DefaultConfig(w.cfg.RedisPrefix, consumerName())
	cfg.Group, cfg.Ledger = id.Group, id.Ledger
	if w.cfg.EventClaimIdle > 0 { // zero in a Config not made by config.Load
		cfg.ClaimIdle = w.cfg.EventClaimIdle
	}
	return cfg
}

// consumerName is unique per process: a restarted worker is a new consumer,
// and what the old one left pending is reclaimed after ClaimIdle.
func consumerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
