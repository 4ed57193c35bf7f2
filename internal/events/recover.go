package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/redis/go-redis/v9"
)

// RecoveryStore is what StreamRecovery reads and writes: every tenant's
// relayed events some consumer has not settled, with the stream entries
// they were appended as.
type RecoveryStore interface {
	UnsettledSince(ctx context.Context, age time.Duration, afterSeq int64, limit int) ([]admem.UnsettledEvent, error)
	StillUnsettled(ctx context.Context, seqs []int64) (map[int64]bool, error)
	Restreamed(ctx context.Context, seqs []int64, streamIDs []string) error
}

// StreamRecovery puts back on the stream relayed events whose entries no
// consumer will deliver any more although some consumer has not settled
// them. Without it those events would wait forever: the relay never sends
// a relayed event again, and the learning status would count them pending
// for good. Two ways they get lost:
//
//   - Redis lost its data (restarted without persistence, flushed, failed
//     over to an empty replica, restored from an older snapshot): the entry
//     is gone. That includes an entry appended by a relay whose
//     transaction had not committed yet when the loss was noticed, which
//     no scan of committed rows can see at that moment.
//   - Postgres was restored from a backup: events that were relayed but not
//     yet learnt when the backup was taken come back unsettled, while the
//     stream delivered and acknowledged their entries long ago.
//
// Check notices the first case fast, by a marker key written next to the
// stream: a Redis without it has lost (or never had) the stream, and the
// worker that sets it again appends every relayed, unsettled event anew.
// Sweep catches both, event by event: an unsettled event relayed at least
// LostAfter ago whose entry is gone, or was delivered to a consumer group
// that is waiting for it and is no longer pending there, is appended
// again. Events the stream still held are then delivered twice, which
// consumers absorb (each effect commits once, with its processed-event
// record).
type StreamRecovery struct {
	db     RecoveryStore
	rdb    redis.UniversalClient
	cfg    Config
	log    *slog.Logger
	m      *Metrics
	cursor int64 // where the next Sweep starts (one caller at a time)
}

// NewStreamRecovery returns the recovery of cfg's stream; m may be nil.
func NewStreamRecovery(db RecoveryStore, rdb redis.UniversalClient, cfg Config, log *slog.Logger, m *Metrics) *StreamRecovery {
	return &StreamRecovery{db: db, rdb: rdb, cfg: cfg, log: log, m: m}
}

// MarkerKey is the key whose absence says Redis lost the stream.
func (s *StreamRecovery) MarkerKey() string { return s.cfg.Stream + ":epoch" }

// Recover runs Check, then Sweep: what the worker's stream-recovery job
// does on every tick. It returns how many events it appended again.
func (s *StreamRecovery) Recover(ctx context.Context) (int, error) {
	n, err := s.Check(ctx)
	if err != nil {
		return n, err
	}
	m, err := s.Sweep(ctx)
	return n + m, err
}

// Check sets the marker if Redis lacks it and, if this call set it,
// appends every relayed, unsettled event to the stream again. It returns
// how many it appended. If it fails part way, the marker is removed so
// that the next check starts over (and should this worker die first, Sweep
// finds what it did not append).
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
	n, err := s.rerelayAll(ctx)
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

func (s *StreamRecovery) rerelayAll(ctx context.Context) (int, error) {
	batch := max(s.cfg.Batch, 1)
	total := 0
	var after int64
	for {
		evs, err := s.db.UnsettledSince(ctx, 0, after, batch)
		if err != nil {
			return total, err
		}
		if len(evs) == 0 {
			return total, nil
		}
		if err := s.reappend(ctx, evs); err != nil {
			return total, err
		}
		total += len(evs)
		after = evs[len(evs)-1].Event.Seq
		if len(evs) < batch {
			return total, nil
		}
	}
}

// reappend appends evs to the stream again and records their new entries.
func (s *StreamRecovery) reappend(ctx context.Context, evs []admem.UnsettledEvent) error {
	plain := make([]admem.Event, len(evs))
	seqs := make([]int64, len(evs))
	for i, e := range evs {
		plain[i], seqs[i] = e.Event, e.Event.Seq
	}
	ids, err := appendEvents(ctx, s.rdb, s.cfg, plain)
	if err != nil {
		return fmt.Errorf("events: append to stream again: %w", err)
	}
	if s.m != nil {
		s.m.rerelayed.Add(float64(len(evs)))
	}
	// Were this to fail, the next sweep would find the old entries lost
	// and append the events once more: a duplicate, absorbed.
	return s.db.Restreamed(ctx, seqs, ids)
}

