package http_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/recall"
	"github.com/admem/admem/internal/trajectories"
)

type recallOut struct {
	RecallID string `json:"recall_id"`
	Items    []struct {
		ID      string  `json:"id"`
		Kind    string  `json:"kind"`
		Source  string  `json:"source"`
		Content string  `json:"content"`
		Score   float64 `json:"score"`
		Tokens  int     `json:"tokens"`
	} `json:"items"`
	Text   string `json:"text"`
	Tokens int    `json:"tokens"`
	Budget int    `json:"budget"`
}

// learnPending applies the tenant's pending outbox events with the worker's
// learner, as the worker would after relaying them.
func learnPending(t *testing.T, env *apitest.Env, tenantID string) {
	t.Helper()
	ctx := context.Background()
	evs, err := env.Infra.DB.PendingEvents(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	h := trajectories.NewLearner().Handler(env.Infra.DB, env.Infra.DB, env.API.Memory)
	for _, ev := range evs {
		if err := h(ctx, ev); err != nil {
			t.Fatalf("learn %s: %v", ev.Type, err)
		}
	}
}

func TestRecallPacksNotesAndProceduresIntoTheBudget(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.Tenant(t, "recall")
	_, reader := env.Key(t, admin, "read")
	otherID, other := env.Tenant(t, "recall-other")

	task := "change the flight of reservation ABC123 to a later date"
	for i, outcome := range []string{"failure", "success"} {
		steps := []map[string]any{{"action": "get_reservation_details", "args": map[string]any{"reservation_id": "ABC123"}}}
		if outcome == "failure" {
			steps = append(steps, map[string]any{"action": "update_reservation_flights", "args": map[string]any{"reservation_id": "ABC123", "cabin": "basic_economy"},
				"error": "Error: basic economy flights cannot be modified"})
		} else {
			steps = append(steps, map[string]any{"action": "update_reservation_flights", "args": map[string]any{"reservation_id": "ABC123", "cabin": "economy"}})
		}
		if r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": task, "outcome": outcome, "steps": steps}); r.Status != 201 {
			t.Fatalf("record %d: %d %s", i, r.Status, r.Body)
		}
	}
	// An unrelated tenant's memory must never show up.
	env.Do(t, "POST", "/v1/trajectories", other, map[string]any{"task": task, "outcome": "failure",
		"steps": []map[string]any{{"action": "update_reservation_flights", "error": "Error: the other tenant's secret"}}})
	learnPending(t, env, tenantID)
	learnPending(t, env, otherID)

	r := env.Do(t, "POST", "/v1/recall", reader, map[string]any{"task": "change reservation ABC123 flight to next week"})
	var rec recallOut
	r.JSON(t, &rec)
	if r.Status != 200 || rec.RecallID == "" || rec.Budget != 1500 {
		t.Fatalf("recall: %d %s", r.Status, r.Body)
	}
	kinds := map[string]bool{}
	for _, it := range rec.Items {
		kinds[it.Kind] = true
		if strings.Contains(it.Content, "secret") {
			t.Fatalf("another tenant's note was recalled: %s", it.Content)
		}
	}
	if !kinds["mistake"] || !kinds["procedure"] {
		t.Fatalf("recall returned %v, want a mistake note and a procedure: %s", kinds, r.Body)
	}
	if !strings.Contains(rec.Text, "Mistakes to avoid:") || !strings.Contains(rec.Text, "Fix:") {
		t.Fatalf("text block: %s", rec.Text)
	}
	if n, _ := recall.CountTokens(rec.Text); n != rec.Tokens || n > rec.Budget {
		t.Fatalf("tokens %d reported, %d counted, budget %d", rec.Tokens, n, rec.Budget)
	}

	// A small budget keeps fewer items and stays under it.
	var small recallOut
	env.Do(t, "POST", "/v1/recall", reader, map[string]any{"task": "change reservation ABC123 flight", "budget": 60}).JSON(t, &small)
	if small.Tokens > 60 || len(small.Items) >= len(rec.Items) {
		t.Fatalf("budget 60: %d tokens, %d items (of %d)", small.Tokens, len(small.Items), len(rec.Items))
	}
	// Kinds filter.
	var onlyNotes recallOut
	env.Do(t, "POST", "/v1/recall", reader, map[string]any{"task": "change reservation ABC123 flight", "kinds": []string{"mistake"}}).JSON(t, &onlyNotes)
	for _, it := range onlyNotes.Items {
		if it.Kind != "mistake" {
			t.Fatalf("kinds=[mistake] returned a %s", it.Kind)
		}
	}
	// Unrelated tasks recall nothing rather than noise.
	var none recallOut
	env.Do(t, "POST", "/v1/recall", reader, map[string]any{"task": "zebra quantum violin"}).JSON(t, &none)
	if len(none.Items) != 0 || none.Tokens != 0 {
		t.Fatalf("unrelated task recalled %s", none.Text)
	}

	// Feedback: a reader cannot give it; another tenant cannot see the recall.
	fb := map[string]any{"outcome": "failure"}
	if r := env.Do(t, "POST", "/v1/recalls/"+onlyNotes.RecallID+"/feedback", reader, fb); r.Status != http.StatusForbidden {
		t.Fatalf("reader feedback: %d", r.Status)
	}
	if r := env.Do(t, "POST", "/v1/recalls/"+onlyNotes.RecallID+"/feedback", other, fb); r.Status != http.StatusNotFound {
		t.Fatalf("other tenant feedback: %d", r.Status)
	}
	// Three failed uses retire the note: it is no longer recalled.
	noteID := onlyNotes.Items[0].ID
	for i := 0; i < 3; i++ {
		var rr recallOut
		env.Do(t, "POST", "/v1/recall", reader, map[string]any{"task": "change reservation ABC123 flight", "kinds": []string{"mistake"}}).JSON(t, &rr)
		if len(rr.Items) == 0 || rr.Items[0].ID != noteID {
			t.Fatalf("use %d: the note was not recalled: %+v", i, rr.Items)
		}
		r := env.Do(t, "POST", "/v1/recalls/"+rr.RecallID+"/feedback", admin, map[string]any{"outcome": "failure", "harmful": []string{noteID}})
		var out struct {
			Updated []learnedOut `json:"updated"`
		}
		r.JSON(t, &out)
		if r.Status != 200 || len(out.Updated) != 1 {
			t.Fatalf("feedback %d: %d %s", i, r.Status, r.Body)
		}
		if again := env.Do(t, "POST", "/v1/recalls/"+rr.RecallID+"/feedback", admin, fb); again.Status != http.StatusConflict {
			t.Fatalf("second feedback: %d", again.Status)
		}
	}
	var after recallOut
	env.Do(t, "POST", "/v1/recall", reader, map[string]any{"task": "change reservation ABC123 flight", "kinds": []string{"mistake"}}).JSON(t, &after)
	for _, it := range after.Items {
		if it.ID == noteID {
			t.Fatal("a retired note is still recalled")
		}
	}
}

