package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/redis/go-redis/v9"
)

// ConsumerStore keeps events that kept failing, per tenant, and settles
// the events a consumer finished.
type ConsumerStore interface {
	AddDeadLetter(ctx context.Context, d admem.DeadLetter) error
	SettleEvent(ctx context.Context, tenantID, consumer, eventID string, processed bool) error
	// SettleEvents settles processed events of one tenant at once.
	SettleEvents(ctx context.Context, tenantID, consumer string, eventIDs []string) error
	// UnknownEvents returns which of the tenant's events the database
	// does not hold.
	UnknownEvents(ctx context.Context, tenantID string, eventIDs []string) ([]string, error)
}

// ReasonUnknownEvent is the dead-letter reason of an event the database
// does not hold: it was restored from a backup taken before the event (and
// the change it describes) was written, so there is nothing to learn from,
// or the event was purged long after it was relayed.
const ReasonUnknownEvent = "the database holds no such event: it was restored from a backup taken before the event was written " +
	"(the change it describes is gone with it), or the event was purged"

// Consumer reads the stream in the consumer group and applies a handler.
type Consumer struct {
	rdb    redis.UniversalClient
	cfg    Config
	handle BatchHandler
	one    Handler // set when handling one event at a time
	db     ConsumerStore
	log    *slog.Logger
	m      *Metrics
	errs   map[string]string // last handler error per entry, for dead letters
}

// NewConsumer returns a consumer; m may be nil.
func NewConsumer(rdb redis.UniversalClient, cfg Config, h Handler, db ConsumerStore, log *slog.Logger, m *Metrics) *Consumer {
	c := NewBatchConsumer(rdb, cfg, h.Batch(), db, log, m)
	c.one = h
	return c
}

// NewBatchConsumer returns a consumer that hands what it reads at once (up
// to cfg.Batch events) to h; m may be nil.
func NewBatchConsumer(rdb redis.UniversalClient, cfg Config, h BatchHandler, db ConsumerStore, log *slog.Logger, m *Metrics) *Consumer {
	return &Consumer{rdb: rdb, cfg: cfg, handle: h, db: db, log: log, m: m, errs: map[string]string{}}
}

// EnsureGroup creates the stream and the group (reading from the stream's
// start, so events relayed before the first worker started are not skipped).
func EnsureGroup(ctx context.Context, rdb redis.UniversalClient, cfg Config) error {
	err := rdb.XGroupCreateMkStream(ctx, cfg.Stream, cfg.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("events: create group: %w", err)
	}
	return nil
}

// ConsumeOnce handles one batch: first entries a dead consumer left pending
// for ClaimIdle, else new entries (waiting up to Block). It returns how
// many entries it acknowledged.
func (c *Consumer) ConsumeOnce(ctx context.Context) (int, error) {
	msgs, _, err := c.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: c.cfg.Stream, Group: c.cfg.Group,
		Consumer: c.cfg.Consumer, MinIdle: c.cfg.ClaimIdle, Start: "0-0", Count: int64(c.cfg.Batch)}).Result()
	if err != nil {
		if isNoGroup(err) {
			if err := EnsureGroup(ctx, c.rdb, c.cfg); err != nil {
				return 0, err
			}
			return 0, nil
		}
		return 0, fmt.Errorf("events: autoclaim: %w", err)
	}
	claimed := len(msgs) > 0
	if claimed && c.m != nil {
		c.m.reclaimed.Add(float64(len(msgs)))
	}
	if !claimed {
		res, err := c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: c.cfg.Group, Consumer: c.cfg.Consumer,
			Streams: []string{c.cfg.Stream, ">"}, Count: int64(c.cfg.Batch), Block: c.cfg.Block}).Result()
		if errors.Is(err, redis.Nil) {
			return 0, nil
		}
		if err != nil {
			if isNoGroup(err) {
				return 0, EnsureGroup(ctx, c.rdb, c.cfg)
			}
			return 0, fmt.Errorf("events: read: %w", err)
		}
		for _, s := range res {
			msgs = append(msgs, s.Messages...)
		}
	}
	var attempts map[string]int64
	if claimed {
		if attempts, err = c.deliveries(ctx, msgs); err != nil {
			return 0, err
		}
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return c.processAll(ctx, msgs, attempts)
}

// deliveries returns how often each claimed entry was delivered.
func (c *Consumer) deliveries(ctx context.Context, msgs []redis.XMessage) (map[string]int64, error) {
	out := make(map[string]int64, len(msgs))
	pend, err := c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: c.cfg.Stream, Group: c.cfg.Group,
		Start: msgs[0].ID, End: msgs[len(msgs)-1].ID, Count: int64(len(msgs)) * 4, Consumer: c.cfg.Consumer}).Result()
	if err != nil {
		return nil, fmt.Errorf("events: pending: %w", err)
	}
	for _, p := range pend {
		out[p.ID] = p.RetryCount
	}
	return out, nil
}

