package http_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/wiring"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

func learningEnv(t *testing.T) *apitest.Env {
	t.Helper()
	return apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", failurestest.WordVectorFile(t)))
}

// traj builds a trajectory; each step is tool, mode, and "" (ok) or an
// error text.
func traj(task string, outcome admem.Outcome, steps ...[3]string) admem.Trajectory {
	t := admem.Trajectory{ID: uuid.NewString(), Task: task, Outcome: outcome}
	for i, s := range steps {
		st := admem.Step{Index: i, Action: s[0], Args: map[string]any{"mode": s[1]}, Status: admem.StepOK}
		if s[2] != "" {
			st.Status, st.Error = admem.StepError, s[2]
		}
		t.Steps = append(t.Steps, st)
	}
	return t
}

// observe records trajectories for the tenant and runs the worker's
// learning pass over their events: mistakes, failure clusters and the
// adapter's labelled steps.
func observe(t *testing.T, env *apitest.Env, tenantID string, ts ...admem.Trajectory) {
	t.Helper()
	in := make([]store.NewTrajectory, len(ts))
	for i, tr := range ts {
		for j := range tr.Steps {
			if tr.Steps[j].Failed() {
				in[i].Signatures = append(in[i].Signatures, signature.FromStep(tr.Steps[j]).ID())
			}
		}
		in[i].Trajectory, in[i].OutcomeSource = tr, admem.OutcomeByAgent
	}
	if _, err := env.Infra.DB.RecordTrajectories(context.Background(), tenantID, in); err != nil {
		t.Fatalf("record: %v", err)
	}
	learnPending(t, env, tenantID)
}

type clusterBody struct {
	ID              string   `json:"id"`
	Tool            string   `json:"tool"`
	Count           int      `json:"count"`
	Label           string   `json:"label"`
	Suppressed      bool     `json:"suppressed"`
	MergedInto      *string  `json:"merged_into"`
	Exemplars       []string `json:"exemplar_trajectory_ids"`
	AffectedActions []struct {
		Action string
		Count  int
	} `json:"affected_actions"`
	MistakeNote *struct {
		Text, Correction, Do string
	} `json:"mistake_note"`
}

