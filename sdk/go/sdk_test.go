package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	sdk "github.com/admem/admem/sdk/go"
	"github.com/jackc/pgx/v5"
)

// dateFormatError is the booking tool's refusal: a rule the agent does not know.
type dateFormatError struct{ got string }

func (e *dateFormatError) Error() string { return "date must be YYYY-MM-DD, got " + e.got }

func bookTable(_ context.Context, args map[string]any) (any, error) {
	date, _ := args["date"].(string)
	if len(date) != 10 || date[4] != '-' || date[7] != '-' {
		return nil, &dateFormatError{got: date}
	}
	return map[string]any{"booking": fmt.Sprintf("b-%v-%s", args["restaurant_id"], date)}, nil
}

// sleeps records the client's waits between attempts, and waits them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newClient(t *testing.T, env *apitest.Env, key string, opts ...sdk.Option) *sdk.Client {
	t.Helper()
	// env.HTTP validates every answer against openapi.yaml.
	c, err := sdk.New(env.URL, key, append([]sdk.Option{sdk.WithHTTPClient(env.HTTP)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEpisodeLearnsFromFailure runs the agent loop twice against the real
// API and worker: the first episode fails on the date format and recovers,
// the worker learns, and the second episode's check warns about the same
// mistake with the fixed call ready, which a guarded tool makes instead.
func TestEpisodeLearnsFromFailure(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.Tenant(t, "sdk-go-episode")
	keyID, key := env.Key(t, admin, "write")
	c := newClient(t, env, key)
	ctx := context.Background()
	// The tenant's one agent: its key is trusted for learning, so what it
	// reports may block and teach fixes.
	if _, err := newClient(t, env, admin).TrustKeyForLearning(ctx, keyID, true); err != nil {
		t.Fatal(err)
	}

	ep := c.Episode("book a table at Luigi for 2 on 2027-03-04", sdk.EpisodeOptions{Scope: sdk.Scope{AgentID: "planner"}})
	if _, err := ep.Recall(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := ep.Record(ctx, sdk.Call{Tool: "find_restaurant", Args: map[string]any{"name": "Luigi"}},
		map[string]any{"restaurant_id": "r-21"}, nil); err != nil {
		t.Fatal(err)
	}
	bad := sdk.Call{Tool: "book_table", Args: map[string]any{"restaurant_id": "r-21", "date": "04/03/2027", "party_size": 2}}
	_, callErr := bookTable(ctx, bad.Args)
	if err := ep.Record(ctx, bad, nil, callErr); err != nil {
		t.Fatal(err)
	}
	good := sdk.Call{Tool: "book_table", Args: map[string]any{"restaurant_id": "r-21", "date": "2027-03-04", "party_size": 2}}
	out, _ := bookTable(ctx, good.Args)
	if err := ep.Record(ctx, good, out, nil); err != nil {
		t.Fatal(err)
	}
	if tr, err := ep.Close(ctx, "success"); err != nil || string(tr.Outcome) != "success" || tr.FailedSteps != 1 {
		t.Fatalf("close: %+v %v", tr, err)
	}
	if fb, err := ep.Feedback(ctx); err != nil || fb == nil || fb.RecallId.String() != ep.RecallID() {
		t.Fatalf("feedback: %+v %v", fb, err)
	}
	tr, err := c.GetTrajectory(ctx, ep.TrajectoryID())
	if err != nil {
		t.Fatal(err)
	}
	if steps := *tr.Steps; len(steps) != 3 || string(steps[1].Status) != "error" ||
		!strings.Contains(*steps[1].Error, "YYYY-MM-DD") || *steps[1].ErrorType != "dateFormatError" {
		t.Fatalf("recorded steps: %+v", steps)
	}

	env.Learn(t, tenantID)

	ep2 := c.Episode("book a table at Chez Anne for 4 on 2027-05-06", sdk.EpisodeOptions{})
	rec, err := ep2.Recall(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Text, "YYYY-MM-DD") {
		t.Fatalf("recall does not carry the lesson: %q", rec.Text)
	}
	chk, err := ep2.Check(ctx, sdk.Call{Tool: "book_table", Args: map[string]any{"restaurant_id": "r-36", "date": "06/05/2027", "party_size": 4}})
	if err != nil {
		t.Fatal(err)
	}
	if chk.Allowed() || chk.Risk < 0.5 || chk.Kind != "deterministic" || len(chk.Notes) == 0 {
		t.Fatalf("the repeated mistake was not flagged: %+v", chk)
	}
	if chk.Suggestion == nil || chk.Suggestion.Tool != "book_table" || chk.Suggestion.Args["date"] != "2027-05-06" ||
		chk.Suggestion.Args["restaurant_id"] != "r-36" {
		t.Fatalf("suggestion is not this call fixed: %+v", chk.Suggestion)
	}
	if !strings.Contains(chk.Message(), "Suggested call instead: book_table(") {
		t.Fatalf("message: %s", chk.Message())
	}

	// A guarded tool makes the suggested call instead; a strict one refuses.
	var dates []string
	tool := func(ctx context.Context, args map[string]any) (any, error) {
		dates = append(dates, args["date"].(string))
		return bookTable(ctx, args)
	}
	strict := ep2.Guarded("book_table", tool, sdk.GuardOptions{OnWarn: "raise", OnBlock: "raise"})
	_, err = strict(ctx, map[string]any{"restaurant_id": "r-36", "date": "06/05/2027", "party_size": 4})
	var flagged *sdk.FlaggedError
	if !errors.As(err, &flagged) || len(dates) != 0 {
		t.Fatalf("strict guarded tool: err %v, calls %v", err, dates)
	}
	book := ep2.Guarded("book_table", tool, sdk.GuardOptions{})
	if _, err := book(ctx, map[string]any{"restaurant_id": "r-36", "date": "06/05/2027", "party_size": 4}); err != nil {
		t.Fatal(err)
	}
	if len(dates) != 1 || dates[0] != "2027-05-06" {
		t.Fatalf("the guarded tool did not take the suggestion: %v", dates)
	}
	if steps := ep2.Steps(); len(steps) != 1 || steps[0].Status != "ok" || steps[0].Args["date"] != "2027-05-06" {
		t.Fatalf("recorded: %+v", steps)
	}
	if _, err := ep2.Close(ctx, "success"); err != nil {
		t.Fatal(err)
	}
	if _, err := ep2.Feedback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecallFeedback(ctx, ep2.RecallID(), sdk.FeedbackRequest{Outcome: "success"}); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("second feedback: %v, want ErrConflict", err)
	}
}

// TestTransientFaultIsAllowed: a tool's 503 is recorded like any failure,
// and guard answers the identical call with kind transient and allow.
func TestTransientFaultIsAllowed(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "sdk-go-transient")
	_, key := env.Key(t, admin, "write")
	c := newClient(t, env, key)
	ctx := context.Background()
	ep := c.Episode("send the weekly report to ops", sdk.EpisodeOptions{})
	call := sdk.Call{Tool: "send_report", Args: map[string]any{"to": "ops"}}
	if err := ep.Record(ctx, call, nil, errors.New("HTTP 503 Service Unavailable: upstream timed out")); err != nil {
		t.Fatal(err)
	}
	chk, err := ep.Check(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if !chk.Transient() || !chk.Allowed() || !strings.Contains(chk.Message(), "retry") {
		t.Fatalf("transient fault: %+v", chk)
	}
	if _, err := ep.Close(ctx, ""); err != nil {
		t.Fatal(err)
	}
}

// TestErrorsAndIdempotency: problem+json answers become *APIError matching
// the status's sentinel, and creates replay under their Idempotency-Key.
func TestErrorsAndIdempotency(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.Tenant(t, "sdk-go-errors")
	_, key := env.Key(t, admin, "write")
	ctx := context.Background()

	_, err := newClient(t, env, "adm_wrong").Me(ctx)
	var apiErr *sdk.APIError
	if !errors.Is(err, sdk.ErrUnauthorized) || !errors.As(err, &apiErr) || apiErr.RequestID == "" || apiErr.Code == "" {
		t.Fatalf("wrong key: %v", err)
	}
	agent := newClient(t, env, key)
	if me, err := agent.Me(ctx); err != nil || me.TenantId.String() != tenantID {
		t.Fatalf("a plain key as bearer credential: %+v %v", me, err)
	}
	if _, err := agent.CreateKey(ctx, "nope", []string{"read"}, ""); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("write key making a key: %v", err)
	}
	if _, err := agent.GetTrajectory(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("missing trajectory: %v", err)
	}
	_, err = agent.RecordTrajectory(ctx, sdk.TrajectoryRequest{Task: "t", Steps: []sdk.Step{{Action: "a", Status: "maybe"}}}, "")
	if !errors.Is(err, sdk.ErrInvalid) || !errors.As(err, &apiErr) || len(apiErr.Errors) == 0 || !strings.Contains(apiErr.Errors[0].Field, "status") {
		t.Fatalf("invalid step status: %v", err)
	}

	ac := newClient(t, env, admin)
	idem := sdk.NewIdempotencyKey()
	k1, err := ac.CreateKey(ctx, "k1", []string{"read"}, idem)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ac.CreateKey(ctx, "k1", []string{"read"}, idem)
	if err != nil || k2.Id != k1.Id {
		t.Fatalf("replayed create: %+v %v", k2, err)
	}
	if _, err := ac.CreateKey(ctx, "k2", []string{"read"}, idem); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("same key, another body: %v", err)
	}
}

// TestRetryAfter: over a tenant's rate limit the client waits the
// Retry-After and succeeds; with no retries it returns ErrRateLimited.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	r := env.Do(t, "POST", "/v1/tenants", env.PlatformKey, map[string]any{"name": "sdk-go-limited",
		"rate_limit": map[string]any{"requests_per_second": 1, "burst": 2}})
	if r.Status != http.StatusCreated {
		t.Fatalf("tenant: %d %s", r.Status, r.Body)
	}
	var ten struct{ ID string }
	r.JSON(t, &ten)
	r = env.Do(t, "POST", "/v1/tenants/"+ten.ID+"/keys", env.PlatformKey, map[string]any{"name": "a", "scopes": []string{"write"}})
	var k struct{ Key string }
	r.JSON(t, &k)
	ctx := context.Background()

	impatient := newClient(t, env, k.Key, sdk.WithRetries(0, time.Minute))
	var limited error
	for i := 0; i < 6 && limited == nil; i++ {
		_, limited = impatient.LearningStatus(ctx)
	}
	var apiErr *sdk.APIError
	if !errors.Is(limited, sdk.ErrRateLimited) || !errors.As(limited, &apiErr) || apiErr.RetryAfter < time.Second {
		t.Fatalf("six requests at a limit of 1/s, burst 2: %v", limited)
	}
	var s sleeps
	patient := newClient(t, env, k.Key, sdk.WithSleep(s.sleep))
	for i := 0; i < 3; i++ {
		if _, err := patient.LearningStatus(ctx); err != nil {
			t.Fatalf("with retries: %v", err)
		}
	}
	if patient.Retries() == 0 {
		t.Fatal("no request waited: the test did not reach the limit")
	}
	for _, d := range s.d {
		if d < 500*time.Millisecond || d > 5*time.Second {
			t.Fatalf("waits %v: not the Retry-After", s.d)
		}
	}
}

