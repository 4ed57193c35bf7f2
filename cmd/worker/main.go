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
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/admem/admem/internal/probe"
	"github.com/admem/admem/internal/wiring"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	wiring.Main("worker", func(ctx context.Context) error {
		if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
			return healthcheck(ctx, os.Getenv)
		}
		return run(ctx, os.Getenv, os.Stdout)
	})
}

// healthcheck is the container's health check: it asks the worker's own
// /readyz on ADMEM_WORKER_ADDR, and needs no other configuration.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	addr := getenv("ADMEM_WORKER_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8081"
	}
	return probe.Ready(ctx, addr)
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, log, err := wiring.Configure(getenv, stdout, "worker")
	if err != nil {
		return err
	}
	infra, reg, err := wiring.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer infra.Close()

	w := worker.New(cfg, infra, log, reg)
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
	// Profiles of the learning pass, on the loopback address of a
	// benchmark or a developer's stack only when asked for.
	if getenv("ADMEM_WORKER_PPROF") == "1" {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	}
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

	w.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	log.Info("stopped")
	return nil
}
