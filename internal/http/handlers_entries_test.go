package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

type entryResp struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Key      string         `json:"key"`
	Content  string         `json:"content"`
	Status   string         `json:"status"`
	Version  int            `json:"version"`
	Seen     int            `json:"seen_count"`
	Tags     []string       `json:"tags"`
	Metadata map[string]any `json:"metadata"`
	Scope    struct {
		UserID string `json:"user_id"`
	} `json:"scope"`
}

type writeResp struct {
	Operation string    `json:"operation"`
	Entry     entryResp `json:"entry"`
	Decision  *struct {
		Operation string             `json:"operation"`
		Reason    string             `json:"reason"`
		MatchedID string             `json:"matched_id"`
		Matched   *entryResp         `json:"matched"`
		Scores    map[string]float64 `json:"scores"`
	} `json:"decision"`
}

type searchResp struct {
	Items []struct {
		Entry   entryResp          `json:"entry"`
		Score   float64            `json:"score"`
		Explain map[string]any     `json:"explain"`
		X       map[string]float64 `json:"-"`
	} `json:"items"`
}

// embedEnv starts the API with the offline embedder when its word-vector
// file exists (scripts/embeddings.sh makes it; make test runs that).
func embedEnv(t *testing.T) (*apitest.Env, bool) {
	t.Helper()
	p, _ := filepath.Abs(filepath.Join("..", "..", ".data", "embed", "glove-50k.bin"))
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("word vectors missing at %s: scripts/embeddings.sh makes them", p)
		}
		return apitest.New(t), false
	}
	return apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", p)), true
}

func write(t *testing.T, env *apitest.Env, cred string, body map[string]any) (int, writeResp) {
	t.Helper()
	r := env.Do(t, "POST", "/v1/entries", cred, body)
	if r.Status != 200 && r.Status != 201 {
		t.Fatalf("write %v: %d %s", body, r.Status, r.Body)
	}
	var w writeResp
	r.JSON(t, &w)
	return r.Status, w
}

