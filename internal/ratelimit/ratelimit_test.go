package ratelimit

import (
	"context"
	"testing"

	"github.com/admem/admem/internal/testenv"
	"github.com/redis/go-redis/v9"
)

func TestGCRABurstThenDeny(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.Redis(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	l := New(rdb, prefix)
	ctx := context.Background()
	// A very slow refill (one request per 1000 s) makes the count exact
	// regardless of how long the loop takes.
	lim := Limit{RPS: 0.001, Burst: 5}
	for i := 0; i < 5; i++ {
		r, err := l.Allow(ctx, "key-a", lim)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Allowed {
			t.Fatalf("request %d denied within burst", i+1)
		}
		if r.Remaining != 4-i {
			t.Fatalf("request %d: remaining %d, want %d", i+1, r.Remaining, 4-i)
		}
	}
	r, err := l.Allow(ctx, "key-a", lim)
	if err != nil {
		t.Fatal(err)
	}
	if r.Allowed || r.RetryAfter <= 0 || r.Remaining != 0 {
		t.Fatalf("6th request: %+v, want denied with retry-after", r)
	}
	// Another subject has its own budget.
	if r, _ := l.Allow(ctx, "key-b", lim); !r.Allowed {
		t.Fatal("independent subject was limited")
	}
}
