package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/trajectories"
	"github.com/admem/admem/internal/wiring"
)

// addAdapterTraining adds the adapter training job. It needs the
// embedder; without one the worker logs why and runs without it.
func (w *Worker) addAdapterTraining() {
	emb, err := wiring.LoadEmbedder(w.cfg)
	if err != nil {
		w.log.Warn("no embedder: adapter training is off", "err", err)
		return
	}
	trainer := adapters.NewTrainer(w.infra.DB, emb.ID(), adapters.NewNotifier(w.infra.Redis, w.cfg.RedisPrefix),
		adapters.TrainOptions{MinNew: w.cfg.AdapterMinNew, MaxAge: w.cfg.AdapterMaxAge}, w.log)
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

// FailureObserver returns the learner's observer of failures: on
// trajectory.recorded and step.failed it records the trajectory's labelled
// steps and clusters its failures. Recording is idempotent per step, so a
// redelivered event changes nothing.
func FailureObserver(db TrajectoryGetter, svc *failures.Service) trajectories.Observer {
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
		// A closed trajectory's trajectory.recorded event observes all its
		// failed steps: each of its step.failed events would redo that.
		if ev.Type == admem.EventStepFailed && !t.Open {
			return nil
		}
		// A purged trajectory's examples went with the purge.
		if t.Purged {
			return nil
		}
		if _, err := svc.ObserveTrajectory(ctx, ev.TenantID, t.Trajectory); err != nil {
			return fmt.Errorf("worker: failure learning for event %s: %w", ev.ID, err)
		}
		return nil
	}
}