func TestEntryLifecycleHistoryAndRollback(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "entries-life")
	keyID, w := env.Key(t, admin, "write")

	st, created := write(t, env, w, map[string]any{"content": "The staging database is db-stage-2", "kind": "fact",
		"tags": []string{"infra"}, "metadata": map[string]any{"team": "platform"}, "scope": map[string]any{"agent_id": "ops-bot"}})
	if st != http.StatusCreated || created.Operation != "ADD" || created.Entry.Version != 1 {
		t.Fatalf("create: %d %+v", st, created)
	}
	id := created.Entry.ID
	if r := env.Do(t, "GET", "/v1/entries/"+id, w, nil); r.Status != 200 {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}

	r := env.Do(t, "PATCH", "/v1/entries/"+id, w, map[string]any{"content": "The staging database is db-stage-3", "tags": []string{"infra", "db"}})
	var e entryResp
	r.JSON(t, &e)
	if r.Status != 200 || e.Version != 2 || e.Content != "The staging database is db-stage-3" || len(e.Tags) != 2 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}

	r = env.Do(t, "POST", "/v1/entries/"+id+"/rollback", w, map[string]any{"version": 1})
	r.JSON(t, &e)
	if r.Status != 200 || e.Version != 3 || e.Content != "The staging database is db-stage-2" || len(e.Tags) != 1 {
		t.Fatalf("rollback: %d %s", r.Status, r.Body)
	}

	r = env.Do(t, "DELETE", "/v1/entries/"+id, w, nil)
	r.JSON(t, &e)
	if r.Status != 200 || e.Status != "deleted" || e.Version != 4 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	// A tombstone is not searched and cannot be edited, but keeps its history.
	var sr searchResp
	env.Do(t, "POST", "/v1/entries/search", w, map[string]any{"query": "staging database"}).JSON(t, &sr)
	if len(sr.Items) != 0 {
		t.Fatalf("deleted entry found by search: %+v", sr.Items)
	}
	if r := env.Do(t, "PATCH", "/v1/entries/"+id, w, map[string]any{"content": "x"}); r.Status != http.StatusConflict {
		t.Fatalf("edit deleted: %d %s", r.Status, r.Body)
	}

	var vs struct {
		Items []struct {
			Version    int    `json:"version"`
			Operation  string `json:"operation"`
			Content    string `json:"content"`
			Status     string `json:"status"`
			Reason     string `json:"reason"`
			Provenance struct {
				ActorKeyID string `json:"actor_key_id"`
				Source     string `json:"source"`
				SourceID   string `json:"source_id"`
			} `json:"provenance"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	r = env.Do(t, "GET", "/v1/entries/"+id+"/versions?limit=3", w, nil)
	r.JSON(t, &vs)
	if r.Status != 200 || len(vs.Items) != 3 || vs.NextCursor == "" {
		t.Fatalf("versions page 1: %d %s", r.Status, r.Body)
	}
	ops := []string{}
	for _, v := range vs.Items {
		ops = append(ops, v.Operation)
		if v.Provenance.ActorKeyID != keyID || v.Provenance.Source != "request" || v.Provenance.SourceID == "" {
			t.Errorf("version %d provenance %+v, want key %s, source request and a request id", v.Version, v.Provenance, keyID)
		}
	}
	r = env.Do(t, "GET", "/v1/entries/"+id+"/versions?limit=3&cursor="+url.QueryEscape(vs.NextCursor), w, nil)
	r.JSON(t, &vs)
	for _, v := range vs.Items {
		ops = append(ops, v.Operation)
	}
	if strings.Join(ops, ",") != "DELETE,ROLLBACK,UPDATE,ADD" {
		t.Fatalf("history %v, want DELETE,ROLLBACK,UPDATE,ADD", ops)
	}
	// Rolling back to the version before the delete restores the entry.
	r = env.Do(t, "POST", "/v1/entries/"+id+"/rollback", w, map[string]any{"version": 3})
	r.JSON(t, &e)
	if r.Status != 200 || e.Status != "active" || e.Version != 5 {
		t.Fatalf("undelete: %d %s", r.Status, r.Body)
	}
	env.Do(t, "POST", "/v1/entries/search", w, map[string]any{"query": "staging database"}).JSON(t, &sr)
	if len(sr.Items) != 1 || sr.Items[0].Entry.ID != id {
		t.Fatalf("restored entry not found: %+v", sr.Items)
	}
	for _, bad := range []struct {
		body   any
		status int
	}{{map[string]any{"version": 0}, 422}, {map[string]any{"version": 99}, 422}, {map[string]any{}, 422}, {`{"version": "1"}`, 422}} {
		if r := env.Do(t, "POST", "/v1/entries/"+id+"/rollback", w, bad.body); r.Status != bad.status {
			t.Errorf("rollback %v: %d, want %d: %s", bad.body, r.Status, bad.status, r.Body)
		}
	}
}

func TestEntryWritesAreJudged(t *testing.T) {
	t.Parallel()
	env, _ := embedEnv(t)
	_, admin := env.Tenant(t, "entries-judge")
	_, w := env.Key(t, admin, "write")
	user := map[string]any{"user_id": "u-42"}

	st, first := write(t, env, w, map[string]any{"content": "The user prefers dark mode in the editor.", "scope": user})
	if st != 201 || first.Operation != "ADD" {
		t.Fatalf("first write: %d %+v", st, first)
	}
	// A near-duplicate is a NOOP that returns the entry and bumps it.
	st, dup := write(t, env, w, map[string]any{"content": "the user prefers the dark mode in the editor", "scope": user, "explain": true})
	if st != 200 || dup.Operation != "NOOP" || dup.Entry.ID != first.Entry.ID || dup.Entry.Seen != 2 || dup.Entry.Version != 1 {
		t.Fatalf("duplicate: %d %+v", st, dup)
	}
	if dup.Decision == nil || dup.Decision.MatchedID != first.Entry.ID || dup.Decision.Matched == nil || dup.Decision.Scores["jaccard"] < 0.8 {
		t.Fatalf("explained duplicate: %+v", dup.Decision)
	}
	// A contradiction updates the same entry: a new version, the old one kept.
	st, upd := write(t, env, w, map[string]any{"content": "The user prefers light mode in the editor.", "scope": user, "explain": true})
	if st != 200 || upd.Operation != "UPDATE" || upd.Entry.ID != first.Entry.ID || upd.Entry.Version != 2 ||
		!strings.Contains(upd.Decision.Reason, "contradiction") {
		t.Fatalf("contradiction: %d %+v %+v", st, upd, upd.Decision)
	}
	// Another user's identical fact is theirs: ADD.
	if _, other := write(t, env, w, map[string]any{"content": "The user prefers light mode in the editor.", "scope": map[string]any{"user_id": "u-7"}}); other.Operation != "ADD" {
		t.Fatalf("other user's fact: %+v", other)
	}
	// infer=false forces ADD even for an exact duplicate.
	if _, forced := write(t, env, w, map[string]any{"content": "The user prefers light mode in the editor.", "scope": user, "infer": false}); forced.Operation != "ADD" || forced.Entry.ID == first.Entry.ID {
		t.Fatalf("forced add: %+v", forced)
	}
	// The same key is the same subject.
	_, k1 := write(t, env, w, map[string]any{"key": "user.preferred_language", "content": "Preferred language: German", "scope": user})
	_, k2 := write(t, env, w, map[string]any{"key": "user.preferred_language", "content": "Preferred language: Portuguese (Brazil)", "scope": user})
	if k1.Operation != "ADD" || k2.Operation != "UPDATE" || k2.Entry.ID != k1.Entry.ID || k2.Entry.Version != 2 {
		t.Fatalf("keyed writes: %+v then %+v", k1, k2)
	}
	var vs struct {
		Items []struct {
			Operation, Content, Reason string
		} `json:"items"`
	}
	env.Do(t, "GET", "/v1/entries/"+first.Entry.ID+"/versions", w, nil).JSON(t, &vs)
	if len(vs.Items) != 2 || vs.Items[1].Content != "The user prefers dark mode in the editor." || !strings.Contains(vs.Items[0].Reason, "contradiction") {
		t.Fatalf("history after contradiction: %+v", vs.Items)
	}
}

func TestEntryBatchListFiltersAndPagination(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "entries-batch")
	_, w := env.Key(t, admin, "write")
	var batch []map[string]any
	for i := 0; i < 45; i++ {
		e := map[string]any{"content": fmt.Sprintf("Order %d shipped to warehouse %d", 1000+i, i%3), "tags": []string{fmt.Sprintf("wh%d", i%3)},
			"metadata": map[string]any{"region": []string{"eu", "us", "apac"}[i%3], "n": i, "thread": map[string]any{"priority": i % 2}},
			"scope":    map[string]any{"user_id": fmt.Sprintf("cust-%d", i%5)}}
		if i%9 == 0 {
			e["kind"] = "preference"
		}
		batch = append(batch, e)
	}
	r := env.Do(t, "POST", "/v1/entries/batch", w, map[string]any{"entries": batch, "infer": false})
	var br struct {
		Results []writeResp    `json:"results"`
		Counts  map[string]int `json:"counts"`
	}
	r.JSON(t, &br)
	if r.Status != 200 || br.Counts["ADD"] != 45 || len(br.Results) != 45 || br.Results[7].Entry.Content != "Order 1007 shipped to warehouse 1" {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	// A judged batch: the repeat inside the batch is a NOOP of the first.
	r = env.Do(t, "POST", "/v1/entries/batch", w, map[string]any{"entries": []map[string]any{
		{"content": "Invoices are due within 30 days"}, {"content": "invoices are due within 30 days."}, {"content": "Invoices are due within 45 days"}}})
	r.JSON(t, &br)
	if r.Status != 200 || br.Counts["ADD"] != 1 || br.Counts["NOOP"] != 1 || br.Counts["UPDATE"] != 1 {
		t.Fatalf("judged batch: %d %s", r.Status, r.Body)
	}

	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		q := "/v1/entries?limit=10"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var l struct {
			Items      []entryResp `json:"items"`
			NextCursor string      `json:"next_cursor"`
		}
		env.Do(t, "GET", q, w, nil).JSON(t, &l)
		for _, e := range l.Items {
			if seen[e.ID] {
				t.Fatalf("entry %s on two pages", e.ID)
			}
			seen[e.ID] = true
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 46 {
		t.Fatalf("listed %d entries, want 46", len(seen))
	}
	count := func(q string) int {
		t.Helper()
		r := env.Do(t, "GET", "/v1/entries?limit=500&"+q, w, nil)
		if r.Status != 200 {
			t.Fatalf("list %s: %d %s", q, r.Status, r.Body)
		}
		var l struct{ Items []entryResp }
		r.JSON(t, &l)
		return len(l.Items)
	}
	for q, want := range map[string]int{
		"kind=preference":      5,
		"kind=preference,fact": 46,
		"tag=wh1":              15,
		"tag=wh1&tag=wh2":      0,
		"user_id=cust-3":       9,
		"metadata=" + url.QueryEscape("region=eu"):                     15,
		"metadata=" + url.QueryEscape(`region="us",thread.priority=1`): 8,
		"metadata=" + url.QueryEscape("n=4"):                           1,
		"status=deleted":                                               0,
		"created_after=2000-01-01T00:00:00Z":                           46,
		"created_before=2000-01-01T00:00:00Z":                          0,
	} {
		if got := count(q); got != want {
			t.Errorf("list %s: %d entries, want %d", q, got, want)
		}
	}
	for _, q := range []string{"metadata=" + url.QueryEscape("region"), "metadata=" + url.QueryEscape(`a="x`), "status=gone",
		"created_after=yesterday", "cursor=bm90IGEgY3Vyc29y", "limit=0", "kind=Bad!", "include_expired=perhaps"} {
		r := env.Do(t, "GET", "/v1/entries?"+q, w, nil)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("list %s: %d, want 422: %s", q, r.Status, r.Body)
		}
	}
	tooMany := make([]map[string]any, 1001)
	for i := range tooMany {
		tooMany[i] = map[string]any{"content": "x"}
	}
	if r := env.Do(t, "POST", "/v1/entries/batch", w, map[string]any{"entries": tooMany}); r.Status != 422 {
		t.Fatalf("1001 entries: %d", r.Status)
	}
	// A bad entry fails the whole batch and names itself.
	r = env.Do(t, "POST", "/v1/entries/batch", w, map[string]any{"entries": []map[string]any{{"content": "ok"}, {"content": " "}}, "infer": false})
	if r.Status != 422 || !strings.Contains(string(r.Body), "entries[1].content") {
		t.Fatalf("bad entry in batch: %d %s", r.Status, r.Body)
	}
}

