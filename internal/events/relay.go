package events

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/admem/admem"
	"github.com/redis/go-redis/v9"
)

// OutboxStore is the outbox as the relay sees it.
type OutboxStore interface {
	// RelayOutbox relays up to limit events through publish, which
	// returns their stream entry ids; each then waits for the consumers
	// named in await to settle it.
	RelayOutbox(ctx context.Context, limit int, await []string, publish func([]admem.Event) ([]string, error)) (int, error)
}

// Relay moves outbox rows to the stream.
type Relay struct {
	db  OutboxStore
	rdb redis.UniversalClient
	cfg Config
	log *slog.Logger
	m   *Metrics
}

// NewRelay returns a relay; m may be nil.
func NewRelay(db OutboxStore, rdb redis.UniversalClient, cfg Config, log *slog.Logger, m *Metrics) *Relay {
	return &Relay{db: db, rdb: rdb, cfg: cfg, log: log, m: m}
}

// RelayOnce relays one batch and returns how many events it moved. The
// batch is appended in one pipeline; if any append fails the batch stays
// pending (some entries may already be on the stream: consumers dedupe).
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	n, err := r.db.RelayOutbox(ctx, r.cfg.Batch, r.cfg.Await, func(evs []admem.Event) ([]string, error) {
		return appendEvents(ctx, r.rdb, r.cfg, evs)
	})
	if r.m != nil {
		if err != nil {
			r.m.relayErrors.Inc()
		}
		r.m.relayed.Add(float64(n))
	}
	return n, err
}

// Run relays until ctx ends: at once while batches come back full, after
// Poll when the outbox is empty, with backoff up to 5 s while Postgres or
// Redis fail. A batch in flight when ctx ends is finished, not abandoned.
func (r *Relay) Run(ctx context.Context) {
	backoff := r.cfg.Poll
	for {
		n, err := r.RelayOnce(context.WithoutCancel(ctx))
		wait := r.cfg.Poll
		switch {
		case err != nil:
			r.log.Warn("relay failed; events stay in the outbox", "err", err, "retry_in", backoff.String())
			wait, backoff = backoff, min(backoff*2, 5*time.Second)
		case n == r.cfg.Batch:
			wait, backoff = 0, r.cfg.Poll
		default:
			backoff = r.cfg.Poll
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// appendEvents appends evs to the stream in one pipeline and returns their
// entry ids.
func appendEvents(ctx context.Context, rdb redis.UniversalClient, cfg Config, evs []admem.Event) ([]string, error) {
	pipe := rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(evs))
	for i, e := range evs {
		values, err := encode(e)
		if err != nil {
			return nil, fmt.Errorf("events: encode %s: %w", e.ID, err)
		}
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: cfg.Stream, MaxLen: cfg.MaxLen, Approx: cfg.MaxLen > 0, Values: values})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("events: append to stream: %w", err)
	}
	ids := make([]string, len(evs))
	for i, c := range cmds {
		ids[i] = c.Val()
	}
	return ids, nil
}