// TestRetry503: a request that meets a dead database connection (killed, as
// a restart or failover does) is answered 503 with Retry-After, and the
// client repeats it after that wait.
func TestRetry503(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "sdk-go-503")
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, env.PG.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	var s sleeps
	c := newClient(t, env, admin, sdk.WithSleep(s.sleep))
	retried := false
	for i := 0; i < 5 && !retried; i++ {
		if _, err := c.API.ListTrajectoriesWithResponse(ctx, nil); err != nil { // the pool's connections in use
			t.Fatal(err)
		}
		if _, err := owner.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'admem'`); err != nil {
			t.Fatal(err)
		}
		before := c.Retries()
		r, err := c.API.ListTrajectoriesWithResponse(ctx, nil)
		if err != nil || r.StatusCode() != http.StatusOK {
			t.Fatalf("after killed connections: %v %v", err, r)
		}
		retried = c.Retries() > before
	}
	if !retried {
		t.Fatal("no request met a killed connection: the test tested nothing")
	}
	for _, d := range s.d {
		if d < time.Second {
			t.Fatalf("waits %v: not the 503's Retry-After", s.d)
		}
	}
}

// TestNoAnswer: a request that got no answer is repeated only when that
// cannot do its work twice.
func TestNoAnswer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var s sleeps
	c, err := sdk.New("http://"+addr, "adm_x", sdk.WithRetries(2, time.Minute), sdk.WithSleep(s.sleep))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var te *sdk.TransportError
	if _, err := c.Me(ctx); !errors.As(err, &te) || len(s.d) != 2 {
		t.Fatalf("GET: %v after %d waits, want a TransportError after 2", err, len(s.d))
	}
	s.d = nil
	const id = "0b7e4f0e-6f5c-4c8e-9d5a-2f1c3b4a5d6e"
	if _, err := c.RecallFeedback(ctx, id, sdk.FeedbackRequest{Outcome: "success"}); !errors.As(err, &te) || len(s.d) != 0 {
		t.Fatalf("POST without Idempotency-Key: %v after %d waits, want no repeat", err, len(s.d))
	}
	if _, err := c.CloseTrajectory(ctx, id, "", ""); !errors.As(err, &te) || len(s.d) != 2 {
		t.Fatalf("create with an Idempotency-Key: %v after %d waits, want 2", err, len(s.d))
	}
	// An id that is not a UUID could only be a 404: it is said without a request.
	if _, err := c.GetTrajectory(ctx, "x"); !errors.Is(err, sdk.ErrNotFound) || errors.As(err, &te) {
		t.Fatalf("a trajectory id that is not a UUID: %v, want ErrNotFound without a request", err)
	}
}
