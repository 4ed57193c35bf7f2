package http_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/apitest"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
)

func TestWalkthroughWithGeneratedClient(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	ctx := context.Background()
	c := env.Client

	tr, err := c.CreateTenantWithResponse(ctx, nil, client.CreateTenantRequest{Name: "acme"}, apitest.Auth(env.PlatformKey))
	if err != nil || tr.JSON201 == nil {
		t.Fatalf("create tenant: %v %s", err, tr.Body)
	}
	kr, err := c.CreateTenantKeyWithResponse(ctx, tr.JSON201.Id, nil, client.CreateKeyRequest{Name: "ops", Scopes: []client.Scope{client.Admin}}, apitest.Auth(env.PlatformKey))
	if err != nil || kr.JSON201 == nil {
		t.Fatalf("create key: %v %s", err, kr.Body)
	}
	adminKey := kr.JSON201.Key
	if !strings.HasPrefix(adminKey, kr.JSON201.Prefix+"_") {
		t.Fatalf("key %q does not start with its prefix %q", adminKey, kr.JSON201.Prefix)
	}
	tok, err := c.IssueTokenWithResponse(ctx, client.IssueTokenJSONRequestBody{}, apitest.Auth(adminKey))
	if err != nil || tok.JSON200 == nil {
		t.Fatalf("token: %v %s", err, tok.Body)
	}
	me, err := c.GetMeWithResponse(ctx, apitest.Auth(tok.JSON200.AccessToken))
	if err != nil || me.JSON200 == nil {
		t.Fatalf("me: %v %s", err, me.Body)
	}
	if me.JSON200.TenantId != tr.JSON201.Id || me.JSON200.IsPlatform {
		t.Fatalf("me = %+v, want tenant %s", me.JSON200, tr.JSON201.Id)
	}
	// A token narrowed to read cannot administer.
	rt, _ := c.IssueTokenWithResponse(ctx, client.IssueTokenJSONRequestBody{Scopes: &[]client.Scope{client.Read}}, apitest.Auth(adminKey))
	if rt.JSON200 == nil {
		t.Fatalf("narrow token: %s", rt.Body)
	}
	lk, _ := c.ListKeysWithResponse(ctx, nil, apitest.Auth(rt.JSON200.AccessToken))
	if lk.StatusCode() != http.StatusForbidden {
		t.Fatalf("read token listing keys: %d, want 403", lk.StatusCode())
	}
}

