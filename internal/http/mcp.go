package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The MCP server at /mcp (streamable HTTP, stateless: any API replica
// answers any request). Each tool is one call of the REST API made in
// process with the MCP request's own credential, so a tool sees exactly what
// the route sees: the same keys and scopes (remember, record_step,
// finish_task and feedback need write; the others read), the same rate
// limits, validation against openapi.yaml, idempotency and errors. An API
// error comes back as a tool result with isError set and the problem's text,
// which a model can read and act on; it is not a protocol error.

// mcpVersion is the server version MCP clients see.
const mcpVersion = "0.1.0"

func (s *Server) mcpHandler() http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "admem", Title: "admem memory", Version: mcpVersion}, &mcp.ServerOptions{
		Instructions: "admem is the agent's memory that learns from failure. Before a task, call recall and " +
			"put its text into your context. Before each tool call, call check_action: on warn, prefer its " +
			"suggestion; on block, do not make the call. After each tool call, call record_step with the result " +
			"or the error. At the end, call finish_task with the outcome, then feedback on the recall.",
	})
	no := false
	read := &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: &no}
	add := &mcp.ToolAnnotations{DestructiveHint: &no, IdempotentHint: false, OpenWorldHint: &no}
	once := &mcp.ToolAnnotations{DestructiveHint: &no, IdempotentHint: true, OpenWorldHint: &no}

	mcp.AddTool(srv, &mcp.Tool{Name: "remember", Title: "Remember a fact", Annotations: add,
		Description: "Store a fact in factual memory (a user's preference, an API fact, a product detail). " +
			"The memory decides whether it is new, updates an entry with the same key, or is already known."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpRemember) (*mcp.CallToolResult, any, error) {
			body := map[string]any{"content": in.Content}
			setIf(body, "kind", in.Kind)
			setIf(body, "key", in.Key)
			if len(in.Tags) > 0 {
				body["tags"] = in.Tags
			}
			if scope := scopeOf(in.AgentID, in.UserID, in.SessionID); scope != nil {
				body["scope"] = scope
			}
			return s.mcpCall(ctx, req, http.MethodPost, "/v1/entries", body, true)
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "search_memory", Title: "Search memory", Annotations: read,
		Description: "Search factual memory (lexical and vector search, fused) and return the best entries."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpSearch) (*mcp.CallToolResult, any, error) {
			body := map[string]any{"query": in.Query}
			if in.Limit > 0 {
				body["limit"] = in.Limit
			}
			return s.mcpCall(ctx, req, http.MethodPost, "/v1/entries/search", body, false)
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "recall", Title: "Recall for a task", Annotations: read,
		Description: "Before a task: the mistakes to avoid, the procedures that worked and the facts that matter, " +
			"as `text` ready to put into the context, within a token budget. Keep `recall_id` for feedback."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpRecall) (*mcp.CallToolResult, any, error) {
			body := map[string]any{"task": in.Task}
			setIf(body, "context", in.Context)
			if in.Budget > 0 {
				body["budget"] = in.Budget
			}
			if scope := scopeOf(in.AgentID, in.UserID, in.SessionID); scope != nil {
				body["scope"] = scope
			}
			return s.mcpCall(ctx, req, http.MethodPost, "/v1/recall", body, false)
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "check_action", Title: "Check a tool call before making it", Annotations: read,
		Description: "Before a tool call: does it repeat a known mistake? The answer's decision is allow, warn or block, " +
			"with the failure risk, the mistake notes it matches and, when known, a suggestion: the call fixed, ready to make. " +
			"On warn prefer the suggestion; on block do not make the call. A transient fault is allowed: retry after a wait."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpCheck) (*mcp.CallToolResult, any, error) {
			args := in.Args
			if args == nil {
				args = map[string]any{}
			}
			body := map[string]any{"task": in.Task, "candidates": []map[string]any{{"action": in.Action, "args": args}}}
			if len(in.Context) > 0 {
				body["context"] = in.Context
			}
			return s.mcpCall(ctx, req, http.MethodPost, "/v1/guard", body, false)
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "record_step", Title: "Record a step", Annotations: add,
		Description: "After a tool call: record it with what it returned, or its error. Without trajectory_id it starts " +
			"the task's trajectory (give task) and answers its id; pass that id with every later step and to finish_task. " +
			"A failed step reaches check_action within a second."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpStep) (*mcp.CallToolResult, any, error) {
			step := map[string]any{"action": in.Action, "args": in.Args}
			if in.Args == nil {
				step["args"] = map[string]any{}
			}
			setIf(step, "observation", in.Observation)
			setIf(step, "error", in.Error)
			setIf(step, "error_type", in.ErrorType)
			setIf(step, "status", in.Status)
			if in.TrajectoryID == "" {
				body := map[string]any{"task": in.Task, "open": true, "steps": []any{step}}
				if scope := scopeOf(in.AgentID, in.UserID, in.SessionID); scope != nil {
					body["scope"] = scope
				}
				return s.mcpCall(ctx, req, http.MethodPost, "/v1/trajectories", body, true)
			}
			return s.mcpCall(ctx, req, http.MethodPost, "/v1/trajectories/"+url.PathEscape(in.TrajectoryID)+"/steps",
				map[string]any{"steps": []any{step}}, true)
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "finish_task", Title: "Finish the task", Annotations: once,
		Description: "At the end: close the trajectory with its outcome (success, failure or partial; omit it to let " +
			"the memory judge). The memory learns procedures from successes and mistakes from failures."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpFinish) (*mcp.CallToolResult, any, error) {
			body := map[string]any{}
			setIf(body, "outcome", in.Outcome)
			return s.mcpCall(ctx, req, http.MethodPost, "/v1/trajectories/"+url.PathEscape(in.TrajectoryID)+"/close", body, true)
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "feedback", Title: "Rate a recall", Annotations: once,
		Description: "Rate what recall returned, once, with the task's outcome; name the item ids that helped or misled. " +
			"Items that keep misleading are retired."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpFeedback) (*mcp.CallToolResult, any, error) {
			body := map[string]any{"outcome": in.Outcome}
			if len(in.Helpful) > 0 {
				body["helpful"] = in.Helpful
			}
			if len(in.Harmful) > 0 {
				body["harmful"] = in.Harmful
			}
			setIf(body, "agent_id", in.AgentID)
			return s.mcpCall(ctx, req, http.MethodPost, "/v1/recalls/"+url.PathEscape(in.RecallID)+"/feedback", body, false)
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: s.log, MaxRequestBodyBytes: s.maxBody,
			// The SDK refuses a non-loopback Host on a loopback listener, against
			// DNS rebinding of credential-less local servers. /mcp takes the
			// API's credentials, and an API on loopback behind a reverse proxy
			// sees the public Host: the check would refuse every proxied call.
			DisableLocalhostProtection: true})
}

