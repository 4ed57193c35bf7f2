package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

type stepOut struct {
	Index  int    `json:"index"`
	Action string `json:"action"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

type trajOut struct {
	ID            string    `json:"id"`
	Task          string    `json:"task"`
	Outcome       string    `json:"outcome"`
	OutcomeSource string    `json:"outcome_source"`
	Score         *float64  `json:"score"`
	Open          bool      `json:"open"`
	StepCount     int       `json:"step_count"`
	FailedSteps   int       `json:"failed_steps"`
	Steps         []stepOut `json:"steps"`
}

type learnedOut struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	Content string `json:"content"`
	Count   int    `json:"count"`
	Version int    `json:"version"`
}

func bookingTrajectory(task, outcome string) map[string]any {
	t := map[string]any{
		"task":  task,
		"scope": map[string]any{"agent_id": "support-bot", "session_id": "s-1"},
		"steps": []map[string]any{
			{"action": "get_user_details", "args": map[string]any{"user_id": "mia_li_3668"}, "observation": "{...}"},
			{"action": "book_reservation", "args": map[string]any{"flight": "HAT136", "payment_id": "gift_card_7"},
				"error": "Error: gift card balance is not enough", "status": "error"},
			{"action": "book_reservation", "args": map[string]any{"flight": "HAT136", "payment_id": "credit_card_4"}, "observation": "ok"},
		},
	}
	if outcome != "" {
		t["outcome"] = outcome
	}
	return t
}

func TestTrajectoryRecordGetListAndIsolation(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, adminA := env.Tenant(t, "traj-a")
	_, writerA := env.Key(t, adminA, "write")
	_, readerA := env.Key(t, adminA, "read")
	_, adminB := env.Tenant(t, "traj-b")

	r := env.Do(t, "POST", "/v1/trajectories", writerA, bookingTrajectory("book a flight for mia", "success"))
	if r.Status != http.StatusCreated {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	var rec trajOut
	r.JSON(t, &rec)
	if rec.Outcome != "success" || rec.OutcomeSource != "agent" || rec.StepCount != 3 || rec.FailedSteps != 1 || len(rec.Steps) != 3 {
		t.Fatalf("recorded %+v", rec)
	}
	if r.Header.Get("Location") != "/v1/trajectories/"+rec.ID {
		t.Fatalf("location %q", r.Header.Get("Location"))
	}

	// Without an outcome the judge scores it: the error was recovered, the last step worked.
	r = env.Do(t, "POST", "/v1/trajectories", writerA, bookingTrajectory("book a flight for noah", ""))
	var judged trajOut
	r.JSON(t, &judged)
	if r.Status != http.StatusCreated || judged.Outcome != "success" || judged.OutcomeSource != "judge" || judged.Score == nil {
		t.Fatalf("judged: %d %s", r.Status, r.Body)
	}

	r = env.Do(t, "GET", "/v1/trajectories/"+rec.ID, readerA, nil)
	var got trajOut
	r.JSON(t, &got)
	if r.Status != 200 || got.ID != rec.ID || len(got.Steps) != 3 || got.Steps[1].Status != "error" || got.Steps[1].Index != 1 {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}

	// Lists: newest first, filters, cursor pages.
	var list struct {
		Items      []trajOut `json:"items"`
		NextCursor string    `json:"next_cursor"`
	}
	r = env.Do(t, "GET", "/v1/trajectories?limit=1", readerA, nil)
	r.JSON(t, &list)
	if r.Status != 200 || len(list.Items) != 1 || list.Items[0].ID != judged.ID || list.NextCursor == "" || list.Items[0].Steps != nil {
		t.Fatalf("page 1: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "GET", "/v1/trajectories?limit=1&cursor="+list.NextCursor, readerA, nil)
	list.NextCursor = ""
	r.JSON(t, &list)
	if r.Status != 200 || len(list.Items) != 1 || list.Items[0].ID != rec.ID || list.NextCursor != "" {
		t.Fatalf("page 2: %d %s", r.Status, r.Body)
	}
	for q, want := range map[string]int{"outcome=success": 2, "outcome=failure": 0, "agent_id=support-bot": 2, "agent_id=other": 0,
		"failed=true": 2, "failed=false": 0, "open=true": 0, "since=2000-01-01T00:00:00Z": 2, "until=2000-01-01T00:00:00Z": 0} {
		r = env.Do(t, "GET", "/v1/trajectories?"+q, readerA, nil)
		list.Items = nil
		r.JSON(t, &list)
		if r.Status != 200 || len(list.Items) != want {
			t.Errorf("%s: %d items (status %d), want %d", q, len(list.Items), r.Status, want)
		}
	}

	// Another tenant sees none of it.
	if r := env.Do(t, "GET", "/v1/trajectories/"+rec.ID, adminB, nil); r.Status != http.StatusNotFound {
		t.Fatalf("other tenant get: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "GET", "/v1/trajectories", adminB, nil)
	list.Items = nil
	r.JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("other tenant lists %d trajectories", len(list.Items))
	}
	if r := env.Do(t, "POST", "/v1/trajectories/"+rec.ID+"/steps", adminB, map[string]any{"steps": []map[string]any{{"action": "x"}}}); r.Status != http.StatusNotFound {
		t.Fatalf("other tenant append: %d %s", r.Status, r.Body)
	}
	// A read key cannot record.
	if r := env.Do(t, "POST", "/v1/trajectories", readerA, bookingTrajectory("x", "")); r.Status != http.StatusForbidden {
		t.Fatalf("read key records: %d", r.Status)
	}
}

func TestTrajectoryBatchAndIdempotency(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "traj-batch")
	var batch []map[string]any
	for i := 0; i < 25; i++ {
		batch = append(batch, bookingTrajectory(fmt.Sprintf("task %d", i), []string{"success", "failure", ""}[i%3]))
	}
	body := map[string]any{"trajectories": batch}
	r := env.Do(t, "POST", "/v1/trajectories/batch", admin, body, "Idempotency-Key", "batch-1")
	if r.Status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	var out struct{ Items []trajOut }
	r.JSON(t, &out)
	if len(out.Items) != 25 || out.Items[0].Task != "task 0" || out.Items[1].Outcome != "failure" || out.Items[2].OutcomeSource != "judge" {
		t.Fatalf("batch result: %s", r.Body)
	}
	// The same key and body replays; nothing is recorded twice.
	r2 := env.Do(t, "POST", "/v1/trajectories/batch", admin, body, "Idempotency-Key", "batch-1")
	if r2.Status != http.StatusCreated || r2.Header.Get("Idempotent-Replayed") != "true" || string(r2.Body) != string(r.Body) {
		t.Fatalf("replay: %d %s", r2.Status, r2.Header)
	}
	var list struct{ Items []trajOut }
	env.Do(t, "GET", "/v1/trajectories?limit=500", admin, nil).JSON(t, &list)
	if len(list.Items) != 25 {
		t.Fatalf("%d trajectories stored, want 25", len(list.Items))
	}
	// The same key with another body is a conflict.
	if r := env.Do(t, "POST", "/v1/trajectories/batch", admin, map[string]any{"trajectories": batch[:1]}, "Idempotency-Key", "batch-1"); r.Status != http.StatusConflict {
		t.Fatalf("reused key: %d", r.Status)
	}
	// One bad trajectory rejects the batch and is named.
	bad := append([]map[string]any{}, batch[:3]...)
	bad = append(bad, map[string]any{"task": "t", "steps": []map[string]any{{"action": ""}}})
	r = env.Do(t, "POST", "/v1/trajectories/batch", admin, map[string]any{"trajectories": bad})
	p := r.Problem(t)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(p["errors"]), "trajectories[3].steps[0].action") {
		t.Fatalf("bad batch: %d %s", r.Status, r.Body)
	}
	env.Do(t, "GET", "/v1/trajectories?limit=500", admin, nil).JSON(t, &list)
	if len(list.Items) != 25 {
		t.Fatalf("a rejected batch stored trajectories: %d", len(list.Items))
	}
}

func TestTrajectoryStreamingLearnsFailuresAtOnce(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.Tenant(t, "traj-stream")
	r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "change the flight of reservation ABC123", "open": true})
	var tr trajOut
	r.JSON(t, &tr)
	if r.Status != http.StatusCreated || !tr.Open || tr.Outcome != "unknown" {
		t.Fatalf("open: %d %s", r.Status, r.Body)
	}
	appendStep := func(step map[string]any) (trajOut, []learnedOut) {
		t.Helper()
		r := env.Do(t, "POST", "/v1/trajectories/"+tr.ID+"/steps", admin, map[string]any{"steps": []map[string]any{step}})
		if r.Status != 200 {
			t.Fatalf("append: %d %s", r.Status, r.Body)
		}
		var out struct {
			Trajectory trajOut
			Learned    []learnedOut
		}
		r.JSON(t, &out)
		return out.Trajectory, out.Learned
	}
	_, learned := appendStep(map[string]any{"action": "get_reservation_details", "args": map[string]any{"reservation_id": "ABC123"}})
	if len(learned) != 0 {
		t.Fatalf("a step that worked taught %v", learned)
	}
	fail := map[string]any{"action": "update_reservation_flights", "args": map[string]any{"reservation_id": "ABC123", "cabin": "economy"},
		"error": "Error: reservation ABC123 is basic economy and cannot be modified"}
	got, learned := appendStep(fail)
	if got.StepCount != 2 || got.FailedSteps != 1 || len(learned) != 0 {
		t.Fatalf("after the failure: %+v learned %+v (learning is the worker's)", got, learned)
	}
	// The failure's event reaches the worker while the trajectory is still
	// open: its mistake is listed before the next step.
	learnPending(t, env, tenantID)
	var notes struct{ Items []learnedOut }
	env.Do(t, "GET", "/v1/learned?kind=mistake", admin, nil).JSON(t, &notes)
	if len(notes.Items) != 1 || notes.Items[0].Count != 1 || !strings.Contains(notes.Items[0].Content, "update_reservation_flights") {
		t.Fatalf("notes: %+v", notes.Items)
	}
	// The same mistake with another reservation is the same mistake, counted again.
	fail["args"] = map[string]any{"reservation_id": "XYZ789", "cabin": "economy"}
	fail["error"] = "Error: reservation XYZ789 is basic economy and cannot be modified"
	appendStep(fail)
	learnPending(t, env, tenantID)
	var again struct{ Items []learnedOut }
	env.Do(t, "GET", "/v1/learned?kind=mistake", admin, nil).JSON(t, &again)
	if len(again.Items) != 1 || again.Items[0].ID != notes.Items[0].ID || again.Items[0].Count != 2 {
		t.Fatalf("repeat: %+v", again.Items)
	}
	// A retried append with its Idempotency-Key replays; the step is not added twice.
	okStep := map[string]any{"steps": []map[string]any{{"action": "get_flight_status", "args": map[string]any{"flight": "HAT136"}}}}
	first := env.Do(t, "POST", "/v1/trajectories/"+tr.ID+"/steps", admin, okStep, "Idempotency-Key", "append-4")
	retry := env.Do(t, "POST", "/v1/trajectories/"+tr.ID+"/steps", admin, okStep, "Idempotency-Key", "append-4")
	var after struct{ Trajectory trajOut }
	retry.JSON(t, &after)
	if first.Status != 200 || retry.Header.Get("Idempotent-Replayed") != "true" || after.Trajectory.StepCount != 4 {
		t.Fatalf("idempotent append: %d, replayed %q, %d steps", first.Status, retry.Header.Get("Idempotent-Replayed"), after.Trajectory.StepCount)
	}
	var stored trajOut
	env.Do(t, "GET", "/v1/trajectories/"+tr.ID, admin, nil).JSON(t, &stored)
	if stored.StepCount != 4 {
		t.Fatalf("%d steps stored after a retried append, want 4", stored.StepCount)
	}
	r = env.Do(t, "POST", "/v1/trajectories/"+tr.ID+"/close", admin, nil)
	var closed trajOut
	r.JSON(t, &closed)
	// The last step worked but the failed update was never recovered: partial.
	if r.Status != 200 || closed.Open || closed.Outcome != "partial" || closed.OutcomeSource != "judge" {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "POST", "/v1/trajectories/"+tr.ID+"/steps", admin, map[string]any{"steps": []map[string]any{{"action": "x"}}}); r.Status != http.StatusConflict {
		t.Fatalf("append after close: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "POST", "/v1/trajectories/"+tr.ID+"/close", admin, map[string]any{"outcome": "success"}); r.Status != http.StatusConflict {
		t.Fatalf("close twice: %d %s", r.Status, r.Body)
	}
}

func TestTrajectoryBadInput(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "traj-bad")
	long := strings.Repeat("x", 20001)
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"malformed JSON", "POST", "/v1/trajectories", `{"task":`, 400},
		{"empty body", "POST", "/v1/trajectories", "", 400},
		{"missing task", "POST", "/v1/trajectories", map[string]any{"steps": []map[string]any{{"action": "a"}}}, 422},
		{"task too long", "POST", "/v1/trajectories", map[string]any{"task": long, "steps": []map[string]any{{"action": "a"}}}, 422},
		{"unknown field", "POST", "/v1/trajectories", map[string]any{"task": "t", "id": "x"}, 422},
		{"bad status", "POST", "/v1/trajectories", map[string]any{"task": "t", "steps": []map[string]any{{"action": "a", "status": "meh"}}}, 422},
		{"bad outcome", "POST", "/v1/trajectories", map[string]any{"task": "t", "outcome": "won", "steps": []map[string]any{{"action": "a"}}}, 422},
		{"empty outcome", "POST", "/v1/trajectories", map[string]any{"task": "t", "outcome": "", "steps": []map[string]any{{"action": "a"}}}, 422},
		{"score out of range", "POST", "/v1/trajectories", map[string]any{"task": "t", "score": 2, "steps": []map[string]any{{"action": "a"}}}, 422},
		{"args not an object", "POST", "/v1/trajectories", map[string]any{"task": "t", "steps": []map[string]any{{"action": "a", "args": []int{1}}}}, 422},
		{"open with outcome", "POST", "/v1/trajectories", map[string]any{"task": "t", "open": true, "outcome": "success"}, 422},
		{"negative duration", "POST", "/v1/trajectories", map[string]any{"task": "t", "steps": []map[string]any{{"action": "a", "duration_ms": -1}}}, 422},
		{"empty batch", "POST", "/v1/trajectories/batch", map[string]any{"trajectories": []any{}}, 422},
		{"batch not a list", "POST", "/v1/trajectories/batch", map[string]any{"trajectories": 3}, 422},
		{"append nothing", "POST", "/v1/trajectories/00000000-0000-0000-0000-000000000000/steps", map[string]any{"steps": []any{}}, 422},
		{"append to unknown", "POST", "/v1/trajectories/00000000-0000-0000-0000-000000000000/steps", map[string]any{"steps": []map[string]any{{"action": "a"}}}, 404},
		{"close unknown", "POST", "/v1/trajectories/00000000-0000-0000-0000-000000000000/close", nil, 404},
		{"get not a uuid", "GET", "/v1/trajectories/nope", nil, 404},
		{"list bad cursor", "GET", "/v1/trajectories?cursor=zzz", nil, 422},
		{"list bad outcome", "GET", "/v1/trajectories?outcome=won", nil, 422},
		{"list bad bool", "GET", "/v1/trajectories?open=maybe", nil, 422},
		{"list bad since", "GET", "/v1/trajectories?since=yesterday", nil, 422},
		{"learned bad kind", "GET", "/v1/learned?kind=fact", nil, 422},
	}
	for _, c := range cases {
		r := env.Do(t, c.method, c.path, admin, c.body)
		if r.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			continue
		}
		r.Problem(t)
	}
	// A trajectory in which the agent called no tool is recorded; the judge calls it a failure.
	r0 := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "just chatted"})
	var empty trajOut
	r0.JSON(t, &empty)
	if r0.Status != http.StatusCreated || empty.Outcome != "failure" || empty.StepCount != 0 {
		t.Fatalf("no steps: %d %s", r0.Status, r0.Body)
	}
	// NUL characters, which Postgres cannot store, are refused at the edge
	// with the field named.
	r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "nul task", "outcome": "success",
		"steps": []map[string]any{{"action": "ab", "args": map[string]any{"k": "v"}, "observation": "o\x00"}}})
	if p := r.Problem(t); r.Status != http.StatusUnprocessableEntity || p["errors"].([]any)[0].(map[string]any)["field"] != "steps[0].observation" {
		t.Fatalf("NUL: %d %s", r.Status, r.Body)
	}
}

func TestLearningSettingsAndDeadLetters(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "traj-settings")
	_, writer := env.Key(t, admin, "write")
	var st struct {
		JudgeRule      string  `json:"judge_rule"`
		JudgeThreshold float64 `json:"judge_threshold"`
		Strategy       string  `json:"strategy"`
	}
	r := env.Do(t, "GET", "/v1/learning/settings", writer, nil)
	r.JSON(t, &st)
	if r.Status != 200 || st.JudgeRule != "last_ok_recovered" || st.Strategy != "reflect" {
		t.Fatalf("defaults: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, "PUT", "/v1/learning/settings", writer, map[string]any{"strategy": "append_only"}); r.Status != http.StatusForbidden {
		t.Fatalf("writer changes settings: %d", r.Status)
	}
	for _, bad := range []map[string]any{{"judge_rule": "vibes"}, {"judge_threshold": 1.5}, {"strategy": "forget"}} {
		if r := env.Do(t, "PUT", "/v1/learning/settings", admin, bad); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%v: %d %s", bad, r.Status, r.Body)
		}
	}
	r = env.Do(t, "PUT", "/v1/learning/settings", admin, map[string]any{"judge_rule": "no_errors"})
	r.JSON(t, &st)
	if r.Status != 200 || st.JudgeRule != "no_errors" || st.Strategy != "reflect" {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	// The tenant's rule now scores: a recovered error is a failure under no_errors.
	r = env.Do(t, "POST", "/v1/trajectories", writer, bookingTrajectory("book", ""))
	var tr trajOut
	r.JSON(t, &tr)
	if tr.Outcome != "failure" || tr.OutcomeSource != "judge" {
		t.Fatalf("no_errors rule: %s", r.Body)
	}
	var audit struct{ Items []struct{ Action string } }
	env.Do(t, "GET", "/v1/audit?action=learning_settings.updated", admin, nil).JSON(t, &audit)
	if len(audit.Items) != 1 {
		t.Fatalf("settings change audited %d times", len(audit.Items))
	}

	if r := env.Do(t, "GET", "/v1/dead-letters", writer, nil); r.Status != http.StatusForbidden {
		t.Fatalf("writer lists dead letters: %d", r.Status)
	}
	r = env.Do(t, "GET", "/v1/dead-letters", admin, nil)
	var dl struct{ Items []any }
	r.JSON(t, &dl)
	if r.Status != 200 || len(dl.Items) != 0 {
		t.Fatalf("dead letters: %d %s", r.Status, r.Body)
	}
}

func TestLearnedItemAndItsVersions(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.Tenant(t, "learned-versions")
	_, reader := env.Key(t, admin, "read")
	_, other := env.Tenant(t, "learned-versions-other")

	task := "cancel the reservation of the user"
	record := func(steps ...map[string]any) {
		t.Helper()
		r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": task, "outcome": "failure", "steps": steps})
		if r.Status != 201 {
			t.Fatalf("record: %d %s", r.Status, r.Body)
		}
		learnPending(t, env, tenantID)
	}
	fail := func(reservation string) map[string]any {
		return map[string]any{"action": "cancel_reservation", "args": map[string]any{"reservation_id": reservation},
			"error": "Error: reservation " + reservation + " is not cancellable without a reason"}
	}
	record(fail("AAA111"))
	var list struct {
		Items []learnedOut `json:"items"`
	}
	env.Do(t, "GET", "/v1/learned?kind=mistake", reader, nil).JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("learned: %+v", list.Items)
	}
	id := list.Items[0].ID
	// A second run's failure confirms the rule (one run's is a guess): the
	// mistake may then say it more firmly, a version of its own.
	record(fail("BBB222"))
	var cur learnedOut
	env.Do(t, "GET", "/v1/learned/"+id, reader, nil).JSON(t, &cur)
	confirmed := cur.Version
	if confirmed < 1 || confirmed > 2 {
		t.Fatalf("version %d after two failures", confirmed)
	}
	record(fail("CCC333"))

	// Counting more failures of the same mistake changes its counters in
	// place: a version is kept when what the mistake says changes.
	r := env.Do(t, "GET", "/v1/learned/"+id, reader, nil)
	var it structuredOut
	r.JSON(t, &it)
	if r.Status != 200 || it.ID != id || it.Mistake == nil || it.Mistake.Seen != 3 || len(it.Mistake.TrajectoryIDs) != 3 {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &cur)
	if cur.Version != confirmed {
		t.Fatalf("version %d after a third failure saying the same, want %d", cur.Version, confirmed)
	}
	// The agent's own recovery teaches a fix: the mistake says something
	// new, a second version.
	ok := fail("DDD444")
	ok["args"] = map[string]any{"reservation_id": "DDD444", "reason": "change_of_plan"}
	delete(ok, "error")
	record(fail("DDD444"), ok)

	type versionOut struct {
		Version int    `json:"version"`
		Content string `json:"content"`
		Source  string `json:"source"`
		Mistake *struct {
			Seen        int              `json:"seen"`
			Corrections []map[string]any `json:"corrections"`
		} `json:"mistake"`
	}
	type versionPage struct {
		Items      []versionOut `json:"items"`
		NextCursor string       `json:"next_cursor"`
	}
	var got []versionOut
	cursor := ""
	for page := 0; page < 5; page++ {
		url := "/v1/learned/" + id + "/versions?limit=1"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		r := env.Do(t, "GET", url, reader, nil)
		var p versionPage
		r.JSON(t, &p)
		if r.Status != 200 {
			t.Fatalf("versions: %d %s", r.Status, r.Body)
		}
		got = append(got, p.Items...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != confirmed+1 {
		t.Fatalf("%d versions, want %d: %+v", len(got), confirmed+1, got)
	}
	// Newest first: the one with the fix, ..., the first, as it was then.
	if v := got[0]; v.Version != confirmed+1 || v.Mistake == nil || v.Mistake.Seen != 4 || len(v.Mistake.Corrections) != 1 || !strings.HasPrefix(v.Source, "trajectory:") {
		t.Fatalf("version %d: %+v", confirmed+1, v)
	}
	if v := got[len(got)-1]; v.Version != 1 || v.Mistake == nil || v.Mistake.Seen != 1 || len(v.Mistake.Corrections) != 0 || v.Content == "" {
		t.Fatalf("version 1: %+v", v)
	}

	// Another tenant's id is not found; so is a non-id or a bad cursor.
	for _, c := range []struct {
		path   string
		cred   string
		status int
	}{
		{"/v1/learned/" + id, other, http.StatusNotFound},
		{"/v1/learned/" + id + "/versions", other, http.StatusNotFound},
		{"/v1/learned/00000000-0000-0000-0000-000000000000", reader, http.StatusNotFound},
		{"/v1/learned/not-an-id/versions", reader, http.StatusNotFound},
		{"/v1/learned/" + id + "/versions?limit=0", reader, http.StatusUnprocessableEntity},
		{"/v1/learned/" + id + "/versions?cursor=%25%25", reader, http.StatusUnprocessableEntity},
	} {
		r := env.Do(t, "GET", c.path, c.cred, nil)
		if r.Status != c.status {
			t.Errorf("GET %s: %d, want %d: %s", c.path, r.Status, c.status, r.Body)
			continue
		}
		r.Problem(t)
	}
}