func TestFailureClustersAPI(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenantA, adminA := env.Tenant(t, "fail-a")
	_, readA := env.Key(t, adminA, "read")
	_, adminB := env.Tenant(t, "fail-b")

	payErr := "Error: payment method credit_card_4417 not found"
	t1 := traj("book a flight for the user", admem.OutcomeFailure, [3]string{"search", "fast", ""}, [3]string{"book", "fast", payErr})
	t2 := traj("book a flight for the customer", admem.OutcomeSuccess,
		[3]string{"search", "fast", ""}, [3]string{"book", "fast", "Error: payment method credit_card_9121 not found"}, [3]string{"book", "safe", ""})
	t3 := traj("cancel the reservation", admem.OutcomeFailure, [3]string{"cancel", "fast", "Error: reservation ZX91QA is not cancellable"})
	observe(t, env, tenantA, t1, t2, t3)
	learnPending(t, env, tenantA) // redelivered events change nothing

	r := env.Do(t, "GET", "/v1/failures", readA, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var list struct{ Items []clusterBody }
	r.JSON(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("clusters = %d, want 2 (book, cancel): %s", len(list.Items), r.Body)
	}
	byTool := map[string]clusterBody{}
	for _, c := range list.Items {
		byTool[c.Tool] = c
	}
	book, cancel := byTool["book"], byTool["cancel"]
	if book.Count != 2 || cancel.Count != 1 {
		t.Fatalf("counts book=%d cancel=%d, want 2 and 1", book.Count, cancel.Count)
	}
	if len(book.Exemplars) != 2 || book.MistakeNote == nil || book.MistakeNote.Text == "" {
		t.Fatalf("book cluster lacks exemplars or note: %+v", book)
	}
	if book.MistakeNote.Correction == "" || book.MistakeNote.Do == "" {
		t.Fatalf("the in-episode recovery should give a correction: %+v", book.MistakeNote)
	}

	// Label and suppress (admin only, audited); suppressed clusters leave the default list.
	if r := env.Do(t, "PATCH", "/v1/failures/"+cancel.ID, readA, map[string]any{"label": "x"}); r.Status != http.StatusForbidden {
		t.Fatalf("read key patch: %d", r.Status)
	}
	r = env.Do(t, "PATCH", "/v1/failures/"+cancel.ID, adminA, map[string]any{"label": "non-refundable fares", "suppressed": true})
	var upd clusterBody
	r.JSON(t, &upd)
	if r.Status != http.StatusOK || upd.Label != "non-refundable fares" || !upd.Suppressed {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "GET", "/v1/failures", readA, nil)
	r.JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("suppressed cluster still listed: %s", r.Body)
	}
	r = env.Do(t, "GET", "/v1/failures?include_suppressed=true&tool=cancel", readA, nil)
	r.JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != cancel.ID {
		t.Fatalf("filtered list: %s", r.Body)
	}

	// Bad input is a problem, never a 500.
	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"PATCH", "/v1/failures/" + cancel.ID, `{"label":`, http.StatusBadRequest},
		{"PATCH", "/v1/failures/" + cancel.ID, map[string]any{"colour": "red"}, http.StatusUnprocessableEntity},
		{"PATCH", "/v1/failures/" + cancel.ID, map[string]any{}, http.StatusUnprocessableEntity},
		{"PATCH", "/v1/failures/" + cancel.ID, map[string]any{"suppressed": "yes"}, http.StatusUnprocessableEntity},
		{"GET", "/v1/failures/not-a-uuid", nil, http.StatusNotFound},
		{"GET", "/v1/failures/" + uuid.NewString(), nil, http.StatusNotFound},
		{"GET", "/v1/failures?include_merged=maybe", nil, http.StatusUnprocessableEntity},
		{"GET", "/v1/failures?cursor=%21%21", nil, http.StatusUnprocessableEntity},
		{"POST", "/v1/failures/" + book.ID + "/merge", map[string]any{"from": "nope"}, http.StatusUnprocessableEntity},
		{"POST", "/v1/failures/" + book.ID + "/merge", map[string]any{"from": book.ID}, http.StatusUnprocessableEntity},
		{"POST", "/v1/failures/" + book.ID + "/merge", map[string]any{"from": uuid.NewString()}, http.StatusNotFound},
	} {
		r := env.Do(t, c.method, c.path, adminA, c.body)
		if r.Status != c.status {
			t.Errorf("%s %s %v: %d, want %d (%s)", c.method, c.path, c.body, r.Status, c.status, r.Body)
			continue
		}
		r.Problem(t)
	}

	// Tenant isolation: another tenant's clusters do not exist for B.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/failures/" + book.ID}, {"PATCH", "/v1/failures/" + book.ID},
		{"POST", "/v1/failures/" + book.ID + "/merge"}, {"POST", "/v1/failures/" + book.ID + "/split"},
	} {
		var body any
		switch c.method {
		case "PATCH":
			body = map[string]any{"label": "mine"}
		case "POST":
			body = map[string]any{"from": cancel.ID}
			if c.path[len(c.path)-5:] == "split" {
				body = map[string]any{"force": true}
			}
		}
		if r := env.Do(t, c.method, c.path, adminB, body); r.Status != http.StatusNotFound {
			t.Errorf("tenant B %s %s: %d, want 404 (%s)", c.method, c.path, r.Status, r.Body)
		}
	}
	r = env.Do(t, "GET", "/v1/failures?include_suppressed=true", adminB, nil)
	r.JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("tenant B sees A's clusters: %s", r.Body)
	}

	// Split the two-failure cluster (forced: it is coherent), then merge it back.
	r = env.Do(t, "POST", "/v1/failures/"+book.ID+"/split", adminA, map[string]any{})
	if r.Status != http.StatusConflict {
		t.Fatalf("split of a coherent cluster without force: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "POST", "/v1/failures/"+book.ID+"/split", adminA, map[string]any{"force": true})
	var part clusterBody
	r.JSON(t, &part)
	if r.Status != http.StatusCreated || part.Count != 1 {
		t.Fatalf("split: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "POST", "/v1/failures/"+book.ID+"/merge", adminA, map[string]any{"from": part.ID})
	var merged clusterBody
	r.JSON(t, &merged)
	if r.Status != http.StatusOK || merged.Count != 2 {
		t.Fatalf("merge: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "GET", "/v1/failures/"+part.ID, readA, nil)
	var gone clusterBody
	r.JSON(t, &gone)
	if gone.MergedInto == nil || *gone.MergedInto != book.ID {
		t.Fatalf("merged cluster does not point at its target: %s", r.Body)
	}
	if r := env.Do(t, "POST", "/v1/failures/"+book.ID+"/merge", adminA, map[string]any{"from": part.ID}); r.Status != http.StatusConflict {
		t.Fatalf("second merge of the same cluster: %d %s", r.Status, r.Body)
	}

	r = env.Do(t, "GET", "/v1/audit", adminA, nil)
	var audit struct{ Items []struct{ Action string } }
	r.JSON(t, &audit)
	seen := map[string]bool{}
	for _, e := range audit.Items {
		seen[e.Action] = true
	}
	for _, a := range []string{"failure.updated", "failure.split", "failure.merged"} {
		if !seen[a] {
			t.Errorf("audit lacks %s: %s", a, r.Body)
		}
	}
}

type guardBody struct {
	AdapterVersion *int   `json:"adapter_version"`
	Adapter        string `json:"adapter"`
	Results        []struct {
		Tool        string
		Risk        float64
		AdapterRisk *float64 `json:"adapter_risk"`
		NoteRisk    float64  `json:"note_risk"`
		Decision    string
		Reasons     []struct {
			ClusterID string `json:"cluster_id"`
			Note      string
		}
		Suggestion *struct{ Action, Text, Source string }
	}
}

// singleSource lets one source's evidence count in full for the tenant
// (learning_quorum 1): the trajectories these tests record through the
// store name no key, and stand for one honest agent.
func singleSource(t *testing.T, env *apitest.Env, admin string) {
	t.Helper()
	if r := env.Do(t, "PUT", "/v1/learning/settings", admin, map[string]any{"learning_quorum": 1}); r.Status != http.StatusOK {
		t.Fatalf("learning_quorum 1: %d %s", r.Status, r.Body)
	}
}

func guardReq(task string, candidates ...map[string]any) map[string]any {
	return map[string]any{"task": task, "context": []map[string]any{{"action": "search", "args": map[string]any{"mode": "fast"}, "status": "ok"}},
		"candidates": candidates}
}

func TestGuardFromMistakeNotesAlone(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenantA, adminA := env.Tenant(t, "guard-a")
	_, readA := env.Key(t, adminA, "read")
	singleSource(t, env, adminA)
	_, readB := env.Key(t, func() string { _, k := env.Tenant(t, "guard-b"); return k }(), "read")

	req := guardReq("book a flight for the user",
		map[string]any{"action": "book", "args": map[string]any{"mode": "fast"}},
		map[string]any{"action": "cancel", "args": map[string]any{"mode": "fast"}})
	// The same request in the deprecated field names (tool for action).
	legacy := map[string]any{"task": req["task"],
		"context":    []map[string]any{{"tool": "search", "args": map[string]any{"mode": "fast"}, "status": "ok"}},
		"candidates": []map[string]any{{"tool": "book", "args": map[string]any{"mode": "fast"}}, {"tool": "cancel", "args": map[string]any{"mode": "fast"}}}}
	r := env.Do(t, "POST", "/v1/guard", readA, req)
	var g guardBody
	r.JSON(t, &g)
	if r.Status != http.StatusOK || g.AdapterVersion != nil || g.Adapter != "none" || len(g.Results) != 2 {
		t.Fatalf("guard before any failure: %d %s", r.Status, r.Body)
	}
	if g.Results[0].Decision != "allow" || len(g.Results[0].Reasons) != 0 {
		t.Fatalf("nothing is known yet, but guard flagged: %s", r.Body)
	}

	observe(t, env, tenantA, traj("book a flight for the customer", admem.OutcomeSuccess,
		[3]string{"search", "fast", ""}, [3]string{"book", "fast", "Error: payment method credit_card_9121 not found"}, [3]string{"book", "safe", ""}))

	r = env.Do(t, "POST", "/v1/guard", readA, req)
	r.JSON(t, &g)
	if r.Status != http.StatusOK || g.AdapterVersion != nil {
		t.Fatalf("guard: %d %s", r.Status, r.Body)
	}
	book, cancel := g.Results[0], g.Results[1]
	if book.Decision == "allow" || len(book.Reasons) == 0 || book.AdapterRisk != nil {
		t.Fatalf("the repeated mistake was not flagged from its note: %s", r.Body)
	}
	if book.Suggestion == nil || book.Suggestion.Source != "mistake_note" || book.Suggestion.Action == "" {
		t.Fatalf("no suggestion from the note's correction: %s", r.Body)
	}
	if cancel.Decision != "allow" || len(cancel.Reasons) != 0 {
		t.Fatalf("an action of another tool was flagged: %s", r.Body)
	}
	var old guardBody
	if r := env.Do(t, "POST", "/v1/guard", readA, legacy); r.Status != http.StatusOK {
		t.Fatalf("guard in the deprecated field names: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &old)
	}
	if len(old.Results) != 2 || old.Results[0].Decision != book.Decision || old.Results[0].Risk != book.Risk || old.Results[1].Decision != cancel.Decision {
		t.Fatalf("tool (deprecated) and action answered differently: %+v, want %+v", old.Results, g.Results)
	}

	// Another tenant learns nothing from A's failures.
	r = env.Do(t, "POST", "/v1/guard", readB, req)
	r.JSON(t, &g)
	if r.Status != http.StatusOK || g.Results[0].Decision != "allow" || len(g.Results[0].Reasons) != 0 {
		t.Fatalf("tenant B got A's mistake: %s", r.Body)
	}

	// A suppressed cluster is no longer a reason.
	var list struct{ Items []clusterBody }
	env.Do(t, "GET", "/v1/failures", readA, nil).JSON(t, &list)
	env.Do(t, "PATCH", "/v1/failures/"+list.Items[0].ID, adminA, map[string]any{"suppressed": true})
	r = env.Do(t, "POST", "/v1/guard", readA, req)
	r.JSON(t, &g)
	if g.Results[0].Decision != "allow" {
		t.Fatalf("a suppressed cluster still warns: %s", r.Body)
	}

	for _, c := range []struct {
		body   any
		status int
	}{
		{`{"task":`, http.StatusBadRequest},
		{map[string]any{"task": "x", "candidates": []any{}}, http.StatusUnprocessableEntity},
		{map[string]any{"candidates": []any{map[string]any{"tool": "book"}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"tool": ""}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"tool": "book", "args": "fast"}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"tool": "book"}}, "context": []any{map[string]any{"tool": "a", "status": "meh"}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"tool": "book"}}, "extra": 1}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"tool": "book"}}, "context": []any{map[string]any{"tool": "a", "index": -1}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"tool": "book"}}, "context": []any{map[string]any{"tool": "a", "index": "3"}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"tool": "book"}}, "context": []any{map[string]any{"tool": "a", "index": 12}}}, http.StatusOK},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"args": map[string]any{}}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"action": "book", "tool": "cancel"}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"action": "book", "tool": "book"}}}, http.StatusOK},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"action": "book"}}, "context": []any{map[string]any{"status": "ok"}}}, http.StatusUnprocessableEntity},
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"action": ""}}}, http.StatusUnprocessableEntity},
		// A trajectory's step goes into guard's context unchanged.
		{map[string]any{"task": "x", "candidates": []any{map[string]any{"action": "book"}}, "context": []any{map[string]any{"action": "search",
			"args": map[string]any{"q": "x"}, "observation": "3 hits", "status": "ok", "reward": 0.5, "started_at": "2026-12-07T10:00:00Z", "duration_ms": 12}}}, http.StatusOK},
	} {
		r := env.Do(t, "POST", "/v1/guard", readA, c.body)
		if r.Status != c.status {
			t.Errorf("guard %v: %d, want %d (%s)", c.body, r.Status, c.status, r.Body)
			continue
		}
		if c.status != http.StatusOK {
			r.Problem(t)
		}
	}
	if r := env.Do(t, "POST", "/v1/guard", "", req); r.Status != http.StatusUnauthorized {
		t.Fatalf("guard without credentials: %d", r.Status)
	}
}