func TestAuthenticationFailures(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "authfail")
	readID, readKey := env.Key(t, admin, "read")

	tok := func(key string) string {
		r := env.Do(t, "POST", "/v1/auth/token", key, nil)
		if r.Status != 200 {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		var v struct {
			AccessToken string `json:"access_token"`
		}
		r.JSON(t, &v)
		return v.AccessToken
	}
	readTok := tok(readKey)

	// Expired key: set in the database by the owner (no API makes a key expire in the past).
	expID, expKey := env.Key(t, admin, "read")
	owner, err := pgx.Connect(context.Background(), env.PG.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	if _, err := owner.Exec(context.Background(), `UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1`, expID); err != nil {
		t.Fatal(err)
	}

	forged := func(secret string, method jwt.SigningMethod, exp time.Time) string {
		claims := jwt.MapClaims{"iss": "admem", "aud": "admem-api", "sub": readID, "tid": "x", "kpf": readKey[:14],
			"scp": []string{"admin"}, "exp": exp.Unix(), "iat": time.Now().Add(-time.Hour).Unix()}
		s, err := jwt.NewWithClaims(method, claims).SignedString(func() any {
			if method == jwt.SigningMethodNone {
				return jwt.UnsafeAllowNoneSignatureType
			}
			return []byte(secret)
		}())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	cases := []struct {
		name string
		cred string
	}{
		{"no credentials", ""},
		{"malformed key", "adm_nope"},
		{"unknown key", "adm_0000000000_" + strings.Repeat("A", 43)},
		{"wrong secret", readKey[:15] + strings.Repeat("B", 43)},
		{"expired key", expKey},
		{"garbage token", "eyJhbGciOiJIUzI1NiJ9.e30.xyz"},
		{"tampered token", readTok[:len(readTok)-4] + "AAAA"},
		{"alg none token", forged("", jwt.SigningMethodNone, time.Now().Add(time.Hour))},
		{"wrong secret token", forged("another-secret-another-secret-12345", jwt.SigningMethodHS256, time.Now().Add(time.Hour))},
		{"expired token", forged("test-secret-test-secret-test-secret-0123", jwt.SigningMethodHS256, time.Now().Add(-time.Hour))},
	}
	for _, c := range cases {
		r := env.Do(t, "GET", "/v1/me", c.cred, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401: %s", c.name, r.Status, r.Body)
			continue
		}
		if p := r.Problem(t); p["code"] != "unauthorized" || p["request_id"] == "" {
			t.Errorf("%s: problem %v", c.name, p)
		}
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate header", c.name)
		}
	}

	// Revoking a key ends the key and the tokens made from it.
	if r := env.Do(t, "GET", "/v1/me", readTok, nil); r.Status != 200 {
		t.Fatalf("token before revoke: %d", r.Status)
	}
	if r := env.Do(t, "DELETE", "/v1/keys/"+readID, admin, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	for name, cred := range map[string]string{"revoked key": readKey, "token of revoked key": readTok} {
		if r := env.Do(t, "GET", "/v1/me", cred, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, r.Status)
		}
	}
	// A token cannot mint tokens.
	if r := env.Do(t, "POST", "/v1/auth/token", tok(admin), nil); r.Status != http.StatusUnauthorized {
		t.Errorf("token for token: %d, want 401", r.Status)
	}
}

func TestScopesAndTenantIsolation(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	aID, adminA := env.Tenant(t, "tenant-a")
	bID, adminB := env.Tenant(t, "tenant-b")
	bKeyID, _ := env.Key(t, adminB, "read")
	_, readA := env.Key(t, adminA, "read")
	_, writeA := env.Key(t, adminA, "write")

	forbidden := []struct {
		name, method, path, cred string
		body                     any
	}{
		{"read key creates key", "POST", "/v1/keys", readA, map[string]any{"name": "x", "scopes": []string{"read"}}},
		{"write key lists keys", "GET", "/v1/keys", writeA, nil},
		{"read key reads audit", "GET", "/v1/audit", readA, nil},
		{"tenant admin lists tenants", "GET", "/v1/tenants", adminA, nil},
		{"tenant admin creates tenant", "POST", "/v1/tenants", adminA, map[string]any{"name": "evil"}},
		{"tenant admin disables tenant", "PATCH", "/v1/tenants/" + bID, adminA, map[string]any{"status": "disabled"}},
	}
	for _, c := range forbidden {
		r := env.Do(t, c.method, c.path, c.cred, c.body)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403: %s", c.name, r.Status, r.Body)
		} else if p := r.Problem(t); p["code"] != "forbidden" {
			t.Errorf("%s: code %v", c.name, p["code"])
		}
	}

	notFound := []struct{ name, method, path string }{
		{"get other tenant's key", "GET", "/v1/keys/" + bKeyID},
		{"revoke other tenant's key", "DELETE", "/v1/keys/" + bKeyID},
		{"get other tenant", "GET", "/v1/tenants/" + bID},
		{"not a uuid", "GET", "/v1/keys/not-a-uuid"},
	}
	for _, c := range notFound {
		if r := env.Do(t, c.method, c.path, adminA, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404: %s", c.name, r.Status, r.Body)
		}
	}
	// B's key still works: A's revoke attempt touched nothing.
	if r := env.Do(t, "GET", "/v1/keys/"+bKeyID, adminB, nil); r.Status != 200 {
		t.Fatalf("B's key after A's attempts: %d", r.Status)
	}
	if r := env.Do(t, "GET", "/v1/tenants/"+aID, readA, nil); r.Status != 200 {
		t.Fatalf("own tenant: %d", r.Status)
	}
	// Lists show only the caller's keys.
	var keys struct {
		Items []struct {
			TenantID string `json:"tenant_id"`
		}
	}
	env.Do(t, "GET", "/v1/keys", adminA, nil).JSON(t, &keys)
	if len(keys.Items) != 3 {
		t.Fatalf("A sees %d keys, want 3", len(keys.Items))
	}
	for _, k := range keys.Items {
		if k.TenantID != aID {
			t.Fatalf("A sees a key of tenant %s", k.TenantID)
		}
	}

	// Disabling a tenant stops its keys.
	if r := env.Do(t, "PATCH", "/v1/tenants/"+bID, env.PlatformKey, map[string]any{"status": "disabled"}); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	env.API.Auth.Forget(adminB[:14])
	if r := env.Do(t, "GET", "/v1/me", adminB, nil); r.Status != http.StatusForbidden {
		t.Fatalf("disabled tenant's key: %d, want 403", r.Status)
	}
}