// processAll handles entries read together: the ones that cannot be
// decoded or were delivered too often are dead-lettered; the others go to
// the handler at once, and those it committed are settled and
// acknowledged. It reports how many it acknowledged. A handler failure
// leaves the entry pending for a later reclaim.
func (c *Consumer) processAll(ctx context.Context, msgs []redis.XMessage, attempts map[string]int64) (int, error) {
	stop := ctx
	ctx = context.WithoutCancel(ctx)
	acked := 0
	var evs []admem.Event
	var live []redis.XMessage
	for _, msg := range msgs {
		delivered := attempts[msg.ID]
		ev, err := decode(msg.Values)
		if err != nil {
			ok, err := c.deadLetter(ctx, msg, admem.Event{}, int(delivered), err.Error())
			if err != nil {
				return acked, err
			}
			if ok {
				acked++
			}
			continue
		}
		if c.cfg.MaxAttempts > 0 && delivered > int64(c.cfg.MaxAttempts) {
			last := c.errs[msg.ID]
			if last == "" {
				last = fmt.Sprintf("failed %d deliveries", delivered-1)
			}
			ok, err := c.deadLetter(ctx, msg, ev, int(delivered-1), last)
			if err != nil {
				return acked, err
			}
			if ok {
				acked++
			}
			continue
		}
		evs = append(evs, ev)
		live = append(live, msg)
	}
	evs, live, n, err := c.dropUnknown(ctx, evs, live, attempts)
	acked += n
	if err != nil {
		return acked, err
	}
	if len(evs) == 0 {
		return acked, nil
	}
	// Once handed to the handler, events are handled to the end even if
	// shutdown begins: each one's effect commits and is acknowledged, or
	// neither happens. One at a time, shutdown stops between events (the
	// rest stay pending).
	start := time.Now()
	var errs []error
	if c.one != nil {
		for i, ev := range evs {
			if stop.Err() != nil {
				evs, live = evs[:i], live[:i]
				break
			}
			errs = append(errs, c.one(ctx, ev))
		}
	} else {
		errs = c.handle(ctx, evs)
	}
	if len(errs) != len(evs) {
		return acked, fmt.Errorf("events: handler returned %d results for %d events", len(errs), len(evs))
	}
	var done []redis.XMessage
	byTenant := map[string][]string{}
	var tenants []string
	for i, ev := range evs {
		if err := errs[i]; err != nil {
			if stop.Err() != nil {
				continue // cut off by shutdown: pending, not failed
			}
			c.errs[live[i].ID] = err.Error()
			c.count(ev.Type, "error", start)
			c.log.Warn("event failed; it stays pending and will be retried", "event", ev.ID, "type", ev.Type, "tenant", ev.TenantID,
				"delivery", attempts[live[i].ID], "err", err)
			continue
		}
		if _, ok := byTenant[ev.TenantID]; !ok {
			tenants = append(tenants, ev.TenantID)
		}
		byTenant[ev.TenantID] = append(byTenant[ev.TenantID], ev.ID)
		done = append(done, live[i])
		c.count(ev.Type, "ok", start)
		if c.m != nil && !ev.CreatedAt.IsZero() {
			c.m.eventAge.Observe(time.Since(ev.CreatedAt).Seconds())
		}
	}
	for _, t := range tenants {
		if err := c.settleAll(ctx, t, byTenant[t]); err != nil {
			// The effects committed; a redelivery finds them processed and
			// settles again.
			return acked, err
		}
	}
	if len(done) == 0 {
		return acked, stop.Err()
	}
	ids := make([]string, len(done))
	for i, m := range done {
		ids[i] = m.ID
	}
	if err := c.rdb.XAck(ctx, c.cfg.Stream, c.cfg.Group, ids...).Err(); err != nil {
		// The effects committed; a redelivery will find them processed.
		return acked, fmt.Errorf("events: ack %d entries: %w", len(ids), err)
	}
	for _, id := range ids {
		delete(c.errs, id)
	}
	return acked + len(ids), stop.Err()
}

