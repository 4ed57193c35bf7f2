package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/admem/admem/client"
	"github.com/google/uuid"
)

const jsonType = "application/json"

// Scope names who a trajectory is about; empty fields are left out.
type Scope struct {
	AgentID   string `json:"agent_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
}

func (s Scope) empty() bool { return s == Scope{} }

// Step is one step as the API stores it: the tool ("action") with its
// arguments, and what came back or the error.
type Step struct {
	Action      string         `json:"action"`
	Args        map[string]any `json:"args,omitempty"`
	Observation string         `json:"observation,omitempty"`
	Error       string         `json:"error,omitempty"`
	ErrorType   string         `json:"error_type,omitempty"`
	Status      string         `json:"status,omitempty"` // ok or error
	DurationMS  *int64         `json:"duration_ms,omitempty"`
}

// TrajectoryRequest records a whole trajectory, or opens a streamed one.
type TrajectoryRequest struct {
	Task     string         `json:"task"`
	Scope    *Scope         `json:"scope,omitempty"`
	Steps    []Step         `json:"steps,omitempty"`
	Outcome  string         `json:"outcome,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Open     bool           `json:"open,omitempty"`
}

// GuardStep is a step of guard's context: a Step's shape plus its index in
// the run.
type GuardStep struct {
	Index       *int           `json:"index,omitempty"`
	Action      string         `json:"action"`
	Args        map[string]any `json:"args,omitempty"`
	Status      string         `json:"status,omitempty"`
	Error       string         `json:"error,omitempty"`
	ErrorType   string         `json:"error_type,omitempty"`
	Observation string         `json:"observation,omitempty"`
}

// RecallRequest asks for what matters to a task.
type RecallRequest struct {
	Task        string   `json:"task,omitempty"`
	Context     string   `json:"context,omitempty"`
	RecentSteps []Step   `json:"recent_steps,omitempty"`
	Scope       *Scope   `json:"scope,omitempty"`
	Kinds       []string `json:"kinds,omitempty"`
	Budget      int      `json:"budget,omitempty"`
}

// FeedbackRequest rates a recall once.
type FeedbackRequest struct {
	Outcome   string   `json:"outcome"`
	Helpful   []string `json:"helpful,omitempty"`
	Harmful   []string `json:"harmful,omitempty"`
	AgentID   string   `json:"agent_id,omitempty"`
	SessionID string   `json:"session_id,omitempty"`
}

func body(v any) (*bytes.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("admem: encode request: %w", err)
	}
	return bytes.NewReader(b), nil
}

// answer turns a generated response into its decoded body or an *APIError.
func answer[T any](hr *http.Response, raw []byte, v *T) (*T, error) {
	if err := ErrorFrom(hr.StatusCode, hr.Header, raw); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("admem: %s %s: unexpected answer %d", hr.Request.Method, hr.Request.URL.Path, hr.StatusCode)
	}
	return v, nil
}

func idem(key string) *string {
	if key == "" {
		key = NewIdempotencyKey()
	}
	return &key
}

