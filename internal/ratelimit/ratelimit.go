// Package ratelimit implements per-key rate limits in Redis with the generic
// cell rate algorithm (GCRA): one key per limited subject holding its
// theoretical arrival time, updated atomically by a Lua script, so every API
// replica shares one budget.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limit is a sustained rate with a burst allowance.
type Limit struct {
	RPS   float64
	Burst int
}

// Result is the outcome of one check, with what the RateLimit-* headers say.
type Result struct {
	Allowed    bool
	Limit      int
	Remaining  int
	RetryAfter time.Duration // when denied: how long until one request fits
	ResetAfter time.Duration // until the bucket is full again
}

// Limiter checks requests against limits stored in Redis.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Limiter whose keys start with prefix.
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix + "rl:"}
}

// The script uses Redis's clock, so replicas with skewed clocks agree.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, math.ceil(allow_at - now), 0, math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
local remaining = math.floor((tolerance - (new_tat - now)) / interval)
return {1, 0, remaining, math.ceil(new_tat - now)}
`)

// Allow takes one request from subject's budget.
func (l *Limiter) Allow(ctx context.Context, subject string, lim Limit) (Result, error) {
	if lim.RPS <= 0 || lim.Burst < 1 {
		return Result{}, fmt.Errorf("ratelimit: invalid limit %+v", lim)
	}
	interval := int64(math.Max(1, math.Round(1e6/lim.RPS)))
	v, err := gcra.Run(ctx, l.rdb, []string{l.prefix + subject}, interval, lim.Burst).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: %w", err)
	}
	return Result{
		Allowed:    v[0] == 1,
		Limit:      lim.Burst,
		Remaining:  int(v[2]),
		RetryAfter: time.Duration(v[1]) * time.Microsecond,
		ResetAfter: time.Duration(v[3]) * time.Microsecond,
	}, nil
}