// replica starts a second API over env's database and Redis, as another
// replica of the same deployment would be.
func replica(t *testing.T, env *apitest.Env) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	infra, err := wiring.Open(context.Background(), env.Config, log)
	if err != nil {
		t.Fatal(err)
	}
	api := wiring.NewAPI(env.Config, infra, log, prometheus.NewRegistry())
	srv := httptest.NewServer(api.Server)
	t.Cleanup(func() { srv.Close(); api.Close(); infra.Close() })
	return srv.URL
}

// trainingData makes n trajectories in which calling book in mode fast
// fails and mode safe works; flip swaps the roles.
func trainingData(n int, flip bool) []admem.Trajectory {
	bad, good := "fast", "safe"
	if flip {
		bad, good = good, bad
	}
	tasks := []string{"book a flight for the user", "book a trip for the customer", "change the seat of the passenger", "update the booking payment"}
	var out []admem.Trajectory
	for i := range n {
		task := tasks[(i/2)%len(tasks)] // every task has failures and successes
		if i%2 == 0 {
			out = append(out, traj(task, admem.OutcomeFailure, [3]string{"search", "fast", ""}, [3]string{"book", bad, "Error: payment method not found"}))
		} else {
			out = append(out, traj(task, admem.OutcomeSuccess, [3]string{"search", "fast", ""}, [3]string{"book", good, ""}))
		}
	}
	return out
}

