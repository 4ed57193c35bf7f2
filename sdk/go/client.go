// Package sdk is admem's Go SDK: a client over the generated API client
// (package client) that retries 429 and 503 answers after their Retry-After,
// sends an Idempotency-Key with every create and returns typed errors read
// from problem+json, and an [Episode] that runs the agent loop for one task:
// Recall, Check before each call, Record after it, Close, Feedback.
//
// Import it as
//
//	sdk "github.com/admem/admem/sdk/go"
package sdk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/admem/admem/client"
)

// DefaultURL is the API of the local stack `make run` starts.
const DefaultURL = "http://127.0.0.1:8080"

// Client talks to one admem API with one credential (an API key, which is a
// bearer credential as it is, or an access token).
type Client struct {
	// API is the generated client, with this Client's credential and
	// retries: use it for the routes this package does not wrap.
	API *client.ClientWithResponses

	base string
	key  string
	rt   *retrier
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through hc (its Transport gets the retries
// wrapped around it; its Timeout bounds each attempt).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc.Transport != nil {
			c.rt.base = hc.Transport
		}
		c.rt.timeout = hc.Timeout
	}
}

// WithRetries sets how many times a 429 or 503 (or a request that got no
// answer, when repeating it is safe) is retried (default 4), and the longest
// Retry-After the client will wait; a longer one is returned as the error.
func WithRetries(n int, maxWait time.Duration) Option {
	return func(c *Client) { c.rt.max, c.rt.maxWait = n, maxWait }
}

// WithSleep replaces the wait between attempts (tests record it).
func WithSleep(sleep func(context.Context, time.Duration) error) Option {
	return func(c *Client) { c.rt.sleep = sleep }
}

// New returns a client of the API at baseURL ("" is DefaultURL) with key.
func New(baseURL, key string, opts ...Option) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultURL
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: key, rt: &retrier{
		base: http.DefaultTransport, max: 4, backoff: 250 * time.Millisecond, maxWait: time.Minute, sleep: sleepCtx,
		timeout: 30 * time.Second,
	}}
	for _, o := range opts {
		o(c)
	}
	hc := &http.Client{Transport: c.rt}
	api, err := client.NewClientWithResponses(c.base, client.WithHTTPClient(hc),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			if c.key != "" {
				r.Header.Set("Authorization", "Bearer "+c.key)
			}
			r.Header.Set("User-Agent", "admem-go-sdk/0.1")
			return nil
		}))
	if err != nil {
		return nil, err
	}
	c.API = api
	return c, nil
}

// Retries is how many requests this client has repeated so far.
func (c *Client) Retries() int { return int(c.rt.retries.Load()) }

// NewIdempotencyKey makes a random Idempotency-Key.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "go-" + hex.EncodeToString(b[:])
}

// --- errors ----------------------------------------------------------------

// Sentinels an *APIError matches with errors.Is, by status.
var (
	ErrBadRequest   = errors.New("admem: bad request")
	ErrUnauthorized = errors.New("admem: unauthorized")
	ErrForbidden    = errors.New("admem: forbidden")
	ErrNotFound     = errors.New("admem: not found")
	ErrConflict     = errors.New("admem: conflict")
	ErrTooLarge     = errors.New("admem: payload too large")
	ErrInvalid      = errors.New("admem: invalid")
	ErrRateLimited  = errors.New("admem: rate limited")
	ErrUnavailable  = errors.New("admem: unavailable")
)

var sentinels = map[int]error{400: ErrBadRequest, 401: ErrUnauthorized, 403: ErrForbidden, 404: ErrNotFound,
	409: ErrConflict, 413: ErrTooLarge, 422: ErrInvalid, 429: ErrRateLimited, 503: ErrUnavailable}

// FieldError names an offending field of a request.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// APIError is an error answer, read from its problem+json body.
type APIError struct {
	Status     int
	Code       string // admem's stable error code
	Title      string
	Detail     string
	RequestID  string
	Errors     []FieldError
	RetryAfter time.Duration // from Retry-After, on 429 and 503
}