// dropUnknown dead-letters the events the database does not hold (see
// ReasonUnknownEvent) and returns the others. Handing them to the handler
// would learn nothing and leave no trace; a dead letter says what happened
// to each. Were such an event's row to appear later after all (a restore
// still loading), it is unsettled there and the stream recovery appends it
// again.
func (c *Consumer) dropUnknown(ctx context.Context, evs []admem.Event, live []redis.XMessage, attempts map[string]int64) ([]admem.Event, []redis.XMessage, int, error) {
	byTenant := map[string][]string{}
	for _, ev := range evs {
		byTenant[ev.TenantID] = append(byTenant[ev.TenantID], ev.ID)
	}
	unknown := map[string]bool{}
	for t, ids := range byTenant {
		u, err := c.db.UnknownEvents(ctx, t, ids)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("events: look up events: %w", err)
		}
		for _, id := range u {
			unknown[id] = true
		}
	}
	if len(unknown) == 0 {
		return evs, live, 0, nil
	}
	acked := 0
	var keepEvs []admem.Event
	var keepLive []redis.XMessage
	for i, ev := range evs {
		if !unknown[ev.ID] {
			keepEvs, keepLive = append(keepEvs, ev), append(keepLive, live[i])
			continue
		}
		ok, err := c.deadLetter(ctx, live[i], ev, int(attempts[live[i].ID]), ReasonUnknownEvent)
		if err != nil {
			return nil, nil, acked, err
		}
		if ok {
			acked++
		}
	}
	return keepEvs, keepLive, acked, nil
}

// settleAll settles a tenant's processed events at once.
func (c *Consumer) settleAll(ctx context.Context, tenantID string, ids []string) error {
	if c.cfg.Ledger == "" {
		return nil
	}
	err := c.db.SettleEvents(ctx, tenantID, c.cfg.Ledger, ids)
	if err != nil && !errors.Is(err, admem.ErrNotFound) && !errors.Is(err, admem.ErrForbidden) {
		return fmt.Errorf("events: settle %d events: %w", len(ids), err)
	}
	return nil
}

// settle tells the store this consumer is done with ev (processed, or
// given up), under its ledger name; without one there is nothing to settle.
// A deleted tenant's events are gone with it.
func (c *Consumer) settle(ctx context.Context, ev admem.Event, processed bool) error {
	if c.cfg.Ledger == "" {
		return nil
	}
	err := c.db.SettleEvent(ctx, ev.TenantID, c.cfg.Ledger, ev.ID, processed)
	if err != nil && !errors.Is(err, admem.ErrNotFound) && !errors.Is(err, admem.ErrForbidden) {
		return fmt.Errorf("events: settle %s: %w", ev.ID, err)
	}
	return nil
}

func (c *Consumer) count(typ, result string, start time.Time) {
	if c.m == nil {
		return
	}
	c.m.processed.WithLabelValues(typ, result).Inc()
	c.m.handleSeconds.WithLabelValues(typ).Observe(time.Since(start).Seconds())
}

// deadLetter records the event (per tenant in Postgres, and on the
// dead-letter stream), then acknowledges it.
func (c *Consumer) deadLetter(ctx context.Context, msg redis.XMessage, ev admem.Event, attempts int, reason string) (bool, error) {
	if ev.TenantID != "" && ev.ID != "" {
		err := c.db.AddDeadLetter(ctx, admem.DeadLetter{Event: ev, StreamID: msg.ID, Attempts: attempts, LastError: reason})
		// A deleted tenant keeps no dead letters; the stream still does.
		if err != nil && !errors.Is(err, admem.ErrNotFound) && !errors.Is(err, admem.ErrForbidden) {
			return false, err
		}
		// Given up: the event no longer waits for this consumer.
		if err := c.settle(ctx, ev, false); err != nil {
			return false, err
		}
	}
	values := map[string]any{"stream_id": msg.ID, "attempts": attempts, "error": reason}
	for k, v := range msg.Values {
		values["event."+k] = v
	}
	pipe := c.rdb.TxPipeline()
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: c.cfg.DeadStream, MaxLen: 100_000, Approx: true, Values: values})
	pipe.XAck(ctx, c.cfg.Stream, c.cfg.Group, msg.ID)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("events: dead-letter %s: %w", msg.ID, err)
	}
	delete(c.errs, msg.ID)
	if c.m != nil {
		c.m.deadLettered.Inc()
	}
	c.log.Error("event dead-lettered", "event", ev.ID, "type", ev.Type, "tenant", ev.TenantID, "attempts", attempts, "err", reason)
	return true, nil
}

// Run consumes until ctx ends. It stops reading first; the entry being
// handled finishes under its own context and is acknowledged only if its
// effect committed.
func (c *Consumer) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		// Reads stop at shutdown; handling in progress completes.
		_, err := c.ConsumeOnce(ctx)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("consume failed", "err", err, "retry_in", backoff.String())
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
}

func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }
