package http_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/recall"
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
		Trust   string  `json:"trust"`
	} `json:"items"`
	Text   string `json:"text"`
	Tokens int    `json:"tokens"`
	Budget int    `json:"budget"`
}

// learnPending applies the tenant's pending outbox events with the worker's
// learning pass, as the worker would after relaying them.
func learnPending(t *testing.T, env *apitest.Env, tenantID string) {
	t.Helper()
	env.LearnPending(t, tenantID)
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
			// The agent's own recovery teaches the fix.
			steps = append(steps, map[string]any{"action": "update_reservation_flights", "args": map[string]any{"reservation_id": "ABC123", "cabin": "basic_economy"},
				"error": "Error: basic economy flights cannot be modified"})
		}
		steps = append(steps, map[string]any{"action": "update_reservation_flights", "args": map[string]any{"reservation_id": "ABC123", "cabin": "economy"}})
		if r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": task, "outcome": "success", "steps": steps}); r.Status != 201 {
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
	// One key untrusted for learning taught it all: recall serves it as
	// unconfirmed, and the note says what fails without the fix.
	if !strings.Contains(rec.Text, "Unconfirmed memory") || strings.Contains(rec.Text, "Fix:") || strings.Contains(rec.Text, "Mistakes to avoid:") {
		t.Fatalf("one untrusted source: want its items unconfirmed and no fix in the text: %s", rec.Text)
	}
	for _, it := range rec.Items {
		if it.Trust != "unverified" {
			t.Fatalf("one untrusted source's item is %s: %s", it.Trust, r.Body)
		}
	}
	// The admin trusts the key: the same memory is served as vouched for.
	var me struct {
		KeyID string `json:"key_id"`
	}
	env.Do(t, "GET", "/v1/me", admin, nil).JSON(t, &me)
	if r := env.Do(t, "PUT", "/v1/keys/"+me.KeyID+"/learning-trust", admin, map[string]any{"trusted": true}); r.Status != 200 {
		t.Fatalf("trust key: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "POST", "/v1/recall", reader, map[string]any{"task": "change reservation ABC123 flight to next week"})
	rec = recallOut{}
	r.JSON(t, &rec)
	if !strings.Contains(rec.Text, "Mistakes to avoid:") || !strings.Contains(rec.Text, "Fix:") || strings.Contains(rec.Text, "Unconfirmed") {
		t.Fatalf("text block: %s", rec.Text)
	}
	for _, it := range rec.Items {
		if it.Source == "learned" && it.Trust != "trusted" {
			t.Fatalf("a trusted key's item is %s: %s", it.Trust, r.Body)
		}
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

// structuredOut is the structured part of a recalled or listed learned item.
type structuredOut struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	Source  string `json:"source"`
	Mistake *struct {
		When         string `json:"when"`
		Tool         string `json:"tool"`
		Doing        string `json:"doing"`
		DoingPattern string `json:"doing_pattern"`
		FailsWith    struct {
			SignatureID     string `json:"signature_id"`
			ErrorClass      string `json:"error_class"`
			MessageTemplate string `json:"message_template"`
		} `json:"fails_with"`
		Seen       int `json:"seen"`
		Correction *struct {
			Kind, Instead, Do, Text string
			Support                 int
			TrajectoryID            string `json:"trajectory_id"`
		} `json:"correction"`
		TrajectoryIDs []string `json:"trajectory_ids"`
	} `json:"mistake"`
	Procedure *struct {
		TaskPattern string `json:"task_pattern"`
		Steps       []struct {
			Tool string
			Args map[string]any
		} `json:"steps"`
		Script []struct {
			Tool    string
			Args    map[string]any
			Support int
		} `json:"script"`
		Placeholders  []string `json:"placeholders"`
		Support       int      `json:"support"`
		TrajectoryIDs []string `json:"trajectory_ids"`
	} `json:"procedure"`
}

func TestRecallReturnsStructuredNotesAndProcedures(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.TrustedTenant(t, "recall-structured")
	_, reader := env.Key(t, admin, "read")

	task := "change the flight of reservation ABC123 to a later date"
	record := func(outcome, reservation, cabin, errText string) string {
		t.Helper()
		step := map[string]any{"action": "update_reservation_flights", "args": map[string]any{"reservation_id": reservation, "cabin": cabin}}
		steps := []map[string]any{{"action": "get_reservation_details", "args": map[string]any{"reservation_id": reservation}}, step}
		if errText != "" {
			step["error"] = errText
			// The agent recovers in the same trajectory.
			steps = append(steps, map[string]any{"action": "update_reservation_flights", "args": map[string]any{"reservation_id": reservation, "cabin": "economy"}})
		}
		r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": task, "outcome": outcome, "steps": steps})
		if r.Status != 201 {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
		var tr struct {
			ID string `json:"id"`
		}
		r.JSON(t, &tr)
		return tr.ID
	}
	failed := record("failure", "ABC123", "basic_economy", "Error: basic economy flights cannot be modified")
	record("success", "ABC123", "economy", "")
	record("success", "XYZ789", "economy", "")
	learnPending(t, env, tenantID)

	r := env.Do(t, "POST", "/v1/recall", reader, map[string]any{"task": "change reservation ABC123 flight to next week"})
	if r.Status != 200 {
		t.Fatalf("recall: %d %s", r.Status, r.Body)
	}
	var rec struct {
		Items []structuredOut `json:"items"`
	}
	r.JSON(t, &rec)
	var note, proc *structuredOut
	for i, it := range rec.Items {
		switch it.Kind {
		case "mistake":
			note = &rec.Items[i]
		case "procedure":
			proc = &rec.Items[i]
		}
		if (it.Kind == "mistake") != (it.Mistake != nil) || (it.Kind == "procedure") != (it.Procedure != nil) {
			t.Fatalf("item %s of kind %s has the wrong structured form: %s", it.ID, it.Kind, r.Body)
		}
	}
	if note == nil || proc == nil {
		t.Fatalf("want a note and a procedure: %s", r.Body)
	}
	m := note.Mistake
	if m.FailsWith.SignatureID != note.Key || m.FailsWith.ErrorClass == "" || !strings.Contains(m.FailsWith.MessageTemplate, "basic economy flights cannot be modified") {
		t.Errorf("fails_with: %+v (key %s)", m.FailsWith, note.Key)
	}
	if m.Tool != "update_reservation_flights" || !strings.Contains(m.Doing, "basic_economy") || m.Seen != 1 || m.When == "" {
		t.Errorf("mistake: %+v", m)
	}
	if len(m.TrajectoryIDs) != 1 || m.TrajectoryIDs[0] != failed {
		t.Errorf("links %v, want [%s]", m.TrajectoryIDs, failed)
	}
	if c := m.Correction; c == nil || c.Kind != "rewrite" || !strings.Contains(c.Instead, "basic_economy") || !strings.Contains(c.Do, "economy") ||
		c.TrajectoryID != failed {
		t.Errorf("correction: %+v", m.Correction)
	}
	p := proc.Procedure
	if p.TaskPattern != task || p.Support != 2 || len(p.Steps) != 2 || len(p.Script) != 2 || len(p.TrajectoryIDs) != 2 {
		t.Fatalf("procedure: %+v", p)
	}
	if p.Steps[1].Tool != "update_reservation_flights" || p.Steps[1].Args["cabin"] != "economy" {
		t.Errorf("verbatim steps: %+v", p.Steps)
	}
	// The two successes differ in the reservation: it is a placeholder.
	if len(p.Placeholders) != 1 || p.Script[1].Args["reservation_id"] != "{"+p.Placeholders[0]+"}" || p.Script[1].Args["cabin"] != "economy" {
		t.Errorf("script %+v with placeholders %v", p.Script, p.Placeholders)
	}

	// GET /v1/learned serves the same structured items.
	var list struct {
		Items []structuredOut `json:"items"`
	}
	env.Do(t, "GET", "/v1/learned", reader, nil).JSON(t, &list)
	found := 0
	for _, it := range list.Items {
		if it.ID == note.ID && it.Mistake != nil && it.Mistake.FailsWith == m.FailsWith {
			found++
		}
		if it.ID == proc.ID && it.Procedure != nil && len(it.Procedure.Script) == 2 {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("learned list lacks the structured items: %+v", list.Items)
	}
}

func TestFeedbackRatesAndRetiresFacts(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "recall-facts")
	otherTenant, other := env.Tenant(t, "recall-facts-other")
	_ = otherTenant

	w := env.Do(t, "POST", "/v1/entries", admin, map[string]any{"kind": "fact", "content": "Basic economy reservations cannot change their flights"})
	if w.Status != 201 {
		t.Fatalf("write: %d %s", w.Status, w.Body)
	}
	var wr struct {
		Entry struct {
			ID string `json:"id"`
		} `json:"entry"`
	}
	w.JSON(t, &wr)
	factID := wr.Entry.ID
	query := map[string]any{"task": "change the flights of a basic economy reservation", "kinds": []string{"fact"}}

	type entryOut struct {
		ID        string `json:"id"`
		Uses      int    `json:"uses"`
		Successes int    `json:"successes"`
		Status    string `json:"status"`
		Version   int    `json:"version"`
	}
	// A helpful success counts a use and a success; two harmful failures
	// count only uses; the rule that retires learned items (3 uses, ratio
	// below 0.5) then retires the fact.
	steps := []struct {
		fb        map[string]any
		uses, ok  int
		status    string
		versioned bool
	}{
		{map[string]any{"outcome": "success", "helpful": []string{factID}}, 1, 1, "active", false},
		{map[string]any{"outcome": "failure", "harmful": []string{factID}}, 2, 1, "active", false},
		{map[string]any{"outcome": "failure"}, 3, 1, "retired", true},
	}
	for i, s := range steps {
		r := env.Do(t, "POST", "/v1/recall", admin, query)
		var rec recallOut
		r.JSON(t, &rec)
		if r.Status != 200 || len(rec.Items) != 1 || rec.Items[0].ID != factID || rec.Items[0].Source != "entry" {
			t.Fatalf("recall %d: %d %s", i, r.Status, r.Body)
		}
		if r := env.Do(t, "POST", "/v1/recalls/"+rec.RecallID+"/feedback", other, s.fb); r.Status != http.StatusNotFound {
			t.Fatalf("another tenant rated the recall: %d", r.Status)
		}
		r = env.Do(t, "POST", "/v1/recalls/"+rec.RecallID+"/feedback", admin, s.fb)
		var out struct {
			Updated        []learnedOut `json:"updated"`
			UpdatedEntries []entryOut   `json:"updated_entries"`
		}
		r.JSON(t, &out)
		if r.Status != 200 || len(out.Updated) != 0 || len(out.UpdatedEntries) != 1 {
			t.Fatalf("feedback %d: %d %s", i, r.Status, r.Body)
		}
		e := out.UpdatedEntries[0]
		if e.ID != factID || e.Uses != s.uses || e.Successes != s.ok || e.Status != s.status || (e.Version == 2) != s.versioned {
			t.Fatalf("feedback %d: entry %+v, want %d uses, %d successes, %s", i, e, s.uses, s.ok, s.status)
		}
	}
	// Retired: no longer recalled, still there with its history.
	var after recallOut
	env.Do(t, "POST", "/v1/recall", admin, query).JSON(t, &after)
	if len(after.Items) != 0 {
		t.Fatalf("a retired fact is still recalled: %+v", after.Items)
	}
	r := env.Do(t, "GET", "/v1/entries/"+factID+"/versions", admin, nil)
	var vs struct {
		Items []struct {
			Version    int    `json:"version"`
			Status     string `json:"status"`
			Reason     string `json:"reason"`
			Provenance struct {
				Source   string `json:"source"`
				SourceID string `json:"source_id"`
			} `json:"provenance"`
		} `json:"items"`
	}
	r.JSON(t, &vs)
	if r.Status != 200 || len(vs.Items) != 2 || vs.Items[0].Status != "retired" || vs.Items[1].Status != "active" ||
		!strings.HasPrefix(vs.Items[0].Provenance.SourceID, "recall:") || vs.Items[0].Reason == "" {
		t.Fatalf("history: %d %s", r.Status, r.Body)
	}
}

// TestRecallRerankedByTheAdapter: two mistake notes of the same task that
// lexical ranking cannot tell apart; the tenant's adapter, trained on
// trajectories where one of the two actions fails, puts that one first, a
// version trained on the opposite puts the other first, and the tenant's
// use_adapter switch turns it off. Each answer names the adapter it used.
func TestRecallRerankedByTheAdapter(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenantID, admin := env.Tenant(t, "recall-adapter")
	_, reader := env.Key(t, admin, "read")
	_, other := env.Tenant(t, "recall-adapter-other")
	ctx := context.Background()

	task := "book a flight for the user"
	for _, mode := range []string{"fast", "safe"} {
		r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": task, "outcome": "failure", "steps": []map[string]any{
			{"action": "book", "args": map[string]any{"mode": mode}, "error": "Error: booking " + mode + " refused"}}})
		if r.Status != 201 {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
	}
	learnPending(t, env, tenantID)

	type ranked struct {
		AdapterVersion *int   `json:"adapter_version"`
		Adapter        string `json:"adapter"`
		Items          []struct {
			AdapterRisk *float64 `json:"adapter_risk"`
			Mistake     *struct {
				Doing     string `json:"doing"`
				FailsWith struct {
					MessageTemplate string `json:"message_template"`
				} `json:"fails_with"`
			} `json:"mistake"`
		} `json:"items"`
	}
	ask := func(cred string) (ranked, string) {
		t.Helper()
		r := env.Do(t, "POST", "/v1/recall", cred, map[string]any{"task": task, "kinds": []string{"mistake"},
			"recent_steps": []map[string]any{{"action": "search", "args": map[string]any{"mode": "fast"}, "status": "ok"}}})
		var out ranked
		r.JSON(t, &out)
		if r.Status != 200 {
			t.Fatalf("recall: %d %s", r.Status, r.Body)
		}
		if cred == other {
			return out, ""
		}
		// The training data makes mistakes of its own: the two booking
		// notes are what is ranked here.
		kept := out.Items[:0]
		for _, it := range out.Items {
			if it.Mistake != nil && strings.HasPrefix(it.Mistake.FailsWith.MessageTemplate, "booking") {
				kept = append(kept, it)
			}
		}
		out.Items = kept
		if len(out.Items) != 2 || out.Items[0].Mistake == nil {
			t.Fatalf("want both notes: %s", r.Body)
		}
		return out, out.Items[0].Mistake.Doing
	}
	before, _ := ask(reader)
	if before.AdapterVersion != nil || before.Adapter != "none" || before.Items[0].AdapterRisk != nil {
		t.Fatalf("no adapter yet, but recall names %v / %q", before.AdapterVersion, before.Adapter)
	}

	learn := env.API.Learning
	trainer := adapters.NewTrainer(env.Infra.DB, learn.Embedder.ID(), learn.Notifier, adapters.TrainOptions{MinNew: 1},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	observe(t, env, tenantID, trainingData(240, false)...) // book(mode=fast) fails, safe works
	if res, err := trainer.TrainTenant(ctx, tenantID); err != nil || !res.Activated || res.Version.Version != 1 {
		t.Fatalf("training: %+v, %v", res, err)
	}
	if err := learn.Registry.Refresh(ctx, tenantID); err != nil {
		t.Fatal(err)
	}
	v1, first := ask(reader)
	if v1.AdapterVersion == nil || *v1.AdapterVersion != 1 || v1.Adapter != "v1" || v1.Items[0].AdapterRisk == nil {
		t.Fatalf("recall does not name v1: %+v", v1)
	}
	risk := func(r ranked, doing string) float64 {
		t.Helper()
		for _, it := range r.Items {
			if it.Mistake.Doing == doing && it.AdapterRisk != nil {
				return *it.AdapterRisk
			}
		}
		t.Fatalf("no adapter risk for %s: %+v", doing, r.Items)
		return 0
	}
	// The adapter's risk scales each note's score: v1 rates the fast
	// booking riskier than the safe one.
	if risk(v1, "book(mode=fast)") <= risk(v1, "book(mode=safe)") {
		t.Fatalf("v1 (fast fails) rates book fast %.3f, safe %.3f; first %q", risk(v1, "book(mode=fast)"), risk(v1, "book(mode=safe)"), first)
	}
	// Another tenant has no adapter: its recall names none.
	if o, _ := ask(other); o.AdapterVersion != nil || o.Adapter != "none" {
		t.Fatalf("another tenant's recall uses %q", o.Adapter)
	}

	observe(t, env, tenantID, trainingData(600, true)...) // now safe fails and fast works
	res, err := trainer.TrainTenant(ctx, tenantID)
	if err != nil || res.Version.Version != 2 {
		t.Fatalf("second training: %+v, %v", res, err)
	}
	if r := env.Do(t, "POST", "/v1/adapters/2/activate", admin, nil); r.Status != http.StatusOK {
		t.Fatalf("activate v2: %d %s", r.Status, r.Body)
	}
	if err := learn.Registry.Refresh(ctx, tenantID); err != nil {
		t.Fatal(err)
	}
	v2, _ := ask(reader)
	if v2.Adapter != "v2" || risk(v2, "book(mode=safe)") <= risk(v2, "book(mode=fast)") {
		t.Fatalf("v2 (safe fails) rates safe %.3f, fast %.3f, adapter %q", risk(v2, "book(mode=safe)"), risk(v2, "book(mode=fast)"), v2.Adapter)
	}

	// Switched off: no adapter named, no adapter risks.
	if r := env.Do(t, "PUT", "/v1/guard/settings", admin, map[string]any{"warn": 0.5, "block": 0.85, "use_adapter": false}); r.Status != http.StatusOK {
		t.Fatalf("switch off: %d %s", r.Status, r.Body)
	}
	off, _ := ask(reader)
	if off.AdapterVersion != nil || off.Adapter != "none" || off.Items[0].AdapterRisk != nil {
		t.Fatalf("use_adapter false, but recall used %q", off.Adapter)
	}
}