func (e *APIError) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	s := fmt.Sprintf("admem: %d %s: %s", e.Status, e.Code, msg)
	for _, f := range e.Errors {
		s += fmt.Sprintf(" (%s: %s)", f.Field, f.Reason)
	}
	if e.RequestID != "" {
		s += " [request " + e.RequestID + "]"
	}
	return s
}

// Is matches the sentinel of the error's status.
func (e *APIError) Is(target error) bool { return sentinels[e.Status] == target }

// TransportError is a request that got no HTTP answer.
type TransportError struct {
	Method, URL string
	Err         error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("admem: %s %s: %v", e.Method, e.URL, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// ErrorFrom turns an HTTP answer into an *APIError, or nil for a 2xx or 3xx.
// It accepts the generated client's responses' parts (StatusCode(), Body,
// HTTPResponse.Header).
func ErrorFrom(status int, h http.Header, body []byte) error {
	if status < 400 {
		return nil
	}
	var p struct {
		Code      string       `json:"code"`
		Title     string       `json:"title"`
		Detail    string       `json:"detail"`
		RequestID string       `json:"request_id"`
		Errors    []FieldError `json:"errors"`
	}
	_ = json.Unmarshal(body, &p)
	e := &APIError{Status: status, Code: p.Code, Title: p.Title, Detail: p.Detail, RequestID: p.RequestID, Errors: p.Errors}
	if e.Title == "" {
		e.Title = http.StatusText(status)
	}
	if e.RequestID == "" && h != nil {
		e.RequestID = h.Get("X-Request-Id")
	}
	if d, ok := parseRetryAfter(h.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	return e
}

// --- retries ---------------------------------------------------------------

// retrier is the http.RoundTripper under every request: it repeats a 429 or
// 503 after its Retry-After (both mean the request did no work), and a
// request that got no answer when repeating cannot do its work twice (a read,
// PUT, DELETE, or a request with an Idempotency-Key).
type retrier struct {
	base    http.RoundTripper
	max     int
	backoff time.Duration
	maxWait time.Duration
	timeout time.Duration
	sleep   func(context.Context, time.Duration) error
	retries atomic.Int64
}

func (r *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	safe := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodPut ||
		req.Method == http.MethodDelete || req.Header.Get("Idempotency-Key") != "" || readOnlyPOST(req.URL)
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.Body != nil {
			if req.GetBody == nil {
				return nil, fmt.Errorf("admem: cannot repeat %s %s: its body cannot be read again", req.Method, req.URL)
			}
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = b
		}
		resp, err := r.attempt(req)
		if err != nil {
			if !safe || attempt > r.max || req.Context().Err() != nil {
				return nil, &TransportError{Method: req.Method, URL: req.URL.String(), Err: err}
			}
			if err := r.wait(req.Context(), r.backoffFor(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt <= r.max {
			d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			if !ok {
				d = r.backoffFor(attempt)
			}
			if d <= r.maxWait {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				if err := r.wait(req.Context(), d); err != nil {
					return nil, err
				}
				continue
			}
		}
		return resp, nil
	}
}

// attempt sends once, bounded by the per-attempt timeout; the answer's body
// stays readable after attempt returns (the timer is cancelled on Close).
func (r *retrier) attempt(req *http.Request) (*http.Response, error) {
	if r.timeout <= 0 {
		return r.base.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), r.timeout)
	resp, err := r.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error { err := b.ReadCloser.Close(); b.cancel(); return err }

func (r *retrier) wait(ctx context.Context, d time.Duration) error {
	r.retries.Add(1)
	return r.sleep(ctx, d)
}

func (r *retrier) backoffFor(attempt int) time.Duration {
	f := math.Pow(2, float64(attempt-1)) * (0.5 + mrand.Float64())
	return time.Duration(float64(r.backoff) * f)
}

// readOnlyPOST lists the POST routes that change nothing a repeat could
// double: guard, recall (a new recall id at most) and search.
func readOnlyPOST(u *url.URL) bool {
	switch strings.TrimSuffix(u.Path, "/") {
	case "/v1/guard", "/v1/recall", "/v1/entries/search":
		return true
	}
	return false
}

// parseRetryAfter reads delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