// Me says whose the credential is.
func (c *Client) Me(ctx context.Context) (*client.Me, error) {
	r, err := c.API.GetMeWithResponse(ctx)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// CreateTenant makes a tenant (platform key).
func (c *Client) CreateTenant(ctx context.Context, name string, idemKey string) (*client.Tenant, error) {
	b, err := body(map[string]any{"name": name})
	if err != nil {
		return nil, err
	}
	r, err := c.API.CreateTenantWithBodyWithResponse(ctx, &client.CreateTenantParams{IdempotencyKey: idem(idemKey)}, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON201)
}

// CreateTenantKey makes a key in a tenant (platform key); Key is shown once.
func (c *Client) CreateTenantKey(ctx context.Context, tenantID, name string, scopes []string, idemKey string) (*client.CreatedAPIKey, error) {
	id, err := parseID("tenant", tenantID)
	if err != nil {
		return nil, err
	}
	b, err := body(map[string]any{"name": name, "scopes": scopes})
	if err != nil {
		return nil, err
	}
	r, err := c.API.CreateTenantKeyWithBodyWithResponse(ctx, id, &client.CreateTenantKeyParams{IdempotencyKey: idem(idemKey)}, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON201)
}

// CreateKey makes a key in the caller's tenant (admin scope); Key is shown once.
func (c *Client) CreateKey(ctx context.Context, name string, scopes []string, idemKey string) (*client.CreatedAPIKey, error) {
	b, err := body(map[string]any{"name": name, "scopes": scopes})
	if err != nil {
		return nil, err
	}
	r, err := c.API.CreateKeyWithBodyWithResponse(ctx, &client.CreateKeyParams{IdempotencyKey: idem(idemKey)}, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON201)
}

// TrustKeyForLearning marks a key of the caller's tenant trusted for
// learning, or not (admin scope). What one key reports can make guard warn;
// blocking and suggested fixes need independent sources (the tenant's
// learning_quorum) or a trusted key. A tenant with one honest agent trusts
// that agent's key.
func (c *Client) TrustKeyForLearning(ctx context.Context, keyID string, trusted bool) (*client.APIKey, error) {
	id, err := parseID("key", keyID)
	if err != nil {
		return nil, err
	}
	r, err := c.API.SetKeyLearningTrustWithResponse(ctx, id, client.SetKeyLearningTrustJSONRequestBody{Trusted: trusted})
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// RecordTrajectory stores a trajectory, or opens a streamed one (Open).
func (c *Client) RecordTrajectory(ctx context.Context, req TrajectoryRequest, idemKey string) (*client.Trajectory, error) {
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	r, err := c.API.RecordTrajectoryWithBodyWithResponse(ctx, &client.RecordTrajectoryParams{IdempotencyKey: idem(idemKey)}, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON201)
}

// AppendSteps adds steps to an open trajectory.
func (c *Client) AppendSteps(ctx context.Context, trajectoryID string, steps []Step, idemKey string) (*client.AppendedSteps, error) {
	id, err := parseID("trajectory", trajectoryID)
	if err != nil {
		return nil, err
	}
	b, err := body(map[string]any{"steps": steps})
	if err != nil {
		return nil, err
	}
	r, err := c.API.AppendStepsWithBodyWithResponse(ctx, id, &client.AppendStepsParams{IdempotencyKey: idem(idemKey)}, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// CloseTrajectory ends an open trajectory; outcome "" lets the judge score it.
func (c *Client) CloseTrajectory(ctx context.Context, trajectoryID, outcome, idemKey string) (*client.Trajectory, error) {
	id, err := parseID("trajectory", trajectoryID)
	if err != nil {
		return nil, err
	}
	req := map[string]any{}
	if outcome != "" {
		req["outcome"] = outcome
	}
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	r, err := c.API.CloseTrajectoryWithBodyWithResponse(ctx, id, &client.CloseTrajectoryParams{IdempotencyKey: idem(idemKey)}, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// GetTrajectory returns a trajectory with its steps.
func (c *Client) GetTrajectory(ctx context.Context, trajectoryID string) (*client.Trajectory, error) {
	id, err := parseID("trajectory", trajectoryID)
	if err != nil {
		return nil, err
	}
	r, err := c.API.GetTrajectoryWithResponse(ctx, id)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// Recall returns the mistakes, procedures and facts that matter for a task.
func (c *Client) Recall(ctx context.Context, req RecallRequest) (*client.RecallResult, error) {
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	r, err := c.API.RecallWithBodyWithResponse(ctx, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// RecallFeedback rates a recall once (a second time is ErrConflict).
func (c *Client) RecallFeedback(ctx context.Context, recallID string, req FeedbackRequest) (*client.RecallFeedbackResult, error) {
	id, err := parseID("recall", recallID)
	if err != nil {
		return nil, err
	}
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	r, err := c.API.RecallFeedbackWithBodyWithResponse(ctx, id, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// Guard asks whether candidate calls repeat a known mistake.
func (c *Client) Guard(ctx context.Context, task string, candidates []Call, context []GuardStep) (*client.GuardResponse, error) {
	type wireCall struct {
		Action string         `json:"action"`
		Args   map[string]any `json:"args"`
	}
	calls := make([]wireCall, len(candidates))
	for i, c := range candidates {
		calls[i] = wireCall{Action: c.Tool, Args: c.Args}
	}
	b, err := body(map[string]any{"task": task, "candidates": calls, "context": context})
	if err != nil {
		return nil, err
	}
	r, err := c.API.CheckGuardWithBodyWithResponse(ctx, jsonType, b)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// LearningStatus says whether the worker has caught up with the tenant's events.
func (c *Client) LearningStatus(ctx context.Context) (*client.LearningStatus, error) {
	r, err := c.API.GetLearningStatusWithResponse(ctx)
	if err != nil {
		return nil, err
	}
	return answer(r.HTTPResponse, r.Body, r.JSON200)
}

// WaitForLearning polls LearningStatus until none of the tenant's events is
// pending, or ctx ends.
func (c *Client) WaitForLearning(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	for {
		st, err := c.LearningStatus(ctx)
		if err != nil {
			return err
		}
		if st.PendingEvents == 0 {
			return nil
		}
		if err := sleepCtx(ctx, poll); err != nil {
			return fmt.Errorf("admem: %d events still pending: %w", st.PendingEvents, err)
		}
	}
}

// parseID reads a resource id for a path: the API's ids are UUIDs, so
// anything else could only be a 404.
func parseID(what, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("admem: %s id %q is not a UUID: %w", what, s, ErrNotFound)
	}
	return id, nil
}
