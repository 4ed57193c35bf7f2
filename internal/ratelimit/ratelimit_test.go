package ratelimit

import (
	"context"
	"testing"

	"github.com/admem/admem/internal/testenv"
	"github.com/redis/go-redis/v9"
)

func newTestLimiter(t *testing.T) *Limiter {
	t.Helper()
	url, prefix := testenv.Redis(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return New(rdb, prefix)
}

// A very slow refill (one request per 1000 s) makes the counts exact
// regardless of how long the test takes.
var slow = Limit{RPS: 0.001, Burst: 5}

func TestGCRABurstThenDeny(t *testing.T) {
	t.Parallel()
	l := newTestLimiter(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		r, err := l.Allow(ctx, Bucket{"key-a", slow})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Allowed {
			t.Fatalf("request %d denied within burst", i+1)
		}
		if r.Remaining != 4-i || r.Subject != "key-a" || r.Limit != slow {
			t.Fatalf("request %d: %+v, want remaining %d", i+1, r, 4-i)
		}
	}
	r, err := l.Allow(ctx, Bucket{"key-a", slow})
	if err != nil {
		t.Fatal(err)
	}
	if r.Allowed || r.RetryAfter <= 0 || r.Remaining != 0 {
		t.Fatalf("6th request: %+v, want denied with retry-after", r)
	}
	// Another subject has its own budget.
	if r, _ := l.Allow(ctx, Bucket{"key-b", slow}); !r.Allowed {
		t.Fatal("independent subject was limited")
	}
}

// TestAllowSpendsFromEveryBucketOrNone: two keys of one tenant share the
// tenant's budget, and a request one bucket denies takes nothing from the
// other.
func TestAllowSpendsFromEveryBucketOrNone(t *testing.T) {
	t.Parallel()
	l := newTestLimiter(t)
	ctx := context.Background()
	tenant := Bucket{"{t}:tenant", Limit{RPS: 0.001, Burst: 4}}
	keyA := Bucket{"{t}:key:a", Limit{RPS: 0.001, Burst: 3}}
	keyB := Bucket{"{t}:key:b", Limit{RPS: 0.001, Burst: 3}}
	allowed := 0
	for i := 0; i < 3; i++ {
		if r, err := l.Allow(ctx, tenant, keyA); err != nil {
			t.Fatal(err)
		} else if r.Allowed {
			allowed++
		}
	}
	r, err := l.Allow(ctx, tenant, keyA)
	if err != nil || r.Allowed || r.Subject != keyA.Subject {
		t.Fatalf("key a's 4th: %+v %v, want denied by the key's bucket", r, err)
	}
	// The tenant has one request left: key b gets it, then the tenant denies.
	if r, _ := l.Allow(ctx, tenant, keyB); !r.Allowed || r.Subject != tenant.Subject || r.Remaining != 0 {
		t.Fatalf("key b's 1st: %+v, want allowed with the tenant's bucket empty", r)
	}
	if r, _ := l.Allow(ctx, tenant, keyB); r.Allowed || r.Subject != tenant.Subject {
		t.Fatalf("key b's 2nd: %+v, want denied by the tenant's bucket", r)
	}
	// Key b's denied request took nothing from key b.
	if r, _ := l.Allow(ctx, keyB); !r.Allowed || r.Remaining != 1 {
		t.Fatalf("key b alone: %+v, want 1 left of 3 (one spent)", r)
	}
	if allowed != 3 {
		t.Fatalf("%d of key a's first 3 allowed", allowed)
	}
}

func TestSpendCountsEachBucket(t *testing.T) {
	t.Parallel()
	l := newTestLimiter(t)
	ctx := context.Background()
	ip := Bucket{"ip", Limit{RPS: 0.001, Burst: 1}}
	prefix := Bucket{"prefix", Limit{RPS: 0.001, Burst: 2}}
	rs, err := l.Spend(ctx, ip, prefix)
	if err != nil || len(rs) != 2 || !rs[0].Allowed || !rs[1].Allowed {
		t.Fatalf("first: %+v %v", rs, err)
	}
	rs, _ = l.Spend(ctx, ip, prefix)
	if rs[0].Allowed || !rs[1].Allowed || rs[0].Subject != "ip" || rs[1].Remaining != 0 {
		t.Fatalf("second: %+v, want the address exhausted and the prefix spent", rs)
	}
}
