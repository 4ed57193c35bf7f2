package adapters

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Channel is the pub/sub channel (after the deployment's key prefix) that
// announces activations as "<tenant id>:<version>".
const Channel = "adapter:activated"

// DefaultPollInterval is how often a replica checks the active versions
// when no notification arrives.
const DefaultPollInterval = 15 * time.Second

// Notifier announces activations over Redis pub/sub.
type Notifier struct {
	rdb     *redis.Client
	channel string
}

// NewNotifier returns a notifier on prefix+Channel.
func NewNotifier(rdb *redis.Client, prefix string) *Notifier {
	return &Notifier{rdb: rdb, channel: prefix + Channel}
}

// Activated announces that version is now the tenant's active adapter. A
// lost announcement is not fatal: replicas poll.
func (n *Notifier) Activated(ctx context.Context, tenantID string, version int) error {
	if n == nil || n.rdb == nil {
		return nil
	}
	if err := n.rdb.Publish(ctx, n.channel, tenantID+":"+strconv.Itoa(version)).Err(); err != nil {
		return fmt.Errorf("adapters: publish activation: %w", err)
	}
	return nil
}

// Follow keeps the registry current until ctx ends: it refreshes a tenant
// on each activation notification, and polls every interval (and once
// after each (re)subscription, to catch what was missed meanwhile).
func (r *Registry) Follow(ctx context.Context, rdb *redis.Client, prefix string, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	poll := func() {
		pctx, cancel := context.WithTimeout(ctx, interval)
		defer cancel()
		if err := r.Poll(pctx); err != nil && ctx.Err() == nil {
			log.Warn("adapter poll failed", "err", err)
		}
	}
	var msgs <-chan *redis.Message
	if rdb != nil {
		sub := rdb.Subscribe(ctx, prefix+Channel)
		defer sub.Close()
		msgs = sub.Channel(redis.WithChannelHealthCheckInterval(interval))
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			poll()
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			tenant, _, _ := strings.Cut(m.Payload, ":")
			if tenant == "" {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := r.Refresh(rctx, tenant); err != nil && ctx.Err() == nil {
				log.Warn("adapter refresh failed", "tenant_id", tenant, "err", err)
			}
			cancel()
		}
	}
}
