package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/wiring"
)

// addFailureLearning adds the failure-cluster consumer and the adapter
// training job. Both need the embedder; without one the worker logs why and
// runs without them.
func (w *Worker) addFailureLearning() {
	emb, err := wiring.LoadEmbedder(w.cfg)
	if err != nil {
		w.log.Warn("no embedder: failure clusters and adapter training are off", "err", err)
		return
	}
	db, rdb := w.infra.DB, w.infra.Redis
	svc := failures.New(db, emb, failures.Options{})
	// Failure learning reads the same event stream as the learner in a
	// group of its own, at its own pace, so clustering or training trouble
	// never holds back mistake notes.
	cfg := w.consumerConfig(events.Failures)
	cfg.DeadStream = w.cfg.RedisPrefix + "events:dead:" + cfg.Group
	consumer := events.NewConsumer(rdb, cfg, FailureHandler(db, svc), db, w.log, nil)
	w.consumers = append(w.consumers, events.Failures)
	trainer := adapters.NewTrainer(db, emb.ID(), adapters.NewNotifier(rdb, w.cfg.RedisPrefix), adapters.TrainOptions{MinNew: w.cfg.AdapterMinNew, MaxAge: w.cfg.AdapterMaxAge}, w.log)
	w.loops = append(w.loops, Loop{Name: "failure-consumer", Run: func(ctx context.Context) {
		if err := events.EnsureGroup(ctx, rdb, cfg); err != nil {
			w.log.Warn("event stream not ready; the failure consumer retries", "err", err)
		}
		consumer.Run(ctx)
	}})
	every := w.cfg.AdapterTrainEvery
	if every <= 0 { // a Config not made by config.Load
		every = config.DefaultAdapterTrainEvery
	}
	// A training takes seconds (more under load): a short interval, as the
	// closed-loop benchmark sets, must not cut it off before it is saved.
	w.jobs = append(w.jobs, Job{Name: "adapter-train", Every: every, Timeout: max(every, 2*time.Minute), Run: trainer.RunDue})
}

// TrajectoryGetter loads a trajectory with its steps.
type TrajectoryGetter interface {
	GetTrajectory(ctx context.Context, tenantID, id string) (admem.TrajectorySummary, error)
}

// FailureHandler returns the event handler of failure learning: on
// trajectory.recorded and step.failed it records the trajectory's labelled
// steps and clusters its failures. Recording is idempotent per step, so a
// redelivered event changes nothing.
func FailureHandler(db TrajectoryGetter, svc *failures.Service) events.Handler {
	return func(ctx context.Context, ev admem.Event) error {
		if ev.Type != admem.EventTrajectoryRecorded && ev.Type != admem.EventStepFailed {
			return nil
		}
		t, err := db.GetTrajectory(ctx, ev.TenantID, ev.SubjectID)
		if errors.Is(err, admem.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := svc.ObserveTrajectory(ctx, ev.TenantID, t.Trajectory); err != nil {
			return fmt.Errorf("worker: failure learning for event %s: %w", ev.ID, err)
		}
		return nil
	}
}
