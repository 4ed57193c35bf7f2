package http

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/auth"
	"github.com/admem/admem/internal/ratelimit"
)

// authThrottle refuses, for a while, the client addresses and API key
// prefixes that failed authentication too often (AuthFailLimit, counted in
// Redis so every replica shares the count). Guessing a key's secret is
// hopeless (256 bits), but each attempt costs a key lookup: throttling keeps
// a flood of bad credentials off Postgres, and slows a client that leaked
// part of a key. A refused subject is remembered in this replica until its
// Retry-After, so refusing costs nothing, not even a Redis call; a
// successful authentication never touches Redis here.
type authThrottle struct {
	limit ratelimit.Limit // RPS 0: off

	mu      sync.Mutex
	blocked map[string]time.Time // subject → refused until
}

// maxBlocked bounds the refused subjects one replica remembers.
const maxBlocked = 100_000

// subjects are what a failure with cred from r counts against.
func authSubjects(r *http.Request, cred string) []string {
	subs := []string{"authfail:ip:" + clientIP(r.Context())}
	if prefix, ok := auth.ParseKey(cred); ok {
		subs = append(subs, "authfail:key:"+prefix)
	}
	return subs
}

// refusedFor is how long any of subjects is still refused, or 0.
func (t *authThrottle) refusedFor(subjects []string) time.Duration {
	if t.limit.RPS <= 0 {
		return 0
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, s := range subjects {
		if until, ok := t.blocked[s]; ok {
			if d := until.Sub(now); d > wait {
				wait = d
			} else if d <= 0 {
				delete(t.blocked, s)
			}
		}
	}
	return wait
}

func (t *authThrottle) refuse(subject string, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.blocked == nil || len(t.blocked) >= maxBlocked {
		t.blocked = map[string]time.Time{}
	}
	t.blocked[subject] = until
}

// authFailed counts a failed authentication against its subjects and
// returns how long the client is now refused (0: not yet). Redis being down
// counts nothing: the limiter's outage must not lock anyone out.
func (s *Server) authFailed(ctx context.Context, subjects []string) time.Duration {
	if s.limiter == nil || s.authThrottle.limit.RPS <= 0 {
		return 0
	}
	buckets := make([]ratelimit.Bucket, len(subjects))
	for i, sub := range subjects {
		buckets[i] = ratelimit.Bucket{Subject: sub, Limit: s.authThrottle.limit}
	}
	rs, err := s.limiter.Spend(ctx, buckets...)
	if err != nil {
		s.metrics.rateLimitErrors.Inc()
		return 0
	}
	var wait time.Duration
	for _, r := range rs {
		if !r.Allowed {
			wait = max(wait, r.RetryAfter)
			s.authThrottle.refuse(r.Subject, time.Now().Add(r.RetryAfter))
		}
	}
	return wait
}

func (s *Server) authRefused(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	s.metrics.authThrottled.Inc()
	w.Header().Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(wait))))
	s.writeError(w, r, &admem.Error{Code: admem.ERATELIMITED,
		Message: fmt.Sprintf("too many failed authentications from this address or with this key; retry in %s", wait.Round(time.Second))})
}
