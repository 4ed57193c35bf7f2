package http_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/testenv"
)

// BenchmarkRedisFaults measures what a request pays while Redis is up,
// frozen (SIGSTOP: nothing answers) and gone (connections refused), on a
// Redis of its own, at the production default of ADMEM_REDIS_REQUEST_TIMEOUT.
// The request is GET /v1/me, which does nothing else than authenticate (from
// the cache) and spend from the rate limit, so its time is mostly Redis's.
// It also logs the first requests after each fault, which pay the timeout
// until the breaker opens.
//
//	go test -run '^$' -bench BenchmarkRedisFaults -benchtime 500x ./internal/http/
func BenchmarkRedisFaults(b *testing.B) {
	rp := testenv.PrivateRedis(b)
	env := apitest.New(b, apitest.WithEnv("ADMEM_REDIS_URL", rp.URL), apitest.WithEnv("ADMEM_REDIS_REQUEST_TIMEOUT", "50ms"))
	_, admin := env.Tenant(b, "redis-bench")
	hc := &http.Client{Timeout: time.Minute}
	get := func() time.Duration {
		req, _ := http.NewRequest("GET", env.URL+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	run := func(name string) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				get()
			}
		})
	}
	onset := func(name string) {
		var first []time.Duration
		for i := 0; i < 5; i++ {
			first = append(first, get().Round(time.Millisecond))
		}
		b.Logf("Redis %s: the first 5 requests took %v", name, first)
	}
	for i := 0; i < 20; i++ {
		get()
	}
	run("redis=up")
	rp.Freeze()
	onset("frozen")
	run("redis=frozen")
	rp.Thaw()
	time.Sleep(2 * time.Second) // the breaker's probe finds it back
	rp.Kill()
	onset("refused")
	run("redis=refused")
}