// Sweep examines a page of the relayed events some consumer has not
// settled, relayed at least LostAfter ago (the next call takes the next
// page, then starts over), and appends again those the stream will not
// deliver to that consumer: the entry is gone, or its group already
// delivered it and holds it pending no longer. It returns how many it
// appended.
//
// The group's delivery position is read before the entries, and the
// events are read again from Postgres after both: an entry only moves
// forward (undelivered, pending, acknowledged) and a consumer settles an
// event before it acknowledges the entry, so an event delivered and
// finished while the sweep looked is seen settled, not lost.
func (s *StreamRecovery) Sweep(ctx context.Context) (int, error) {
	batch := max(s.cfg.Batch, 1)
	evs, err := s.db.UnsettledSince(ctx, s.cfg.LostAfter, s.cursor, batch)
	if err != nil {
		return 0, err
	}
	if len(evs) < batch {
		s.cursor = 0
	} else {
		s.cursor = evs[len(evs)-1].Event.Seq
	}
	if len(evs) == 0 {
		return 0, nil
	}
	delivered, streamGone, err := s.deliveredUpTo(ctx)
	if err != nil {
		return 0, err
	}
	lost := evs
	if !streamGone {
		if lost, err = s.lost(ctx, evs, delivered); err != nil {
			return 0, err
		}
	}
	if len(lost) == 0 {
		return 0, nil
	}
	seqs := make([]int64, len(lost))
	for i, e := range lost {
		seqs[i] = e.Event.Seq
	}
	still, err := s.db.StillUnsettled(ctx, seqs)
	if err != nil {
		return 0, err
	}
	var again []admem.UnsettledEvent
	for _, e := range lost {
		if still[e.Event.Seq] {
			again = append(again, e)
		}
	}
	if len(again) == 0 {
		return 0, nil
	}
	if err := s.reappend(ctx, again); err != nil {
		return 0, err
	}
	s.log.Warn("relayed events the stream no longer delivers were appended again (Redis lost entries, or Postgres was restored from a backup)",
		"events", len(again))
	return len(again), nil
}

// deliveredUpTo returns each consumer group's last delivered entry id, or
// streamGone when the stream does not exist.
func (s *StreamRecovery) deliveredUpTo(ctx context.Context) (map[string]string, bool, error) {
	groups, err := s.rdb.XInfoGroups(ctx, s.cfg.Stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("events: stream groups: %w", err)
	}
	out := make(map[string]string, len(groups))
	for _, g := range groups {
		out[g.Name] = g.LastDeliveredID
	}
	return out, false, nil
}

// lost returns the events of evs whose entries the stream will not
// deliver to some group that waits for them.
func (s *StreamRecovery) lost(ctx context.Context, evs []admem.UnsettledEvent, delivered map[string]string) ([]admem.UnsettledEvent, error) {
	type check struct {
		entry   *redis.XMessageSliceCmd
		pending map[string]*redis.XPendingExtCmd // by group
	}
	pipe := s.rdb.Pipeline()
	checks := make([]check, len(evs))
	for i, e := range evs {
		if e.StreamID == "" {
			continue
		}
		checks[i].entry = pipe.XRange(ctx, s.cfg.Stream, e.StreamID, e.StreamID)
		checks[i].pending = map[string]*redis.XPendingExtCmd{}
		for _, g := range groupsOf(e.Pending) {
			if _, ok := delivered[g]; ok {
				checks[i].pending[g] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.cfg.Stream, Group: g,
					Start: e.StreamID, End: e.StreamID, Count: 1})
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) && !isRedisReplyError(err) {
		return nil, fmt.Errorf("events: stream entries: %w", err)
	}
	var out []admem.UnsettledEvent
	for i, e := range evs {
		c := checks[i]
		if c.entry == nil {
			out = append(out, e) // relayed before stream ids were kept
			continue
		}
		msgs, err := c.entry.Result()
		if err != nil || len(msgs) == 0 || msgs[0].Values[fieldID] != e.Event.ID {
			out = append(out, e) // gone with the data Redis lost
			continue
		}
		for g, pc := range c.pending {
			if compareIDs(e.StreamID, delivered[g]) > 0 {
				continue // not delivered to g yet
			}
			if p, err := pc.Result(); err == nil && len(p) > 0 {
				continue // pending: its consumer finishes it or it is reclaimed
			}
			out = append(out, e) // delivered and acknowledged, yet not settled
			break
		}
	}
	return out, nil
}

// groupsOf maps ledger names to the consumer groups of Consumers.
func groupsOf(ledgers []string) []string {
	var out []string
	for _, l := range ledgers {
		for _, c := range Consumers {
			if c.Ledger == l {
				out = append(out, c.Group)
			}
		}
	}
	return out
}

// isRedisReplyError reports whether err is an error reply to one command
// (checked per command), not a failed connection.
func isRedisReplyError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded)
}

// compareIDs orders two stream entry ids ("ms-seq").
func compareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		if am < bm {
			return -1
		}
		return 1
	case as != bs:
		if as < bs {
			return -1
		}
		return 1
	}
	return 0
}

func splitID(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m, s
}
