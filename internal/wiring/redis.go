package wiring

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/admem/admem/internal/breaker"
	"github.com/redis/go-redis/v9"
)

// Redis on the request path: a request that waits for Redis (its rate
// limit, an activation notice) must pay at most a few milliseconds when
// Redis is down or hanging. So the request client has short timeouts and no
// retries, and a circuit breaker: after breakerThreshold failures in a row
// every call fails at once, and what needs Redis degrades (rate limits let
// requests through, notices are skipped: replicas poll) until a probe in
// the background finds Redis back.
const (
	breakerThreshold = 3
	breakerProbe     = 500 * time.Millisecond
)

// newRequestRedis returns the request path's client over opt, and its
// breaker.
func newRequestRedis(opt redis.Options, timeout time.Duration, log *slog.Logger) (*redis.Client, *breaker.Breaker) {
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = timeout, timeout, timeout, timeout
	opt.MaxRetries = -1   // a retry would double the wait; the caller degrades instead
	opt.DialerRetries = 1 // one dial (the default retries 5 times, 100 ms apart)
	rdb := redis.NewClient(&opt)
	b := breaker.New(breakerThreshold, breakerProbe, func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		func(open bool) {
			if open {
				log.Warn("redis keeps failing: rate limits and notices are skipped until it answers again")
			} else {
				log.Info("redis answers again")
			}
		})
	rdb.AddHook(breakerHook{b})
	return rdb, b
}

// breakerHook puts every command of a client behind the breaker.
type breakerHook struct{ b *breaker.Breaker }

func (h breakerHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h breakerHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if breaker.IsProbe(ctx) {
			return next(ctx, cmd)
		}
		if err := h.b.Allow(); err != nil {
			cmd.SetErr(err)
			return err
		}
		err := next(ctx, cmd)
		h.b.Record(redisFailure(ctx, err))
		return err
	}
}

func (h breakerHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if breaker.IsProbe(ctx) {
			return next(ctx, cmds)
		}
		if err := h.b.Allow(); err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		err := next(ctx, cmds)
		h.b.Record(redisFailure(ctx, err))
		return err
	}
}

// redisFailure is err when it says Redis failed (no connection, a timeout),
// and nil when Redis answered (a miss, an error reply such as NOSCRIPT) or
// the caller gave up.
func redisFailure(ctx context.Context, err error) error {
	var reply redis.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil), errors.As(err, &reply) && !errors.Is(err, context.DeadlineExceeded):
		return nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return nil
	}
	return err
}
