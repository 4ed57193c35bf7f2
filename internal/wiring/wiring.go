// Package wiring opens what both binaries share: the process's signal
// handling, the validated config, the logger, the Postgres pool, the Redis
// client and the metrics registry; and it assembles the services over them.
package wiring

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/admem/admem/internal/breaker"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
)

// Main is a binary's main: it runs run under a context that ends on SIGINT
// or SIGTERM (shutdown begins), and exits 1 with run's error.
func Main(service string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, service+":", err)
		os.Exit(1)
	}
}

// Configure loads and validates the configuration (every problem at once)
// and makes the process's logger.
func Configure(getenv config.Getenv, stdout io.Writer, service string) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return config.Config{}, nil, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, NewLogger(stdout, cfg.LogLevel, service), nil
}

// Start logs the configuration (secrets masked), opens the infrastructure
// and makes a metrics registry with the Go runtime and process collectors.
// The caller closes the infrastructure after its work has stopped.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (*Infra, *prometheus.Registry, error) {
	log.Info("starting", "config", cfg)
	infra, err := Open(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return infra, reg, nil
}

// NewLogger returns the process's one JSON logger.
func NewLogger(w io.Writer, level slog.Level, service string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With("service", service)
}

// Infra is the shared infrastructure of a process.
type Infra struct {
	DB *store.DB
	// Redis is the client of background work (streams, pub/sub): patient
	// timeouts, retries.
	Redis *redis.Client
	// RequestRedis is the client of work a request waits for: short
	// timeouts, no retries, a circuit breaker (see newRequestRedis).
	RequestRedis *redis.Client
	// RedisBreaker is RequestRedis's breaker.
	RedisBreaker *breaker.Breaker
}

// Open connects to Postgres and Redis. Redis being down at start is not
// fatal: the client reconnects, and what needs Redis degrades until it does.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Infra, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("wiring: redis url: %w", err)
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.WriteTimeout = 2 * time.Second
	rdb := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		log.Warn("redis is not reachable yet; continuing", "err", err)
	}
	req, brk := newRequestRedis(*opt, cfg.RedisRequestTimeout, log)
	return &Infra{DB: db, Redis: rdb, RequestRedis: req, RedisBreaker: brk}, nil
}

// Close closes Redis, then the pool.
func (in *Infra) Close() {
	in.RedisBreaker.Stop()
	_ = in.RequestRedis.Close()
	_ = in.Redis.Close()
	in.DB.Close()
}

// Ready checks both services for /readyz. Redis is checked through the
// request client, so a hanging Redis answers within its short timeout, and
// at once while the breaker is open.
func (in *Infra) Ready(ctx context.Context) map[string]error {
	redisErr := in.RequestRedis.Ping(ctx).Err()
	if open, why := in.RedisBreaker.Open(); open {
		redisErr = fmt.Errorf("%w: %v", breaker.ErrOpen, why)
	}
	return map[string]error{
		"postgres": in.DB.Ping(ctx),
		"redis":    redisErr,
	}
}
