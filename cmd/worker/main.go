// Command worker runs admem's background work: it learns from the event
// stream and keeps the database tidy. It serves /healthz, /readyz and
// /metrics on ADMEM_WORKER_ADDR.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/wiring"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := wiring.NewLogger(stdout, cfg.LogLevel, "worker")
	log.Info("starting", "config", cfg)
	infra, err := wiring.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer infra.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		cctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		out := map[string]string{}
		status := http.StatusOK
		for name, err := range infra.Ready(cctx) {
			out[name] = "ok"
			if err != nil {
				out[name], status = "unavailable: "+err.Error(), http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"checks": out})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Addr: cfg.WorkerAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	ln, err := net.Listen("tcp", cfg.WorkerAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.WorkerAddr, err)
	}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("listening", "addr", ln.Addr().String())

	// Jobs stop fetching when ctx ends and finish what they hold.
	var wg sync.WaitGroup
	jobs := []job{
		{name: "purge-idempotency", every: 10 * time.Minute, run: func(ctx context.Context) error {
			n, err := infra.DB.PurgeIdempotent(ctx, time.Now().Add(-24*time.Hour))
			if err == nil && n > 0 {
				log.Info("purged idempotency records", "count", n)
			}
			return err
		}},
	}
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.loop(ctx, log, m)
		}()
	}
	<-ctx.Done()
	log.Info("shutting down: waiting for running jobs", "timeout", cfg.ShutdownTimeout.String())
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.ShutdownTimeout):
		log.Warn("jobs did not finish before the shutdown timeout")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	log.Info("stopped")
	return nil
}

type job struct {
	name  string
	every time.Duration
	run   func(ctx context.Context) error
}

// loop runs the job now and then every interval. A run in progress finishes
// under its own context even after shutdown begins.
func (j job) loop(ctx context.Context, log *slog.Logger, m *metrics) {
	t := time.NewTicker(j.every)
	defer t.Stop()
	for {
		start := time.Now()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.every)
		err := j.run(rctx)
		cancel()
		m.jobRuns.WithLabelValues(j.name, result(err)).Inc()
		m.jobSeconds.WithLabelValues(j.name).Observe(time.Since(start).Seconds())
		if err != nil {
			log.Error("job failed", "job", j.name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
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
