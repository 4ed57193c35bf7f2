// Package ratelimit implements rate limits in Redis with the generic cell
// rate algorithm (GCRA): one key per limited subject (a tenant, an API key, a
// client address) holding its theoretical arrival time, updated atomically
// by a Lua script, so every API replica shares one budget. One call can
// check several subjects at once: a request spends from its key's and its
// tenant's budget together.
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

// Result is the outcome of one check of one bucket, with what the
// RateLimit-* headers say.
type Result struct {
	Allowed    bool
	Subject    string // the bucket's
	Limit      Limit  // the bucket's
	Remaining  int
	RetryAfter time.Duration // when denied: how long until one request fits
	ResetAfter time.Duration // until the bucket is full again
}

// Bucket is one budget a request spends from: a subject (a key, a tenant,
// a client address) under a limit.
type Bucket struct {
	Subject string
	Limit   Limit
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

// The script uses Redis's clock, so replicas with skewed clocks agree. It
// checks every bucket of KEYS (ARGV: mode, then interval and burst per
// bucket). Mode "all" spends from all of them only if each has room, and
// reports the bucket that denied, or else the one with the least left;
// mode "each" spends from each one that has room and reports every bucket.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local all = ARGV[1] == 'all'
local out, tats = {}, {}
local denied = 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = interval * tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - tolerance
  if now < allow_at then
    out[i] = {0, math.ceil(allow_at - now), 0, math.ceil(tat - now)}
    if denied == 0 then denied = i end
  else
    tats[i] = new_tat
    out[i] = {1, 0, math.floor((tolerance - (new_tat - now)) / interval), math.ceil(new_tat - now)}
  end
end
if all and denied > 0 then
  local r = out[denied]
  return {{r[1], r[2], r[3], r[4], denied}}
end
local least = 0
for i = 1, #KEYS do
  if tats[i] then
    redis.call('SET', KEYS[i], string.format('%d', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1)
    if least == 0 or out[i][3] < out[least][3] then least = i end
  end
end
if all then
  local r = out[least]
  return {{r[1], r[2], r[3], r[4], least}}
end
for i = 1, #KEYS do out[i][5] = i end
return out
`)

// Allow spends one request from every bucket, atomically: the request is
// allowed only if each bucket has room, and then it is taken from each;
// denied, it is taken from none. The result describes the bucket that
// denied it, or else the one with the least left. In a Redis cluster the
// subjects must share a hash tag ({…}).
func (l *Limiter) Allow(ctx context.Context, buckets ...Bucket) (Result, error) {
	rs, err := l.run(ctx, "all", buckets)
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// Spend takes one request from each bucket that has room, independently,
// and returns one result per bucket: counting failures (of authentication)
// against several subjects, any of which may be exhausted.
func (l *Limiter) Spend(ctx context.Context, buckets ...Bucket) ([]Result, error) {
	return l.run(ctx, "each", buckets)
}

func (l *Limiter) run(ctx context.Context, mode string, buckets []Bucket) ([]Result, error) {
	if len(buckets) == 0 {
		return nil, fmt.Errorf("ratelimit: no bucket")
	}
	keys := make([]string, len(buckets))
	args := []any{mode}
	for i, b := range buckets {
		if b.Limit.RPS <= 0 || b.Limit.Burst < 1 {
			return nil, fmt.Errorf("ratelimit: invalid limit %+v for %s", b.Limit, b.Subject)
		}
		keys[i] = l.prefix + b.Subject
		args = append(args, int64(math.Max(1, math.Round(1e6/b.Limit.RPS))), b.Limit.Burst)
	}
	v, err := gcra.Run(ctx, l.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	out := make([]Result, 0, len(v))
	for _, x := range v {
		r, ok := x.([]any)
		if !ok || len(r) != 5 {
			return nil, fmt.Errorf("ratelimit: unexpected reply %v", x)
		}
		n := make([]int64, 5)
		for j, e := range r {
			if n[j], ok = e.(int64); !ok {
				return nil, fmt.Errorf("ratelimit: unexpected reply %v", x)
			}
		}
		b := buckets[n[4]-1]
		out = append(out, Result{
			Allowed:    n[0] == 1,
			Subject:    b.Subject,
			Limit:      b.Limit,
			Remaining:  int(n[2]),
			RetryAfter: time.Duration(n[1]) * time.Microsecond,
			ResetAfter: time.Duration(n[3]) * time.Microsecond,
		})
	}
	return out, nil
}