func TestAdapterHotSwapAndRollback(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenantA, adminA := env.Tenant(t, "adapt-a")
	_, readA := env.Key(t, adminA, "read")
	_, adminB := env.Tenant(t, "adapt-b")
	other := &apitest.Env{URL: replica(t, env), HTTP: env.HTTP}

	learn := env.API.Learning
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	trainer := adapters.NewTrainer(env.Infra.DB, learn.Embedder.ID(), learn.Notifier, adapters.TrainOptions{MinNew: 1}, log)
	ctx := context.Background()

	observe(t, env, tenantA, trainingData(240, false)...)
	res, err := trainer.TrainTenant(ctx, tenantA)
	if err != nil || !res.Activated || res.Version.Version != 1 {
		t.Fatalf("first training: %+v, %v", res, err)
	}
	t.Logf("v1: %d new examples, train %d, held out %d, %v, %q", res.NewExamples, res.TrainN, res.HeldOut, res.Duration, res.Reasons)

	req := guardReq("book a flight for the user", map[string]any{"tool": "book", "args": map[string]any{"mode": "fast"}})
	ask := func(e *apitest.Env) guardBody {
		t.Helper()
		r := e.Do(t, "POST", "/v1/guard", readA, req)
		if r.Status != http.StatusOK {
			t.Fatalf("guard: %d %s", r.Status, r.Body)
		}
		var g guardBody
		r.JSON(t, &g)
		return g
	}
	g1 := ask(other)
	if g1.AdapterVersion == nil || *g1.AdapterVersion != 1 || g1.Results[0].AdapterRisk == nil || g1.Adapter != "v1" {
		t.Fatalf("replica does not use v1: %+v", g1)
	}
	r1 := *g1.Results[0].AdapterRisk
	if r1 < 0.5 {
		t.Fatalf("v1 gives the failing action risk %.3f; it learnt nothing", r1)
	}

	// v2 learns the opposite; whatever the gate says, the admin activates it.
	observe(t, env, tenantA, trainingData(600, true)...)
	res2, err := trainer.TrainTenant(ctx, tenantA)
	if err != nil || res2.Version.Version != 2 {
		t.Fatalf("second training: %+v, %v", res2, err)
	}
	t.Logf("v2: status %s, %q", res2.Version.Status, res2.Reasons)
	if !res2.Activated {
		if r := env.Do(t, "POST", "/v1/adapters/2/activate", adminA, nil); r.Status != http.StatusOK {
			t.Fatalf("activate 2: %d %s", r.Status, r.Body)
		}
	}
	waitVersion := func(e *apitest.Env, want int) guardBody {
		t.Helper()
		// The notification arrives in milliseconds; polling (15 s) is
		// slower than this wait, so passing means pub/sub worked.
		deadline := time.Now().Add(10 * time.Second)
		for {
			g := ask(e)
			if g.AdapterVersion != nil && *g.AdapterVersion == want {
				return g
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica still on %v, want %d", g.Adapter, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	g2 := waitVersion(other, 2)
	if *g2.Results[0].AdapterRisk == r1 {
		t.Fatalf("v2 scores exactly like v1")
	}

	// Rollback to v1 restores v1's exact score, on both replicas.
	r := env.Do(t, "POST", "/v1/adapters/1/activate", adminA, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("rollback: %d %s", r.Status, r.Body)
	}
	for _, e := range []*apitest.Env{env, other} {
		g := waitVersion(e, 1)
		if got := *g.Results[0].AdapterRisk; got != r1 {
			t.Fatalf("after rollback risk = %v, want v1's %v exactly", got, r1)
		}
	}

	// Admin listing and audit.
	r = env.Do(t, "GET", "/v1/adapters", adminA, nil)
	var vl struct {
		Items []struct {
			Version int
			Status  string
			Metrics map[string]any
			Gate    map[string]any
		}
	}
	r.JSON(t, &vl)
	if r.Status != http.StatusOK || len(vl.Items) != 2 || vl.Items[0].Version != 2 || vl.Items[1].Status != "active" || vl.Items[0].Status != "retired" {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if _, ok := vl.Items[1].Metrics["held_out"]; !ok || vl.Items[1].Gate["reasons"] == nil {
		t.Fatalf("version without metrics or gate reasons: %s", r.Body)
	}
	r = env.Do(t, "GET", "/v1/audit?action=adapter.activated", adminA, nil)
	var audit struct{ Items []map[string]any }
	r.JSON(t, &audit)
	if len(audit.Items) < 1 {
		t.Fatalf("activation not audited: %s", r.Body)
	}
	for _, c := range []struct {
		method, path, key string
		status            int
	}{
		{"GET", "/v1/adapters/1", adminA, http.StatusOK},
		{"GET", "/v1/adapters/1", adminB, http.StatusNotFound},
		{"POST", "/v1/adapters/1/activate", adminB, http.StatusNotFound},
		{"GET", "/v1/adapters", readA, http.StatusForbidden},
		{"POST", "/v1/adapters/1/activate", readA, http.StatusForbidden},
		{"GET", "/v1/adapters/abc", adminA, http.StatusNotFound},
		{"GET", "/v1/adapters/0", adminA, http.StatusNotFound},
		{"POST", "/v1/adapters/99/activate", adminA, http.StatusNotFound},
		{"GET", "/v1/adapters?limit=0", adminA, http.StatusUnprocessableEntity},
	} {
		r := env.Do(t, c.method, c.path, c.key, nil)
		if r.Status != c.status {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, r.Status, c.status, r.Body)
		}
		if c.status >= 400 {
			r.Problem(t)
		}
	}
	r = env.Do(t, "GET", "/v1/adapters", adminB, nil)
	r.JSON(t, &vl)
	if len(vl.Items) != 0 {
		t.Fatalf("tenant B sees A's adapters: %s", r.Body)
	}
}

// TestGuardUseAdapterSwitch: an admin turns the tenant's adapter off; guard
// then names no adapter and answers from its failure clusters alone, the
// choice survives a thresholds-only update, and turning it on again brings
// back the active version. Other tenants keep the default.
func TestGuardUseAdapterSwitch(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenantA, adminA := env.Tenant(t, "switch-a")
	_, readA := env.Key(t, adminA, "read")
	tenantB, adminB := env.Tenant(t, "switch-b")
	learn := env.API.Learning
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	trainer := adapters.NewTrainer(env.Infra.DB, learn.Embedder.ID(), learn.Notifier, adapters.TrainOptions{MinNew: 1}, log)
	observe(t, env, tenantA, trainingData(240, false)...)
	if res, err := trainer.TrainTenant(context.Background(), tenantA); err != nil || !res.Activated {
		t.Fatalf("training: %+v, %v", res, err)
	}
	req := guardReq("book a flight for the user", map[string]any{"tool": "book", "args": map[string]any{"mode": "fast"}})
	ask := func() guardBody {
		t.Helper()
		r := env.Do(t, "POST", "/v1/guard", readA, req)
		if r.Status != http.StatusOK {
			t.Fatalf("guard: %d %s", r.Status, r.Body)
		}
		var g guardBody
		r.JSON(t, &g)
		return g
	}
	type settings struct {
		Warn, Block float64
		UseAdapter  *bool `json:"use_adapter"`
	}
	get := func(key string) settings {
		t.Helper()
		var s settings
		env.Do(t, "GET", "/v1/guard/settings", key, nil).JSON(t, &s)
		if s.UseAdapter == nil {
			t.Fatalf("settings without use_adapter: %+v", s)
		}
		return s
	}
	if s := get(readA); !*s.UseAdapter {
		t.Fatalf("default use_adapter = false")
	}
	if g := ask(); g.AdapterVersion == nil || g.Adapter != "v1" || g.Results[0].AdapterRisk == nil {
		t.Fatalf("guard does not use the active adapter: %+v", g)
	}

	if r := env.Do(t, "PUT", "/v1/guard/settings", readA, map[string]any{"warn": 0.5, "block": 0.85, "use_adapter": false}); r.Status != http.StatusForbidden {
		t.Fatalf("read key switches the adapter off: %d", r.Status)
	}
	r := env.Do(t, "PUT", "/v1/guard/settings", adminA, map[string]any{"warn": 0.5, "block": 0.85, "use_adapter": false})
	if r.Status != http.StatusOK {
		t.Fatalf("switch off: %d %s", r.Status, r.Body)
	}
	g := ask()
	if g.AdapterVersion != nil || g.Adapter != "none" || g.Results[0].AdapterRisk != nil {
		t.Fatalf("adapter off, guard still names or uses it: %+v", g)
	}
	if g.Results[0].Decision == "allow" || len(g.Results[0].Reasons) == 0 {
		t.Fatalf("adapter off, guard lost its mistake notes too: %+v", g.Results[0])
	}
	if use, err := env.Infra.DB.UseAdapter(context.Background(), tenantA); err != nil || use {
		t.Fatalf("store UseAdapter = %v, %v; want false", use, err)
	}
	if use, err := env.Infra.DB.UseAdapter(context.Background(), tenantB); err != nil || !use {
		t.Fatalf("tenant B's UseAdapter = %v, %v; want the default true", use, err)
	}
	if s := get(adminB); !*s.UseAdapter {
		t.Fatalf("tenant B's adapter switched off with A's")
	}

	// Thresholds alone keep the switch where it is.
	env.Do(t, "PUT", "/v1/guard/settings", adminA, map[string]any{"warn": 0.4, "block": 0.9})
	if s := get(readA); *s.UseAdapter || s.Warn != 0.4 {
		t.Fatalf("after a thresholds-only update: %+v", s)
	}
	if r := env.Do(t, "PUT", "/v1/guard/settings", adminA, map[string]any{"warn": 0.5, "block": 0.85, "use_adapter": "no"}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("use_adapter \"no\": %d, want 422", r.Status)
	} else {
		r.Problem(t)
	}
	env.Do(t, "PUT", "/v1/guard/settings", adminA, map[string]any{"warn": 0.5, "block": 0.85, "use_adapter": true})
	if g := ask(); g.AdapterVersion == nil || *g.AdapterVersion != 1 {
		t.Fatalf("adapter back on, guard does not use v1: %+v", g)
	}
}

// TestGuardWarnsOnceAStreamedFailureIsLearnt: a failed step appended to a
// streamed trajectory reaches the running worker through its event while
// the trajectory is still open; guard then warns about the same call and
// suggests the agent's own recovery.
func TestGuardWarnsOnceAStreamedFailureIsLearnt(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenantID, admin := env.Tenant(t, "guard-notes")
	agentID, agent := env.Key(t, admin, "write")
	// The tenant's one agent, trusted by its admin: what it alone reports counts.
	if r := env.Do(t, "PUT", "/v1/keys/"+agentID+"/learning-trust", admin, map[string]any{"trusted": true}); r.Status != http.StatusOK {
		t.Fatalf("trust: %d %s", r.Status, r.Body)
	}
	steps := []map[string]any{
		{"action": "search", "args": map[string]any{"mode": "fast"}},
		{"action": "book", "args": map[string]any{"mode": "fast"}, "error": "Error: payment method credit_card_881 not found"},
		{"action": "book", "args": map[string]any{"mode": "safe"}},
	}
	r := env.Do(t, "POST", "/v1/trajectories", agent, map[string]any{"task": "book a flight for the user", "open": true, "steps": steps[:1]})
	if r.Status != http.StatusCreated {
		t.Fatalf("open: %d %s", r.Status, r.Body)
	}
	var tr struct{ ID string }
	r.JSON(t, &tr)
	posted := time.Now()
	r = env.Do(t, "POST", "/v1/trajectories/"+tr.ID+"/steps", agent, map[string]any{"steps": steps[1:]})
	if r.Status >= 300 {
		t.Fatalf("append: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "POST", "/v1/trajectories/"+tr.ID+"/close", agent, map[string]any{"outcome": "success"}); r.Status != http.StatusOK {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	env.Learn(t, tenantID)
	r = env.Do(t, "POST", "/v1/guard", agent, guardReq("book a trip for the customer", map[string]any{"tool": "book", "args": map[string]any{"mode": "fast"}}))
	var g struct {
		Results []struct {
			Decision string
			Reasons  []struct {
				Kind   string
				NoteID string `json:"note_id"`
			}
			Suggestion *struct{ Action, Source string }
		}
	}
	r.JSON(t, &g)
	res := g.Results[0]
	if res.Decision == "allow" || len(res.Reasons) == 0 || res.Reasons[0].Kind != "mistake_note" || res.Reasons[0].NoteID == "" {
		t.Fatalf("guard did not warn from the learnt mistake: %s", r.Body)
	}
	if res.Suggestion == nil || res.Suggestion.Action != "book(mode=safe)" {
		t.Fatalf("suggestion = %+v, want the recovered action", res.Suggestion)
	}
	t.Logf("failure appended → learnt by the worker → guard warns in %v", time.Since(posted).Round(time.Millisecond))
}

// TestGuardTenantThresholds: an admin's thresholds change the decisions of
// its own tenant only; bad thresholds are problems.
func TestGuardTenantThresholds(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenantA, adminA := env.Tenant(t, "thresh-a")
	_, readA := env.Key(t, adminA, "read")
	singleSource(t, env, adminA)
	_, adminB := env.Tenant(t, "thresh-b")
	observe(t, env, tenantA, traj("book a flight for the user", admem.OutcomeFailure,
		[3]string{"search", "fast", ""}, [3]string{"book", "fast", "Error: payment method not found"}))
	req := guardReq("book a flight for the user", map[string]any{"tool": "book", "args": map[string]any{"mode": "fast"}})
	decide := func() (string, float64) {
		var g guardBody
		env.Do(t, "POST", "/v1/guard", readA, req).JSON(t, &g)
		return g.Results[0].Decision, g.Results[0].Risk
	}
	var th struct{ Warn, Block float64 }
	env.Do(t, "GET", "/v1/guard/settings", readA, nil).JSON(t, &th)
	if th.Warn != adapters.DefaultWarn || th.Block != adapters.DefaultBlock {
		t.Fatalf("defaults: %+v", th)
	}
	d, risk := decide()
	if d != "warn" {
		t.Fatalf("decision %s at risk %v with default thresholds, want warn", d, risk)
	}
	if r := env.Do(t, "PUT", "/v1/guard/settings", readA, map[string]any{"warn": 0.1, "block": 0.2}); r.Status != http.StatusForbidden {
		t.Fatalf("read key sets thresholds: %d", r.Status)
	}
	r := env.Do(t, "PUT", "/v1/guard/settings", adminA, map[string]any{"warn": risk / 2, "block": risk})
	if r.Status != http.StatusOK {
		t.Fatalf("set: %d %s", r.Status, r.Body)
	}
	if d, _ := decide(); d != "block" {
		t.Fatalf("decision %s after lowering block to the risk, want block", d)
	}
	env.Do(t, "GET", "/v1/guard/settings", adminB, nil).JSON(t, &th)
	if th.Warn != adapters.DefaultWarn {
		t.Fatalf("tenant B's thresholds changed: %+v", th)
	}
	for _, body := range []any{
		map[string]any{"warn": 0.9, "block": 0.5},
		map[string]any{"warn": 0, "block": 0.5},
		map[string]any{"warn": 0.5, "block": 1.5},
		map[string]any{"warn": 0.5},
		map[string]any{"warn": "high", "block": 0.9},
	} {
		r := env.Do(t, "PUT", "/v1/guard/settings", adminA, body)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("PUT %v: %d, want 422 (%s)", body, r.Status, r.Body)
			continue
		}
		r.Problem(t)
	}
	r = env.Do(t, "GET", "/v1/audit?action=guard.settings_updated", adminA, nil)
	var audit struct{ Items []map[string]any }
	r.JSON(t, &audit)
	if len(audit.Items) != 1 {
		t.Fatalf("threshold change not audited once: %s", r.Body)
	}
}

// TestSplitIncoherentCluster: one signature failing in unrelated contexts
// makes separate clusters; merged by an admin they form an incoherent
// cluster, which splits without force.
func TestSplitIncoherentCluster(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	tenant, admin := env.Tenant(t, "split")
	tasks := []string{"book a flight for the user", "deploy the database backup service", "reset the account password email",
		"ship the order to the address", "approve the invoice ticket priority"}
	for _, task := range tasks {
		observe(t, env, tenant, traj(task, admem.OutcomeFailure, [3]string{"send", "fast", "Error: permission denied"}))
	}
	var list struct{ Items []clusterBody }
	env.Do(t, "GET", "/v1/failures", admin, nil).JSON(t, &list)
	if len(list.Items) < 4 {
		t.Fatalf("%d clusters for failures in %d unrelated contexts, want at least 4", len(list.Items), len(tasks))
	}
	into := list.Items[0].ID
	for _, c := range list.Items[1:] {
		if r := env.Do(t, "POST", "/v1/failures/"+into+"/merge", admin, map[string]any{"from": c.ID}); r.Status != http.StatusOK {
			t.Fatalf("merge: %d %s", r.Status, r.Body)
		}
	}
	r := env.Do(t, "POST", "/v1/failures/"+into+"/split", admin, nil)
	var part clusterBody
	r.JSON(t, &part)
	if r.Status != http.StatusCreated || part.Count < 1 || part.Count >= len(tasks) {
		t.Fatalf("split of an incoherent cluster: %d %s", r.Status, r.Body)
	}
	var rest clusterBody
	env.Do(t, "GET", "/v1/failures/"+into, admin, nil).JSON(t, &rest)
	if rest.Count+part.Count != len(tasks) {
		t.Fatalf("counts after split: %d + %d, want %d", rest.Count, part.Count, len(tasks))
	}
}
