// Package breaker is a circuit breaker for a dependency the request path
// calls but can do without (Redis, for rate limits and notifications): after
// Threshold failures in a row it opens, and calls then fail at once with
// ErrOpen instead of each waiting for a dependency that is down or hanging.
// While open, a probe runs in the background, never on a request, and
// closes the breaker as soon as the dependency answers again.
package breaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrOpen is the error of a call refused because the breaker is open.
var ErrOpen = errors.New("breaker: open (the dependency keeps failing)")

// Breaker is safe for concurrent use.
type Breaker struct {
	threshold int32
	interval  time.Duration
	probe     func(context.Context) error
	onChange  func(open bool)

	open    atomic.Bool
	fails   atomic.Int32
	mu      sync.Mutex
	lastErr error
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a closed breaker that opens after threshold consecutive
// failures and then probes every interval; onChange (optional) hears each
// opening and closing.
func New(threshold int, interval time.Duration, probe func(context.Context) error, onChange func(open bool)) *Breaker {
	ctx, stop := context.WithCancel(context.Background())
	return &Breaker{threshold: int32(max(1, threshold)), interval: interval, probe: probe, onChange: onChange, ctx: ctx, stop: stop}
}

// Allow returns ErrOpen while the breaker is open.
func (b *Breaker) Allow() error {
	if b.open.Load() {
		return ErrOpen
	}
	return nil
}

// Record counts the outcome of an allowed call: a failure of the
// dependency (not of the caller: pass nil for a cancelled request or an
// error reply) or a success.
func (b *Breaker) Record(failure error) {
	if failure == nil {
		b.fails.Store(0)
		return
	}
	if b.fails.Add(1) < b.threshold || !b.open.CompareAndSwap(false, true) {
		return
	}
	b.mu.Lock()
	b.lastErr = failure
	b.mu.Unlock()
	if b.onChange != nil {
		b.onChange(true)
	}
	b.wg.Add(1)
	go b.probing()
}

// Open reports whether the breaker is open, and the failure that opened it.
func (b *Breaker) Open() (bool, error) {
	if !b.open.Load() {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return true, b.lastErr
}

// Stop ends a running probe; the breaker stays as it is.
func (b *Breaker) Stop() {
	b.stop()
	b.wg.Wait()
}

type probeKey struct{}

// IsProbe tells the breaker's own probe, which must reach the dependency
// while the breaker is open, from every other call.
func IsProbe(ctx context.Context) bool { return ctx.Value(probeKey{}) != nil }

func (b *Breaker) probing() {
	defer b.wg.Done()
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.WithValue(b.ctx, probeKey{}, true), b.interval)
		err := b.probe(ctx)
		cancel()
		if err != nil {
			b.mu.Lock()
			b.lastErr = err
			b.mu.Unlock()
			continue
		}
		b.fails.Store(0)
		b.open.Store(false)
		if b.onChange != nil {
			b.onChange(false)
		}
		return
	}
}
