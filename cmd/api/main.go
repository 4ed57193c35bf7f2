// Command api serves admem's HTTP API.
//
//	api [serve]     run the API (default)
//	api migrate     apply the database migrations and exit
//	api bootstrap   create the platform tenant and admin key if missing, print the key
//
// Configuration comes from ADMEM_* environment variables (see docs/configuration.md).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/admem/admem/internal/config"
	apihttp "github.com/admem/admem/internal/http"
	"github.com/admem/admem/internal/probe"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/tenancy"
	"github.com/admem/admem/internal/wiring"
)

func main() {
	wiring.Main("api", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil) })
}

// run is main without the process: tests call it. When ready is not nil it
// receives the listening address once the server accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready chan<- string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if cmd == "healthcheck" {
		// The container's health check: no configuration beyond the address.
		addr := getenv("ADMEM_HTTP_ADDR")
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		return probe.Ready(ctx, addr)
	}
	cfg, log, err := wiring.Configure(getenv, stdout, "api")
	if err != nil {
		return err
	}

	switch cmd {
	case "migrate":
		v, err := store.Migrate(cfg.MigrateDatabaseURL)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "version", v)
		return nil
	case "serve", "bootstrap":
	default:
		return fmt.Errorf("unknown command %q (serve, migrate, bootstrap, healthcheck)", cmd)
	}

	infra, reg, err := wiring.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer infra.Close()

	api := wiring.NewAPI(cfg, infra, log, reg)
	defer api.Close() // after the server drained (deferred calls run last first), before infra closes
	if err := bootstrap(ctx, api.Tenancy, cfg.BootstrapKeyFile, stdout, log); err != nil {
		return err
	}
	if cmd == "bootstrap" {
		return nil
	}
	return serve(ctx, cfg, api.Server, log, ready)
}

// bootstrap creates the platform admin key on first start and prints it once.
// With keyFile set (automation: benchmarks, provisioning) it is written there,
// mode 0600, instead.
func bootstrap(ctx context.Context, ten *tenancy.Service, keyFile string, stdout io.Writer, log *slog.Logger) error {
	key, created, err := ten.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if created && keyFile != "" {
		if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
			return fmt.Errorf("bootstrap: write %s: %w", keyFile, err)
		}
		log.Info("bootstrapped the platform tenant; its admin key is in the bootstrap key file", "file", keyFile)
		return nil
	}
	if created {
		log.Info("bootstrapped the platform tenant and its admin key (printed once below; only its hash is stored)")
		fmt.Fprintf(stdout, "\n  ADMEM PLATFORM ADMIN KEY (shown once, store it now):\n\n    %s\n\n", key)
	}
	return nil
}

func serve(ctx context.Context, cfg config.Config, h *apihttp.Server, log *slog.Logger, ready chan<- string) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if cfg.TLS() {
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	if !cfg.TLS() {
		ln = h.Listener(ln) // net/http's own 400s as problem+json
	}
	if cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, h.MetricsHandler(), log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", cfg.TLS())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS() {
			errc <- hs.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile) // HTTP/2 is negotiated by ALPN
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// serveMetrics serves /metrics and /debug/pprof/ without credentials on a
// listener of its own (ADMEM_METRICS_ADDR, meant for a private address); it
// returns a function that stops it.
func serveMetrics(addr string, metrics http.Handler, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s (ADMEM_METRICS_ADDR): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	// Profiles on the same private listener (benchmarks read the API's CPU
	// profile under load here); never on the public port.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	ms := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("metrics listening", "addr", ln.Addr().String())
	go func() {
		if err := ms.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ms.Shutdown(ctx)
	}, nil
}