// The tools' inputs; the SDK derives each tool's input schema from them.
type (
	mcpScope struct {
		AgentID   string `json:"agent_id,omitempty" jsonschema:"the agent acting"`
		UserID    string `json:"user_id,omitempty" jsonschema:"the user the task is for"`
		SessionID string `json:"session_id,omitempty" jsonschema:"the conversation or run"`
	}
	mcpRemember struct {
		Content string   `json:"content" jsonschema:"the fact, in words"`
		Kind    string   `json:"kind,omitempty" jsonschema:"fact (default), preference, profile, ..."`
		Key     string   `json:"key,omitempty" jsonschema:"a stable key: a later fact with the same key updates this one"`
		Tags    []string `json:"tags,omitempty"`
		mcpScope
	}
	mcpSearch struct {
		Query string `json:"query" jsonschema:"what to look for"`
		Limit int    `json:"limit,omitempty" jsonschema:"at most this many entries (default 10)"`
	}
	mcpRecall struct {
		Task    string `json:"task" jsonschema:"the task at hand"`
		Context string `json:"context,omitempty" jsonschema:"the current situation, in words"`
		Budget  int    `json:"budget,omitempty" jsonschema:"token budget of the text (50 to 32000, default 1500)"`
		mcpScope
	}
	mcpCheck struct {
		Task    string           `json:"task" jsonschema:"the task at hand"`
		Action  string           `json:"action" jsonschema:"the tool about to be called"`
		Args    map[string]any   `json:"args,omitempty" jsonschema:"its arguments"`
		Context []map[string]any `json:"context,omitempty" jsonschema:"the latest steps, oldest first, as recorded (action, args, status, error, observation)"`
	}
	mcpStep struct {
		TrajectoryID string         `json:"trajectory_id,omitempty" jsonschema:"the trajectory of the task; omit on the first step"`
		Task         string         `json:"task,omitempty" jsonschema:"the task, on the first step"`
		Action       string         `json:"action" jsonschema:"the tool called"`
		Args         map[string]any `json:"args,omitempty" jsonschema:"its arguments"`
		Observation  string         `json:"observation,omitempty" jsonschema:"what it returned"`
		Error        string         `json:"error,omitempty" jsonschema:"its error text, when it failed"`
		ErrorType    string         `json:"error_type,omitempty" jsonschema:"the error's class, when known"`
		Status       string         `json:"status,omitempty" jsonschema:"ok or error (default: error when error is set)"`
		mcpScope
	}
	mcpFinish struct {
		TrajectoryID string `json:"trajectory_id" jsonschema:"the trajectory record_step answered"`
		Outcome      string `json:"outcome,omitempty" jsonschema:"success, failure or partial; omit to let the memory judge"`
	}
	mcpFeedback struct {
		RecallID string   `json:"recall_id" jsonschema:"the recall_id recall answered"`
		Outcome  string   `json:"outcome" jsonschema:"success, failure or partial"`
		Helpful  []string `json:"helpful,omitempty" jsonschema:"ids of recalled items that helped"`
		Harmful  []string `json:"harmful,omitempty" jsonschema:"ids of recalled items that misled"`
		AgentID  string   `json:"agent_id,omitempty" jsonschema:"the agent giving the feedback"`
	}
)

