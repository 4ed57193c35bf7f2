package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearer sends every request with one credential.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func mcpSession(t *testing.T, env *apitest.Env, key string) (*mcp.ClientSession, error) {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "admem-test", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: env.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer(key)}}
	s, err := c.Connect(context.Background(), tr, nil)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// call calls a tool and returns its structured answer, or its error text
// when the tool said isError.
func call(t *testing.T, s *mcp.ClientSession, name string, args map[string]any) (map[string]any, string) {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError {
		return nil, text
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatalf("%s: the answer is not JSON: %v: %s", name, err, text)
	}
	return out, ""
}

// TestMCPSession drives the whole agent loop through a real MCP client
// session over HTTP: remember and search, record a failing step and its
// recovery, learn, recall the lesson, and get warned before the repeat.
func TestMCPSession(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenantID, admin := env.TrustedTenant(t, "mcp")
	_, reader := env.Key(t, admin, "read")

	if _, err := mcpSession(t, env, "adm_wrong"); err == nil {
		t.Fatal("an MCP session with a wrong key connected")
	}
	s, err := mcpSession(t, env, admin)
	if err != nil {
		t.Fatal(err)
	}

	tools, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	for _, tl := range tools.Tools {
		byName[tl.Name] = tl
	}
	for name, readOnly := range map[string]bool{"remember": false, "search_memory": true, "recall": true, "check_action": true,
		"record_step": false, "finish_task": false, "feedback": false} {
		tl := byName[name]
		if tl == nil || tl.Annotations == nil || tl.Description == "" {
			t.Fatalf("tool %s missing, or without annotations or description: %+v", name, tl)
		}
		if tl.Annotations.ReadOnlyHint != readOnly {
			t.Errorf("%s: readOnlyHint %v, want %v", name, tl.Annotations.ReadOnlyHint, readOnly)
		}
		if !readOnly && (tl.Annotations.DestructiveHint == nil || *tl.Annotations.DestructiveHint) {
			t.Errorf("%s: a tool that only adds must say destructiveHint false", name)
		}
	}

	if out, msg := call(t, s, "remember", map[string]any{"content": "Luigi's closes on Mondays", "key": "luigi-hours", "user_id": "u1"}); msg != "" {
		t.Fatalf("remember: %s", msg)
	} else if out["operation"] == nil {
		t.Fatalf("remember answered no operation: %v", out)
	}
	if out, msg := call(t, s, "search_memory", map[string]any{"query": "when is Luigi's closed"}); msg != "" || !strings.Contains(jsonText(out), "Mondays") {
		t.Fatalf("search_memory did not find the fact: %v %s", out, msg)
	}

	first, msg := call(t, s, "record_step", map[string]any{"task": "book a table at Luigi for 2 on 2027-03-04", "action": "book_table",
		"args": map[string]any{"restaurant_id": "r-21", "date": "04/03/2027"}, "error": "DateFormatError: date must be YYYY-MM-DD, got 04/03/2027",
		"error_type": "DateFormatError"})
	if msg != "" {
		t.Fatalf("record_step (first): %s", msg)
	}
	trajID, _ := first["id"].(string)
	if trajID == "" || first["open"] != true {
		t.Fatalf("record_step did not open a trajectory: %v", first)
	}
	if _, msg := call(t, s, "record_step", map[string]any{"trajectory_id": trajID, "action": "book_table",
		"args": map[string]any{"restaurant_id": "r-21", "date": "2027-03-04"}, "observation": `{"booking":"b-1"}`}); msg != "" {
		t.Fatalf("record_step (second): %s", msg)
	}
	if out, msg := call(t, s, "finish_task", map[string]any{"trajectory_id": trajID, "outcome": "success"}); msg != "" || out["outcome"] != "success" {
		t.Fatalf("finish_task: %v %s", out, msg)
	}
	env.Learn(t, tenantID)

	rec, msg := call(t, s, "recall", map[string]any{"task": "book a table at Chez Anne for 4 on 2027-05-06"})
	if msg != "" || !strings.Contains(rec["text"].(string), "YYYY-MM-DD") {
		t.Fatalf("recall did not bring the lesson: %v %s", rec, msg)
	}
	chk, msg := call(t, s, "check_action", map[string]any{"task": "book a table at Chez Anne for 4 on 2027-05-06", "action": "book_table",
		"args": map[string]any{"restaurant_id": "r-36", "date": "06/05/2027"}})
	if msg != "" {
		t.Fatalf("check_action: %s", msg)
	}
	res := chk["results"].([]any)[0].(map[string]any)
	if d := res["decision"]; d != "warn" && d != "block" {
		t.Fatalf("check_action did not flag the repeated mistake: %v", res)
	}
	recallID := rec["recall_id"].(string)
	if _, msg := call(t, s, "feedback", map[string]any{"recall_id": recallID, "outcome": "success"}); msg != "" {
		t.Fatalf("feedback: %s", msg)
	}
	if _, msg := call(t, s, "feedback", map[string]any{"recall_id": recallID, "outcome": "success"}); !strings.Contains(msg, "409") {
		t.Fatalf("a second feedback: %q, want a 409 as the tool's error", msg)
	}

	// Bad input is the API's problem, as a tool error, never a 500.
	if _, msg := call(t, s, "finish_task", map[string]any{"trajectory_id": "not-an-id"}); !strings.Contains(msg, "404") {
		t.Fatalf("finish_task with a bad id: %q, want a 404", msg)
	}
	if _, msg := call(t, s, "recall", map[string]any{"task": "x", "budget": 5}); !strings.Contains(msg, "422") || !strings.Contains(msg, "budget") {
		t.Fatalf("recall with a budget under the minimum: %q, want a 422 naming budget", msg)
	}

	// The same scopes as the REST API: a read key may recall, not write.
	rs, err := mcpSession(t, env, reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, msg := call(t, rs, "recall", map[string]any{"task": "book a table"}); msg != "" {
		t.Fatalf("recall with a read key: %s", msg)
	}
	if _, msg := call(t, rs, "remember", map[string]any{"content": "x"}); !strings.Contains(msg, "403") {
		t.Fatalf("remember with a read key: %q, want a 403", msg)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