func TestEntrySearch(t *testing.T) {
	t.Parallel()
	env, vectors := embedEnv(t)
	tenantID, admin := env.Tenant(t, "entries-search")
	_, w := env.Key(t, admin, "write")
	facts := []map[string]any{
		{"content": "Dana prefers to be contacted by email, never by phone", "scope": map[string]any{"user_id": "dana"}, "tags": []string{"contact"}},
		{"content": "Dana's billing address is in Lyon, France", "scope": map[string]any{"user_id": "dana"}},
		{"content": "The deploy pipeline fails when the migration lock is held", "kind": "mistake", "scope": map[string]any{"agent_id": "ci"}},
		{"content": "To rotate the API key, call POST /v1/keys then revoke the old key", "kind": "procedure"},
		{"content": "Ravi prefers phone calls in the afternoon", "scope": map[string]any{"user_id": "ravi"}, "metadata": map[string]any{"tier": "gold"}},
	}
	r := env.Do(t, "POST", "/v1/entries/batch", w, map[string]any{"entries": facts, "infer": false})
	if r.Status != 200 {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	if vectors {
		if _, err := env.API.Memory.IndexPending(context.Background(), tenantID); err != nil {
			t.Fatal(err)
		}
	}
	search := func(body map[string]any) searchResp {
		t.Helper()
		r := env.Do(t, "POST", "/v1/entries/search", w, body)
		if r.Status != 200 {
			t.Fatalf("search %v: %d %s", body, r.Status, r.Body)
		}
		var s searchResp
		r.JSON(t, &s)
		return s
	}
	s := search(map[string]any{"query": "how should we contact Dana?", "explain": true})
	if len(s.Items) == 0 || !strings.HasPrefix(s.Items[0].Entry.Content, "Dana prefers to be contacted") {
		t.Fatalf("hybrid top hit: %+v", s.Items)
	}
	x := s.Items[0].Explain
	if x["lexical"].(float64) <= 0 || x["lexical_rank"].(float64) != 1 {
		t.Fatalf("explain: %v", x)
	}
	if vectors && (x["vector"].(float64) <= 0 || x["embedder"] == "") {
		t.Fatalf("explain without a vector score although vectors exist: %v", x)
	}
	// Filters: scope, kind, tags, metadata. Every hit satisfies the filter;
	// the best one is the relevant one.
	for name, c := range map[string]struct {
		body map[string]any
		want string // prefix of the top hit; "" for no hits at all
		ok   func(e entryResp) bool
	}{
		"user scope":     {map[string]any{"query": "prefers phone", "filter": map[string]any{"scope": map[string]any{"user_id": "ravi"}}}, "Ravi prefers", func(e entryResp) bool { return e.Scope.UserID == "ravi" }},
		"kind":           {map[string]any{"query": "rotate key", "filter": map[string]any{"kinds": []string{"procedure"}}}, "To rotate the API key", func(e entryResp) bool { return e.Kind == "procedure" }},
		"kind mistake":   {map[string]any{"query": "deploy fails", "filter": map[string]any{"kinds": []string{"mistake"}}}, "The deploy pipeline", func(e entryResp) bool { return e.Kind == "mistake" }},
		"tag":            {map[string]any{"query": "Dana", "filter": map[string]any{"tags": []string{"contact"}}}, "Dana prefers", func(e entryResp) bool { return len(e.Tags) == 1 }},
		"metadata":       {map[string]any{"query": "prefers", "filter": map[string]any{"metadata": map[string]any{"tier": "gold"}}}, "Ravi prefers", func(e entryResp) bool { return e.Metadata["tier"] == "gold" }},
		"lexical only":   {map[string]any{"query": "billing address", "mode": "lexical"}, "Dana's billing address", func(e entryResp) bool { return strings.Contains(e.Content, "billing") }},
		"no such words":  {map[string]any{"query": "zyzzyva quokka", "mode": "lexical"}, "", nil},
		"future entries": {map[string]any{"query": "Dana", "filter": map[string]any{"created_after": "2999-01-01T00:00:00Z"}}, "", nil},
	} {
		s := search(c.body)
		if c.want == "" {
			if len(s.Items) != 0 {
				t.Errorf("%s: %d hits, want none: %+v", name, len(s.Items), s.Items)
			}
			continue
		}
		if len(s.Items) == 0 || !strings.HasPrefix(s.Items[0].Entry.Content, c.want) {
			t.Errorf("%s: top hit %+v, want %q", name, s.Items, c.want)
		}
		for _, h := range s.Items {
			if !c.ok(h.Entry) {
				t.Errorf("%s: hit %+v does not match the filter", name, h.Entry)
			}
		}
	}
	if vectors {
		// Vector search finds a paraphrase with no shared keyword.
		s := search(map[string]any{"query": "telephone", "mode": "vector", "limit": 2})
		if len(s.Items) == 0 {
			t.Fatal("vector search found nothing")
		}
		for _, h := range s.Items {
			if !strings.Contains(h.Entry.Content, "phone") {
				t.Errorf("vector hit %q does not mention phone", h.Entry.Content)
			}
		}
	}
	// Client-supplied vectors live in their own space and never mix with the embedder's.
	r = env.Do(t, "POST", "/v1/entries", w, map[string]any{"content": "vector-only memory", "vector": []float32{1, 0, 0}, "vector_space": "mine"})
	if r.Status != 201 {
		t.Fatalf("client vector: %d %s", r.Status, r.Body)
	}
	s = search(map[string]any{"vector": []float32{0.9, 0.1, 0}, "vector_space": "mine", "mode": "vector"})
	if len(s.Items) != 1 || s.Items[0].Entry.Content != "vector-only memory" {
		t.Fatalf("client space search: %+v", s.Items)
	}
	// Recency and utility weighting are applied and explained.
	s = search(map[string]any{"query": "Dana", "recency_weight": 1, "utility_weight": 1, "explain": true})
	if len(s.Items) == 0 || s.Items[0].Explain["recency"].(float64) <= 1.9 || s.Items[0].Explain["utility"].(float64) != 1 {
		t.Fatalf("recency/utility: %+v", s.Items)
	}
	for _, bad := range []map[string]any{{}, {"query": "x", "limit": 101}, {"query": "x", "mode": "fuzzy"}, {"query": "x", "recency_weight": -1},
		{"vector": []float32{1}}, {"query": "x", "lexical_weight": 0, "vector_weight": 0}, {"query": "x", "filter": map[string]any{"kinds": []string{"Nope!"}}}} {
		if r := env.Do(t, "POST", "/v1/entries/search", w, bad); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("search %v: %d, want 422: %s", bad, r.Status, r.Body)
		}
	}
}