// mcpCall makes one REST call in process with the MCP request's credential
// and turns its answer into a tool result. create adds an Idempotency-Key,
// as the SDKs do, so the route's replay protection holds.
func (s *Server) mcpCall(ctx context.Context, req *mcp.CallToolRequest, method, path string, body any, create bool) (*mcp.CallToolResult, any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, fmt.Errorf("mcp: encode %s %s: %w", method, path, err)
	}
	r, err := http.NewRequestWithContext(ctx, method, path, bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("mcp: %s %s: %w", method, path, err)
	}
	r.RemoteAddr = "127.0.0.1:0" // in process; the outer request passed the address checks
	r.Header.Set("Content-Type", "application/json")
	if req.Extra != nil {
		for _, h := range []string{"Authorization", "X-API-Key", "X-Request-Id"} {
			if v := req.Extra.Header.Get(h); v != "" {
				r.Header.Set(h, v)
			}
		}
	}
	if create {
		r.Header.Set("Idempotency-Key", "mcp-"+uuid.NewString())
	}
	w := &mcpRecorder{header: http.Header{}}
	s.handler.ServeHTTP(w, r)
	text := strings.TrimSpace(w.body.String())
	res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
	if w.status >= 400 {
		res.IsError = true
		var p Problem
		if json.Unmarshal(w.body.Bytes(), &p) == nil && p.Title != "" {
			msg := fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
			for _, f := range p.Errors {
				msg += fmt.Sprintf(" (%s: %s)", f.Field, f.Reason)
			}
			res.Content = []mcp.Content{&mcp.TextContent{Text: msg}}
		}
		return res, nil, nil
	}
	var structured map[string]any
	if json.Unmarshal(w.body.Bytes(), &structured) == nil {
		res.StructuredContent = structured
	}
	return res, nil, nil
}

// mcpRecorder keeps an in-process answer.
type mcpRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *mcpRecorder) Header() http.Header { return w.header }
func (w *mcpRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *mcpRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func scopeOf(agent, user, session string) map[string]any {
	m := map[string]any{}
	setIf(m, "agent_id", agent)
	setIf(m, "user_id", user)
	setIf(m, "session_id", session)
	if len(m) == 0 {
		return nil
	}
	return m
}
