// Package apitest runs the real API (real router, real Postgres, real Redis)
// for tests and benchmarks, and checks every response against openapi.yaml.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/testenv"
	"github.com/admem/admem/internal/wiring"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/prometheus/client_golang/prometheus"
)

// Env is one running API with its own database and Redis prefix.
type Env struct {
	URL         string
	PlatformKey string
	HTTP        *http.Client // validates every response against openapi.yaml
	Client      *client.ClientWithResponses
	API         *wiring.API
	Infra       *wiring.Infra
	Config      config.Config
	PG          testenv.Postgres

	workerOnce *sync.Once
}

// Option adjusts the configuration before the API starts.
type Option func(map[string]string)

// WithEnv sets one configuration variable.
func WithEnv(k, v string) Option { return func(m map[string]string) { m[k] = v } }

// New starts the API for t and bootstraps its platform key.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	pg := testenv.DB(t)
	redisURL, prefix := testenv.Redis(t)
	vars := map[string]string{
		"ADMEM_DATABASE_URL":         pg.AppURL,
		"ADMEM_MIGRATE_DATABASE_URL": pg.OwnerURL,
		"ADMEM_REDIS_URL":            redisURL,
		"ADMEM_REDIS_PREFIX":         prefix,
		"ADMEM_JWT_SECRET":           "test-secret-test-secret-test-secret-0123",
		"ADMEM_DB_MAX_CONNS":         "8",
		"ADMEM_RATE_LIMIT_RPS":       "100000",
		"ADMEM_RATE_LIMIT_BURST":     "100000",
		"ADMEM_AUTH_FAIL_RPS":        "100000",
		"ADMEM_AUTH_FAIL_BURST":      "100000",
		// Tests share two cores under the race detector: a Redis call that
		// takes 50 ms there is load, not an outage.
		"ADMEM_REDIS_REQUEST_TIMEOUT": "5s",
	}
	for _, o := range opts {
		o(vars)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("apitest: config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx := context.Background()
	infra, err := wiring.Open(ctx, cfg, log)
	if err != nil {
		t.Fatalf("apitest: open: %v", err)
	}
	api := wiring.NewAPI(cfg, infra, log, prometheus.NewRegistry())
	key, created, err := api.Tenancy.Bootstrap(ctx)
	if err != nil || !created {
		t.Fatalf("apitest: bootstrap: created=%v err=%v", created, err)
	}
	srv := httptest.NewUnstartedServer(api.Server)
	srv.Listener = api.Server.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		api.Close()
		infra.Close()
	})
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &Validator{T: t, Base: http.DefaultTransport}}
	c, err := client.NewClientWithResponses(srv.URL, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return &Env{URL: srv.URL, PlatformKey: key, HTTP: hc, Client: c, API: api, Infra: infra, Config: cfg, PG: pg, workerOnce: &sync.Once{}}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Auth returns a client request editor that sends cred as a bearer credential.
func Auth(cred string) client.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+cred)
		return nil
	}
}

// Response is a decoded HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Problem decodes a problem+json body.
func (r Response) Problem(t testing.TB) map[string]any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want problem+json; body %s", ct, r.Body)
	}
	var p map[string]any
	r.JSON(t, &p)
	return p
}

// Do sends one request with cred (empty for none) and body (nil, []byte,
// string, or a value to encode as JSON).
func (e *Env) Do(t testing.TB, method, path, cred string, body any, header ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Tenant creates a tenant through the API and an admin key for it.
func (e *Env) Tenant(t testing.TB, name string) (tenantID, adminKey string) {
	t.Helper()
	r := e.Do(t, "POST", "/v1/tenants", e.PlatformKey, map[string]any{"name": name})
	if r.Status != http.StatusCreated {
		t.Fatalf("create tenant %s: %d %s", name, r.Status, r.Body)
	}
	var ten struct{ ID string }
	r.JSON(t, &ten)
	r = e.Do(t, "POST", "/v1/tenants/"+ten.ID+"/keys", e.PlatformKey, map[string]any{"name": "admin", "scopes": []string{"admin"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create admin key: %d %s", r.Status, r.Body)
	}
	var k struct{ Key string }
	r.JSON(t, &k)
	return ten.ID, k.Key
}

// TrustedTenant is Tenant whose admin key is trusted for learning: the
// tenant of one honest agent, whose reports count on their own (as the
// benchmarks' tenants are).
func (e *Env) TrustedTenant(t testing.TB, name string) (tenantID, adminKey string) {
	t.Helper()
	tenantID, adminKey = e.Tenant(t, name)
	var me struct {
		KeyID string `json:"key_id"`
	}
	e.Do(t, "GET", "/v1/me", adminKey, nil).JSON(t, &me)
	if r := e.Do(t, "PUT", "/v1/keys/"+me.KeyID+"/learning-trust", adminKey, map[string]any{"trusted": true}); r.Status != http.StatusOK {
		t.Fatalf("trust the admin key of %s: %d %s", name, r.Status, r.Body)
	}
	return tenantID, adminKey
}

// Key creates a key with scopes in the tenant of adminKey.
func (e *Env) Key(t testing.TB, adminKey string, scopes ...string) (id, key string) {
	t.Helper()
	r := e.Do(t, "POST", "/v1/keys", adminKey, map[string]any{"name": "k-" + strings.Join(scopes, "-"), "scopes": scopes})
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var k struct{ ID, Key string }
	r.JSON(t, &k)
	return k.ID, k.Key
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func spec() (*openapi3.T, routers.Router, error) {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(admem.OpenAPISpec)
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		// Match any host: the test server's address is not the documented one.
		specDoc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(specDoc)
	})
	return specDoc, specRouter, specErr
}

// Validator is an http.RoundTripper that fails the test when a response does
// not match openapi.yaml: an undocumented status, content type, header shape
// or body.
type Validator struct {
	T    testing.TB
	Base http.RoundTripper
}

// RoundTrip sends the request and validates the response.
func (v *Validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := v.Base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := ValidateResponse(req, reqBody, resp.StatusCode, resp.Header, body); err != nil {
		v.T.Errorf("openapi: %s %s → %d: %v\nbody: %.2000s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// ValidateResponse checks one response against openapi.yaml.
func ValidateResponse(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	doc, router, err := spec()
	if err != nil {
		return fmt.Errorf("load spec: %w", err)
	}
	r2 := req.Clone(context.Background())
	r2.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(r2)
	if err != nil {
		// Unrouted paths and methods must still answer with a problem.
		if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
			if !strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") {
				return fmt.Errorf("unrouted request answered with %q, not problem+json", header.Get("Content-Type"))
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				return err
			}
			return doc.Components.Schemas["Problem"].Value.VisitJSON(v)
		}
		return fmt.Errorf("find route: %w", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r2, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

// ValidateProblem checks a body against openapi.yaml's Problem schema.
func ValidateProblem(body []byte) error {
	doc, _, err := spec()
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return doc.Components.Schemas["Problem"].Value.VisitJSON(v)
}
