package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/admem/admem"
	"github.com/redis/go-redis/v9"
)

// RecoveryStore is what StreamRecovery reads: every tenant, and each
// tenant's events relayed and not yet settled by some consumer.
type RecoveryStore interface {
	TenantIDs(ctx context.Context) ([]string, error)
	UnsettledRelayed(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]admem.Event, error)
}

// StreamRecovery puts back on the stream what a Redis that lost its data
// (restarted without persistence, flushed, failed over to an empty
// replica) took with it: events the relay had marked relayed whose effects
// no consumer committed yet. Without it those events would wait forever:
// the relay never sends a relayed event again, and the learning status
// would count them pending for good.
//
// It notices the loss by a marker key it writes next to the stream: a
// Redis without the marker has lost (or never had) the stream. The worker
// that sets the marker again appends every relayed, unsettled event anew.
// Events the stream still held are then delivered twice, which consumers
// absorb (each effect commits once, with its processed-event record).
type StreamRecovery struct {
	db  RecoveryStore
	rdb redis.UniversalClient
	cfg Config
	log *slog.Logger
	m   *Metrics
}

// NewStreamRecovery returns the recovery of cfg's stream; m may be nil.
func NewStreamRecovery(db RecoveryStore, rdb redis.UniversalClient, cfg Config, log *slog.Logger, m *Metrics) *StreamRecovery {
	return &StreamRecovery{db: db, rdb: rdb, cfg: cfg, log: log, m: m}
}

// MarkerKey is the key whose absence says Redis lost the stream.
func (s *StreamRecovery) MarkerKey() string { return s.cfg.Stream + ":epoch" }

// Check sets the marker if Redis lacks it and, if this call set it,
// appends every relayed, unsettled event to the stream again. It returns
// how many it appended. If it fails part way, the marker is removed so
// that the next check starts over.
func (s *StreamRecovery) Check(ctx context.Context) (int, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	epoch := hex.EncodeToString(b)
	set, err := s.rdb.SetNX(ctx, s.MarkerKey(), epoch, 0).Result()
	if err != nil {
		return 0, fmt.Errorf("events: stream marker: %w", err)
	}
	if !set {
		return 0, nil
	}
	n, err := s.rerelay(ctx)
	if err != nil {
		// Only this epoch's marker: another worker's is left alone.
		s.rdb.Eval(context.WithoutCancel(ctx), `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
			[]string{s.MarkerKey()}, epoch)
		return n, err
	}
	if n > 0 {
		s.log.Warn("the event stream had lost its data: relayed events not yet learnt were appended again", "events", n)
	}
	return n, nil
}

func (s *StreamRecovery) rerelay(ctx context.Context) (int, error) {
	tenants, err := s.db.TenantIDs(ctx)
	if err != nil {
		return 0, err
	}
	batch := max(s.cfg.Batch, 1)
	total := 0
	for _, tenant := range tenants {
		var after int64
		for {
			evs, err := s.db.UnsettledRelayed(ctx, tenant, after, batch)
			if err != nil {
				return total, err
			}
			if len(evs) == 0 {
				break
			}
			pipe := s.rdb.Pipeline()
			for _, e := range evs {
				values, err := encode(e)
				if err != nil {
					return total, fmt.Errorf("events: encode %s: %w", e.ID, err)
				}
				pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.cfg.Stream, MaxLen: s.cfg.MaxLen, Approx: s.cfg.MaxLen > 0, Values: values})
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return total, fmt.Errorf("events: append to stream again: %w", err)
			}
			total += len(evs)
			if s.m != nil {
				s.m.rerelayed.Add(float64(len(evs)))
			}
			after = evs[len(evs)-1].Seq
			if len(evs) < batch {
				break
			}
		}
	}
	return total, nil
}
