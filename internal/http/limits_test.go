package http_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

// TestTenantRateLimitSpansKeys: a tenant's limit holds for the tenant, not
// per key, so an admin cannot multiply it by making keys.
func TestTenantRateLimitSpansKeys(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	r := env.Do(t, "POST", "/v1/tenants", env.PlatformKey, map[string]any{"name": "shared-budget",
		"rate_limit": map[string]any{"requests_per_second": 0.001, "burst": 4}})
	var ten struct{ ID string }
	r.JSON(t, &ten)
	keys := make([]string, 2)
	for i := range keys {
		var k struct{ Key string }
		env.Do(t, "POST", "/v1/tenants/"+ten.ID+"/keys", env.PlatformKey, map[string]any{"name": "k", "scopes": []string{"read"}}).JSON(t, &k)
		keys[i] = k.Key
	}
	for i := 0; i < 4; i++ {
		if r := env.Do(t, "GET", "/v1/me", keys[i%2], nil); r.Status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	for _, k := range keys {
		r := env.Do(t, "GET", "/v1/me", k, nil)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("beyond the tenant's burst: %d %v", r.Status, r.Header)
		}
		if p := r.Problem(t); !strings.Contains(p["detail"].(string), "tenant") {
			t.Fatalf("problem %v does not say the tenant's limit was hit", p)
		}
	}
}

// TestKeyRateLimitWithinTenant: a per-key cap keeps one key from taking the
// whole tenant budget; the tenant's other keys keep theirs.
func TestKeyRateLimitWithinTenant(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_KEY_RATE_LIMIT_RPS", "0.001"), apitest.WithEnv("ADMEM_KEY_RATE_LIMIT_BURST", "2"))
	_, admin := env.Tenant(t, "key-capped")
	_, a := env.Key(t, admin, "read")
	_, b := env.Key(t, admin, "read")
	for i := 0; i < 2; i++ {
		if r := env.Do(t, "GET", "/v1/me", a, nil); r.Status != http.StatusOK || r.Header.Get("RateLimit-Limit") != "2" {
			t.Fatalf("key a, request %d: %d %v", i+1, r.Status, r.Header)
		}
	}
	r := env.Do(t, "GET", "/v1/me", a, nil)
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Problem(t)["detail"].(string), "key") {
		t.Fatalf("key a beyond its cap: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "GET", "/v1/me", b, nil); r.Status != http.StatusOK {
		t.Fatalf("key b: %d %s", r.Status, r.Body)
	}
}

// TestFailedAuthenticationIsThrottled: a client address, or a key prefix
// tried from many addresses, that fails authentication beyond the budget is
// refused with 429 before its credential is even looked at, valid or not;
// other addresses and keys are not affected.
func TestFailedAuthenticationIsThrottled(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_AUTH_FAIL_RPS", "0.001"), apitest.WithEnv("ADMEM_AUTH_FAIL_BURST", "3"),
		apitest.WithEnv("ADMEM_TRUSTED_PROXIES", "127.0.0.1,::1"))
	_, admin := env.Tenant(t, "throttled")
	_, other := env.Key(t, admin, "read")
	from := func(ip, cred string) apitest.Response {
		return env.Do(t, "GET", "/v1/me", cred, nil, "X-Forwarded-For", ip)
	}
	want := func(what string, r apitest.Response, status int) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("%s: %d, want %d: %s", what, r.Status, status, r.Body)
		}
		if status == http.StatusTooManyRequests && (r.Header.Get("Retry-After") == "" || r.Problem(t)["code"] != "rate_limited") {
			t.Fatalf("%s: 429 without Retry-After or code: %v %s", what, r.Header, r.Body)
		}
	}

	// One address guessing tokens.
	for i := 0; i < 3; i++ {
		want("bad token", from("203.0.113.1", "not-a-token"), http.StatusUnauthorized)
	}
	want("4th bad token", from("203.0.113.1", "not-a-token"), http.StatusTooManyRequests)
	want("a good key from the refused address", from("203.0.113.1", admin), http.StatusTooManyRequests)
	want("a good key from another address", from("203.0.113.2", admin), http.StatusOK)

	// One key prefix guessed from many addresses.
	wrong := admin[:15] + strings.Repeat("A", 43)
	for i := 1; i <= 3; i++ {
		want("wrong secret", from("198.51.100."+string(rune('0'+i)), wrong), http.StatusUnauthorized)
	}
	want("4th wrong secret, from a new address", from("198.51.100.4", wrong), http.StatusTooManyRequests)
	want("the refused prefix's own key", from("198.51.100.5", admin), http.StatusTooManyRequests)
	want("another key", from("198.51.100.5", other), http.StatusOK)
	// A missing credential is a client's bug, not a guess: never counted.
	for i := 0; i < 5; i++ {
		want("no credential", from("192.0.2.9", ""), http.StatusUnauthorized)
	}
}