func TestEntryTenantIsolationAndForget(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, adminA := env.Tenant(t, "entries-a")
	_, adminB := env.Tenant(t, "entries-b")
	_, wA := env.Key(t, adminA, "write")
	_, wB := env.Key(t, adminB, "write")

	_, a1 := write(t, env, wA, map[string]any{"content": "Mia's passport number ends in 4471", "scope": map[string]any{"user_id": "mia"}})
	_, a2 := write(t, env, wA, map[string]any{"content": "Mia prefers aisle seats", "scope": map[string]any{"user_id": "mia"}})
	_, a3 := write(t, env, wA, map[string]any{"content": "Noah prefers window seats", "scope": map[string]any{"user_id": "noah"}})
	env.Do(t, "PATCH", "/v1/entries/"+a2.Entry.ID, wA, map[string]any{"content": "Mia prefers aisle seats near the front"})
	_, b1 := write(t, env, wB, map[string]any{"content": "Mia prefers aisle seats", "scope": map[string]any{"user_id": "mia"}})

	// B sees none of A's entries, by id, list or search.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/entries/" + a1.Entry.ID}, {"PATCH", "/v1/entries/" + a1.Entry.ID}, {"DELETE", "/v1/entries/" + a1.Entry.ID},
		{"GET", "/v1/entries/" + a1.Entry.ID + "/versions"}, {"POST", "/v1/entries/" + a1.Entry.ID + "/rollback"}, {"GET", "/v1/entries/not-a-uuid"},
	} {
		var body any
		if c.method == "PATCH" {
			body = map[string]any{"content": "pwned"}
		} else if c.method == "POST" {
			body = map[string]any{"version": 1}
		}
		if r := env.Do(t, c.method, c.path, wB, body); r.Status != http.StatusNotFound {
			t.Errorf("B %s %s: %d, want 404: %s", c.method, c.path, r.Status, r.Body)
		}
	}
	var l struct{ Items []entryResp }
	env.Do(t, "GET", "/v1/entries?user_id=mia", wB, nil).JSON(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != b1.Entry.ID {
		t.Fatalf("B's list: %+v", l.Items)
	}
	var s searchResp
	env.Do(t, "POST", "/v1/entries/search", wB, map[string]any{"query": "passport number"}).JSON(t, &s)
	if len(s.Items) != 0 {
		t.Fatalf("B found A's entry: %+v", s.Items)
	}

	// Forgetting needs the admin scope, and forgets only in the caller's tenant.
	if r := env.Do(t, "POST", "/v1/entries/forget", wA, map[string]any{"user_id": "mia"}); r.Status != http.StatusForbidden {
		t.Fatalf("forget with write scope: %d", r.Status)
	}
	for _, bad := range []any{map[string]any{}, map[string]any{"user_id": " "}, `{"user_id": 5}`} {
		if r := env.Do(t, "POST", "/v1/entries/forget", adminA, bad); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("forget %v: %d, want 422", bad, r.Status)
		}
	}
	var fr struct {
		Entries  int `json:"entries_deleted"`
		Versions int `json:"versions_deleted"`
	}
	r := env.Do(t, "POST", "/v1/entries/forget", adminA, map[string]any{"user_id": "mia"})
	r.JSON(t, &fr)
	if r.Status != 200 || fr.Entries != 2 || fr.Versions != 3 {
		t.Fatalf("forget: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{a1.Entry.ID, a2.Entry.ID} {
		if r := env.Do(t, "GET", "/v1/entries/"+id, wA, nil); r.Status != 404 {
			t.Errorf("forgotten entry %s: %d", id, r.Status)
		}
	}
	env.Do(t, "POST", "/v1/entries/search", wA, map[string]any{"query": "Mia aisle seats passport"}).JSON(t, &s)
	for _, h := range s.Items {
		if h.Entry.Scope.UserID == "mia" {
			t.Fatalf("forgotten content still searchable: %+v", h)
		}
	}
	if r := env.Do(t, "GET", "/v1/entries/"+a3.Entry.ID, wA, nil); r.Status != 200 {
		t.Fatalf("another user's entry: %d", r.Status)
	}
	if r := env.Do(t, "GET", "/v1/entries/"+b1.Entry.ID, wB, nil); r.Status != 200 {
		t.Fatalf("tenant B's entry for the same user id was touched: %d", r.Status)
	}
	// The audit record says what happened without naming the user.
	r = env.Do(t, "GET", "/v1/audit?action=entries.user_forgotten", adminA, nil)
	var audit struct {
		Items []struct {
			TargetID string         `json:"target_id"`
			Details  map[string]any `json:"details"`
		} `json:"items"`
	}
	r.JSON(t, &audit)
	if len(audit.Items) != 1 || !strings.HasPrefix(audit.Items[0].TargetID, "sha256:") || audit.Items[0].Details["entries_deleted"].(float64) != 2 ||
		strings.Contains(string(r.Body), "mia") {
		t.Fatalf("audit: %s", r.Body)
	}
}

