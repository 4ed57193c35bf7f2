// Package wiring opens what both binaries share: the logger, the Postgres
// pool and the Redis client, from a validated config.
package wiring

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/store"
	"github.com/redis/go-redis/v9"
)

// NewLogger returns the process's one JSON logger.
func NewLogger(w io.Writer, level slog.Level, service string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With("service", service)
}

// Infra is the shared infrastructure of a process.
type Infra struct {
	DB    *store.DB
	Redis *redis.Client
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
	return &Infra{DB: db, Redis: rdb}, nil
}

// Close closes Redis, then the pool.
func (in *Infra) Close() {
	_ = in.Redis.Close()
	in.DB.Close()
}

// Ready checks both services for /readyz.
func (in *Infra) Ready(ctx context.Context) map[string]error {
	return map[string]error{
		"postgres": in.DB.Ping(ctx),
		"redis":    in.Redis.Ping(ctx).Err(),
	}
}
