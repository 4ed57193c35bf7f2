// Package worker runs admem's background work: periodic jobs (housekeeping,
// scheduled retraining) and, as they are added, the consumers of the event
// stream. Run is shared by cmd/worker and the tests, which start the same
// worker in-process against their own database and Redis prefix.
package worker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/wiring"
	"github.com/prometheus/client_golang/prometheus"
)

// Worker owns the jobs of one worker process.
type Worker struct {
	cfg     config.Config
	infra   *wiring.Infra
	log     *slog.Logger
	metrics *metrics
	jobs    []Job
	loops   []Loop
	// consumers are the stream consumers this worker runs, of
	// events.Consumers (failure learning needs an embedder).
	consumers []events.ConsumerID
}

// Loop is work that runs until its context ends: the event relay and the
// stream consumer. It must finish what it started before returning.
type Loop struct {
	Name string
	Run  func(ctx context.Context)
}

// Job is work run every interval.
type Job struct {
	Name  string
	Every time.Duration
	// Timeout bounds one run (0: Every). A job whose runs may outlast a
	// short interval sets it, or a run that takes longer is cut off.
	Timeout time.Duration
	Run     func(ctx context.Context) error
}

// New returns a worker with the standard jobs.
func New(cfg config.Config, infra *wiring.Infra, log *slog.Logger, reg prometheus.Registerer) *Worker {
	w := &Worker{cfg: cfg, infra: infra, log: log, metrics: newMetrics(reg)}
	m := events.NewMetrics(reg)
	w.addEventPipeline(m)
	w.addAdapterTraining()
	w.addRelay(m)
	w.addEntryEmbedding()
	w.jobs = append(w.jobs,
		Job{Name: "purge-idempotency", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
			n, err := infra.DB.PurgeIdempotent(ctx, time.Now().Add(-24*time.Hour))
			if err == nil && n > 0 {
				log.Info("purged idempotency records", "count", n)
			}
			return err
		}},
	)
	return w
}

// Consumers lists the stream consumers this worker runs.
func (w *Worker) Consumers() []events.ConsumerID { return slices.Clone(w.consumers) }

// Run runs every job until ctx ends, then lets running jobs finish within the
// shutdown timeout: jobs stop fetching first and acknowledge only what they
// committed.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range w.loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.log.Info("loop started", "loop", l.Name)
			l.Run(ctx)
		}()
	}
	for _, j := range w.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, j)
		}()
	}
	<-ctx.Done()
	w.log.Info("shutting down: waiting for running jobs", "timeout", w.cfg.ShutdownTimeout.String())
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.ShutdownTimeout):
		w.log.Warn("jobs did not finish before the shutdown timeout")
	}
}

// loop runs the job now and then every interval. A run in progress finishes
// under its own context even after shutdown begins.
func (w *Worker) loop(ctx context.Context, j Job) {
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		start := time.Now()
		timeout := j.Timeout
		if timeout <= 0 {
			timeout = j.Every
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		err := j.Run(rctx)
		cancel()
		result := "ok"
		if err != nil {
			result = "error"
			w.log.Error("job failed", "job", j.Name, "err", err)
		}
		w.metrics.jobRuns.WithLabelValues(j.Name, result).Inc()
		w.metrics.jobSeconds.WithLabelValues(j.Name).Observe(time.Since(start).Seconds())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type metrics struct {
	jobRuns    *prometheus.CounterVec
	jobSeconds *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admem_worker_job_runs_total", Help: "Worker job runs by job and result.",
		}, []string{"job", "result"}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "admem_worker_job_duration_seconds", Help: "Worker job run time.",
		}, []string{"job"}),
	}
	reg.MustRegister(m.jobRuns, m.jobSeconds)
	return m
}