func TestRecallBadInput(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "recall-bad")
	cases := []struct {
		name   string
		path   string
		body   any
		status int
	}{
		{"nothing to recall for", "/v1/recall", map[string]any{"task": "  "}, 422},
		{"budget too small", "/v1/recall", map[string]any{"task": "t", "budget": 10}, 422},
		{"budget too large", "/v1/recall", map[string]any{"task": "t", "budget": 1 << 20}, 422},
		{"empty kind", "/v1/recall", map[string]any{"task": "t", "kinds": []string{""}}, 422},
		{"unknown field", "/v1/recall", map[string]any{"task": "t", "k": 1}, 422},
		{"malformed", "/v1/recall", `{"task"`, 400},
		{"feedback to unknown recall", "/v1/recalls/00000000-0000-0000-0000-000000000000/feedback", map[string]any{"outcome": "success"}, 404},
		{"feedback to a non-id", "/v1/recalls/x/feedback", map[string]any{"outcome": "success"}, 404},
		{"feedback bad outcome", "/v1/recalls/00000000-0000-0000-0000-000000000000/feedback", map[string]any{"outcome": "meh"}, 422},
		{"feedback helpful and harmful", "/v1/recalls/00000000-0000-0000-0000-000000000000/feedback",
			map[string]any{"outcome": "success", "helpful": []string{"a"}, "harmful": []string{"a"}}, 422},
	}
	for _, c := range cases {
		r := env.Do(t, "POST", c.path, admin, c.body)
		if r.Status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			continue
		}
		r.Problem(t)
	}
}
