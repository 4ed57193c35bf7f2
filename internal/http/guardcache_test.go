package http_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/guard"
	"github.com/admem/admem/internal/poison"
	"github.com/admem/admem/internal/readcache"
)

// Every change of what guard reads — learning, trust, quorum, settings,
// tool policy, a cluster's suppression, a key's revocation, a purge — is
// seen by the cached knowledge on the next request, exactly as a direct
// read sees it; a tenant's copy is never served to another tenant with the
// same tools. Each step first checks that the change does change the
// knowledge, so that no step can pass by changing nothing.
func TestGuardCacheFollowsEveryChange(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	ctx := context.Background()
	db := env.Infra.DB
	cache := readcache.NewGuard(db)
	sc := poison.HonestFormat(poison.Independent)
	a := play(t, env, sc)
	b := play(t, env, sc) // same tools, same story, another tenant
	tools := []string{sc.Probe.Tool}

	check := func(step string, p played) guard.Knowledge {
		t.Helper()
		// Histories first: a knowledge read must not be what refreshes them.
		wantH, err := db.GuardHistories(ctx, p.tenantID, tools)
		if err != nil {
			t.Fatalf("%s: direct histories: %v", step, err)
		}
		gotH, err := cache.GuardHistories(ctx, p.tenantID, tools)
		if err != nil {
			t.Fatalf("%s: cached histories: %v", step, err)
		}
		if len(wantH) == 0 || !reflect.DeepEqual(gotH, wantH) {
			t.Fatalf("%s: the cache serves stale or foreign histories (%d cached, %d direct)", step, len(gotH), len(wantH))
		}
		want, err := db.GuardKnowledge(ctx, p.tenantID, tools)
		if err != nil {
			t.Fatalf("%s: direct read: %v", step, err)
		}
		got, err := cache.GuardKnowledge(ctx, p.tenantID, tools)
		if err != nil {
			t.Fatalf("%s: cached read: %v", step, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the cache serves stale or foreign knowledge:\ncached %+v\ndirect %+v", step, got, want)
		}
		return want
	}
	ka, kb := check("tenant a", a), check("tenant b", b)
	if len(ka.Mistakes) == 0 || len(kb.Mistakes) == 0 || ka.Mistakes[0].ID == kb.Mistakes[0].ID {
		t.Fatalf("the scenario should teach each tenant its own mistake: %d, %d", len(ka.Mistakes), len(kb.Mistakes))
	}
	stampB, err := db.GuardStamp(ctx, b.tenantID)
	if err != nil {
		t.Fatal(err)
	}

	do := func(method, path string, body any) {
		t.Helper()
		if r := env.Do(t, method, path, a.admin, body); r.Status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
	}
	suppress := func(on bool) {
		var failures struct {
			Items []clusterBody `json:"items"`
		}
		env.Do(t, "GET", "/v1/failures?include_suppressed=true&tool="+sc.Probe.Tool, a.admin, nil).JSON(t, &failures)
		if len(failures.Items) == 0 {
			t.Fatal("no failure cluster for the probe's tool")
		}
		for _, f := range failures.Items {
			do("PATCH", "/v1/failures/"+f.ID, map[string]any{"suppressed": on})
		}
	}
	steps := []struct {
		name   string
		change func()
	}{
		{"key trusted", func() { do("PUT", "/v1/keys/"+a.keyIDs[0]+"/learning-trust", map[string]any{"trusted": true}) }},
		{"key revoked", func() { do("DELETE", "/v1/keys/"+a.keyIDs[0], nil) }},
		{"quorum", func() { do("PUT", "/v1/learning/settings", map[string]any{"learning_quorum": 3}) }},
		{"thresholds", func() { do("PUT", "/v1/guard/settings", map[string]any{"warn": 0.4, "block": 0.95}) }},
		{"more learnt", func() {
			for i := range 3 {
				run := poison.Run{Source: poison.Source{Key: 1, Agent: fmt.Sprintf("agent-%d", i)}, Task: "book a table for the guest",
					Steps: []poison.Step{{Tool: sc.Probe.Tool, Args: map[string]any{"mode": "fast"}, Error: "Error: mode fast is not supported for bookings"}}}
				if r := env.Do(t, "POST", "/v1/trajectories", a.keys[1], run.Body(fmt.Sprintf("more-%d", i))); r.Status != http.StatusCreated {
					t.Fatalf("post: %d %s", r.Status, r.Body)
				}
			}
			env.LearnPending(t, a.tenantID)
		}},
		{"clusters suppressed", func() { suppress(true) }},
		{"clusters unsuppressed", func() { suppress(false) }},
		{"source purged", func() { do("POST", "/v1/provenance/purge", map[string]any{"key_id": a.keyIDs[1]}) }},
	}
	for _, s := range steps {
		before := check(s.name+" (before)", a)
		s.change()
		after := check(s.name, a)
		if reflect.DeepEqual(before, after) {
			t.Fatalf("%s: the change did not change guard's knowledge; the step checks nothing", s.name)
		}
		if got, _ := cache.GuardKnowledge(ctx, b.tenantID, tools); !reflect.DeepEqual(got, kb) {
			t.Fatalf("%s: tenant b's knowledge changed with tenant a's change", s.name)
		}
	}

	// The tool policy, on a tenant whose fixes call another tool.
	fc := poison.FakeCorrection(poison.Independent)
	c := play(t, env, fc)
	tools = []string{fc.Probe.Tool}
	path := "/v1/tools/" + fc.Probe.Tool + "/replacements/" + fc.Steer
	for _, s := range []struct {
		name         string
		method, path string
		body         any
	}{
		{"replacement confirmed", "PUT", path, nil},
		{"replacement withdrawn", "DELETE", path, nil},
		{"tool annotated", "PUT", "/v1/tools/" + fc.Steer + "/annotations", map[string]any{"class": "read_only"}},
		{"annotation removed", "DELETE", "/v1/tools/" + fc.Steer + "/annotations", nil},
	} {
		before := check(s.name+" (before)", c)
		if r := env.Do(t, s.method, s.path, c.admin, s.body); r.Status >= 300 {
			t.Fatalf("%s: %d %s", s.name, r.Status, r.Body)
		}
		if after := check(s.name, c); reflect.DeepEqual(before, after) {
			t.Fatalf("%s: the change did not change guard's knowledge; the step checks nothing", s.name)
		}
	}
	if st, err := db.GuardStamp(ctx, b.tenantID); err != nil || st != stampB {
		t.Fatalf("tenant a's changes moved tenant b's stamp: %+v → %+v (%v)", stampB, st, err)
	}
}

// Concurrent guard requests share one cached copy of the knowledge and
// the histories: guard must only read them (the race detector fails this
// test otherwise), and each answer equals the uncached service's. With one
// source, guard weighs the claim against the tool's history.
func TestGuardCacheSharedByConcurrentRequests(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	for _, srcs := range [][]poison.Source{poison.Independent, poison.OneKey} {
		guardConcurrently(t, env, poison.HonestFormat(srcs))
	}
}

func guardConcurrently(t *testing.T, env *apitest.Env, sc poison.Scenario) {
	p := play(t, env, sc)
	db := env.Infra.DB
	cached, direct := guard.New(readcache.NewGuard(db), nil), guard.New(db, nil)
	principal := admem.Principal{TenantID: p.tenantID, Scopes: []admem.KeyScope{admem.ScopeRead}}
	req := guard.Request{Task: sc.Probe.Task, Candidates: []guard.Candidate{
		{Tool: sc.Probe.Tool, Args: sc.Probe.Args}, {Tool: sc.Probe.Tool, Args: map[string]any{"mode": "safe"}}}}
	for _, st := range sc.Probe.Context {
		req.Context = append(req.Context, admem.Step{Action: st.Tool, Args: st.Args, Status: admem.StepOK})
	}
	want, err := direct.Check(context.Background(), principal, req)
	if err != nil {
		t.Fatal(err)
	}
	if want.Verdicts[0].Decision == guard.Allow {
		t.Fatalf("the probe should be flagged: %+v", want.Verdicts[0])
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got, err := cached.Check(context.Background(), principal, req)
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(got, want) {
					errs <- fmt.Errorf("cached answer differs:\n%+v\n%+v", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