func TestProblemResponses(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_MAX_BODY_BYTES", "2048"))
	_, admin := env.Tenant(t, "problems")
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"unknown field", "POST", "/v1/keys", `{"name":"x","scopes":["read"],"colour":"red"}`, 422, "invalid", "colour"},
		{"wrong type", "POST", "/v1/keys", `{"name":7,"scopes":["read"]}`, 422, "invalid", "name"},
		{"unknown scope", "POST", "/v1/keys", `{"name":"x","scopes":["root"]}`, 422, "invalid", "scopes[0]"},
		{"malformed json", "POST", "/v1/keys", `{"name":`, 400, "malformed_request", ""},
		{"trailing data", "POST", "/v1/keys", `{"name":"x","scopes":["read"]} {}`, 400, "malformed_request", ""},
		{"empty body", "POST", "/v1/keys", ``, 400, "malformed_request", ""},
		{"too large", "POST", "/v1/keys", `{"name":"` + strings.Repeat("x", 4096) + `","scopes":["read"]}`, 413, "too_large", ""},
		{"bad limit", "GET", "/v1/keys?limit=0", nil, 422, "invalid", "limit"},
		{"bad cursor", "GET", "/v1/keys?cursor=bm9wZQ", nil, 422, "invalid", "cursor"},
		{"no route", "GET", "/v1/nothing-here", nil, 404, "not_found", ""},
		{"bad method", "PUT", "/v1/keys", nil, 405, "method_not_allowed", ""},
		{"past expiry", "POST", "/v1/keys", `{"name":"x","scopes":["read"],"expires_at":"2001-01-01T00:00:00Z"}`, 422, "invalid", "expires_at"},
		{"bad tenant name", "POST", "/v1/tenants", `{"name":"Has Spaces"}`, 422, "invalid", "name"},
	}
	for _, c := range cases {
		cred := admin
		if c.path == "/v1/tenants" {
			cred = env.PlatformKey
		}
		r := env.Do(t, c.method, c.path, cred, c.body)
		if r.Status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			continue
		}
		p := r.Problem(t)
		if p["code"] != c.code {
			t.Errorf("%s: code %v, want %s", c.name, p["code"], c.code)
		}
		if c.field != "" {
			errs, _ := p["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["field"] != c.field {
				t.Errorf("%s: errors %v, want field %s", c.name, p["errors"], c.field)
			}
		}
		if p["request_id"] != r.Header.Get("X-Request-Id") {
			t.Errorf("%s: request_id %v differs from header %s", c.name, p["request_id"], r.Header.Get("X-Request-Id"))
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "idem")
	body := map[string]any{"name": "ci", "scopes": []string{"read"}}
	first := env.Do(t, "POST", "/v1/keys", admin, body, "Idempotency-Key", "k-1")
	if first.Status != 201 {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	again := env.Do(t, "POST", "/v1/keys", admin, body, "Idempotency-Key", "k-1")
	if again.Status != 201 || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s (replayed=%q), want the first response", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"))
	}
	other := env.Do(t, "POST", "/v1/keys", admin, map[string]any{"name": "other", "scopes": []string{"read"}}, "Idempotency-Key", "k-1")
	if other.Status != http.StatusConflict {
		t.Fatalf("same key, other body: %d, want 409", other.Status)
	}
	var keys struct{ Items []any }
	env.Do(t, "GET", "/v1/keys", admin, nil).JSON(t, &keys)
	if len(keys.Items) != 2 { // the admin key and one "ci" key
		t.Fatalf("%d keys, want 2: the retry must not create another", len(keys.Items))
	}
	// The stored response holds the new key's secret, so it must be sealed.
	owner, err := pgx.Connect(context.Background(), env.PG.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	var stored []byte
	if err := owner.QueryRow(context.Background(), `SELECT body FROM idempotency_keys WHERE key = 'k-1'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "adm_") {
		t.Fatal("the stored idempotent response contains the key in clear")
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	r := env.Do(t, "POST", "/v1/tenants", env.PlatformKey, map[string]any{"name": "slow",
		"rate_limit": map[string]any{"requests_per_second": 0.01, "burst": 3}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var ten struct{ ID string }
	r.JSON(t, &ten)
	r = env.Do(t, "POST", "/v1/tenants/"+ten.ID+"/keys", env.PlatformKey, map[string]any{"name": "a", "scopes": []string{"read"}})
	var k struct{ Key string }
	r.JSON(t, &k)
	for i := 0; i < 3; i++ {
		r := env.Do(t, "GET", "/v1/me", k.Key, nil)
		if r.Status != 200 {
			t.Fatalf("request %d: %d", i+1, r.Status)
		}
		if r.Header.Get("RateLimit-Limit") != "3" || r.Header.Get("RateLimit-Remaining") == "" {
			t.Fatalf("rate limit headers: %v", r.Header)
		}
	}
	r = env.Do(t, "GET", "/v1/me", k.Key, nil)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("4th request: %d headers %v", r.Status, r.Header)
	}
	if p := r.Problem(t); p["code"] != "rate_limited" {
		t.Fatalf("problem %v", p)
	}
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "audited")
	id, _ := env.Key(t, admin, "read")
	env.Do(t, "DELETE", "/v1/keys/"+id, admin, nil)
	var list struct {
		Items []struct {
			Action, TargetID string
			Target           string `json:"target_id"`
		}
		NextCursor string `json:"next_cursor"`
	}
	r := env.Do(t, "GET", "/v1/audit?limit=2", admin, nil)
	r.JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].Action != "key.revoked" || list.Items[1].Action != "key.created" || list.Items[0].Target != id {
		t.Fatalf("audit page 1: %s", r.Body)
	}
	if list.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	r = env.Do(t, "GET", "/v1/audit?limit=50&cursor="+list.NextCursor, admin, nil)
	var rest struct{ Items []struct{ Action string } }
	r.JSON(t, &rest)
	actions := []string{}
	for _, e := range rest.Items {
		actions = append(actions, e.Action)
	}
	// The tenant's creation and its admin key's creation by the platform.
	if strings.Join(actions, ",") != "key.created,tenant.created" {
		t.Fatalf("audit page 2 actions %v", actions)
	}
	r = env.Do(t, "GET", "/v1/audit?action=key.revoked", admin, nil)
	r.JSON(t, &rest)
	if len(rest.Items) != 1 {
		t.Fatalf("filtered audit: %s", r.Body)
	}
}

func TestSystemEndpoints(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	for _, p := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		if r := env.Do(t, "GET", p, "", nil); r.Status != 200 {
			t.Errorf("%s: %d %s", p, r.Status, r.Body)
		}
	}
	env.Do(t, "GET", "/v1/me", env.PlatformKey, nil)
	// Metrics span every tenant: only the platform reads them on this port.
	_, admin := env.Tenant(t, "not-platform")
	for _, c := range []struct {
		cred   string
		status int
	}{{"", 401}, {admin, 403}} {
		if r := env.Do(t, "GET", "/metrics", c.cred, nil); r.Status != c.status {
			t.Fatalf("/metrics with credential %v: %d, want %d", c.cred != "", r.Status, c.status)
		}
	}
	r := env.Do(t, "GET", "/metrics", env.PlatformKey, nil)
	if !strings.Contains(string(r.Body), `admem_http_requests_total{method="GET",route="/v1/me",status="200"} 1`) ||
		!strings.Contains(string(r.Body), `admem_http_request_duration_seconds_bucket{method="GET",route="/v1/me"`) {
		t.Fatalf("metrics lack the request: %.3000s", r.Body)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatal("no request id")
	}
	r = env.Do(t, "GET", "/healthz", "", nil, "X-Request-Id", "abc-123")
	if r.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatal("client request id not echoed")
	}
}

func TestTenantPagination(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	for _, n := range []string{"p1", "p2", "p3", "p4"} {
		env.Tenant(t, n)
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		path := "/v1/tenants?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var l struct {
			Items      []struct{ Name string }
			NextCursor string `json:"next_cursor"`
		}
		env.Do(t, "GET", path, env.PlatformKey, nil).JSON(t, &l)
		for _, it := range l.Items {
			if seen[it.Name] {
				t.Fatalf("tenant %s on two pages", it.Name)
			}
			seen[it.Name] = true
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	if len(seen) != 5 { // four plus the platform tenant
		t.Fatalf("saw %d tenants, want 5: %v", len(seen), seen)
	}
}