func TestEntryBadInput(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "entries-bad")
	_, w := env.Key(t, admin, "write")
	_, read := env.Key(t, admin, "read")
	long := strings.Repeat("x", 32<<10+1)
	cases := []struct {
		name   string
		cred   string
		body   any
		status int
		field  string
	}{
		{"malformed JSON", w, `{"content": `, 400, ""},
		{"not an object", w, `["a"]`, 422, ""},
		{"unknown field", w, map[string]any{"content": "x", "owner": "me"}, 422, "owner"},
		{"no content", w, map[string]any{"kind": "fact"}, 422, "content"},
		{"blank content", w, map[string]any{"content": "  \n"}, 422, "content"},
		{"content too long", w, map[string]any{"content": long}, 422, "content"},
		{"bad kind", w, map[string]any{"content": "x", "kind": "Fact Sheet"}, 422, "kind"},
		{"bad key", w, map[string]any{"content": "x", "key": "has spaces"}, 422, "key"},
		{"too many tags", w, map[string]any{"content": "x", "tags": strings.Split(strings.Repeat("t,", 33), ",")}, 422, "tags"},
		{"empty tag", w, map[string]any{"content": "x", "tags": []string{""}}, 422, "tags"},
		{"expired", w, map[string]any{"content": "x", "expires_at": "2001-01-01T00:00:00Z"}, 422, "expires_at"},
		{"vector without space", w, map[string]any{"content": "x", "vector": []float32{1, 2}}, 422, "vector_space"},
		{"zero vector", w, map[string]any{"content": "x", "vector": []float32{0, 0}, "vector_space": "s"}, 422, "vector"},
		{"wrong type", w, map[string]any{"content": 5}, 422, "content"},
		{"scope too long", w, map[string]any{"content": "x", "scope": map[string]any{"user_id": strings.Repeat("u", 201)}}, 422, "user_id"},
		{"read key writes", read, map[string]any{"content": "x"}, 403, ""},
	}
	for _, c := range cases {
		r := env.Do(t, "POST", "/v1/entries", c.cred, c.body)
		if r.Status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			continue
		}
		p := r.Problem(t)
		if c.field != "" && !strings.Contains(fmt.Sprint(p["errors"]), c.field) {
			t.Errorf("%s: problem %v does not name %s", c.name, p, c.field)
		}
	}
	_, e := write(t, env, w, map[string]any{"content": "x"})
	for _, c := range []struct {
		body   any
		status int
	}{{map[string]any{}, 422}, {map[string]any{"status": "deleted"}, 422}, {map[string]any{"content": ""}, 422}, {map[string]any{"tags": []string{"", "a"}}, 422}, {`nope`, 400}} {
		if r := env.Do(t, "PATCH", "/v1/entries/"+e.Entry.ID, w, c.body); r.Status != c.status {
			t.Errorf("patch %v: %d, want %d: %s", c.body, r.Status, c.status, r.Body)
		}
	}
	if r := env.Do(t, "PATCH", "/v1/entries/"+e.Entry.ID, read, map[string]any{"content": "y"}); r.Status != 403 {
		t.Errorf("read key patches: %d", r.Status)
	}
	if r := env.Do(t, "GET", "/v1/entries/"+e.Entry.ID, read, nil); r.Status != 200 {
		t.Errorf("read key gets: %d", r.Status)
	}
	if r := env.Do(t, "GET", "/v1/entries/00000000-0000-0000-0000-000000000000", read, nil); r.Status != 404 {
		t.Errorf("unknown id: %d", r.Status)
	}
}
