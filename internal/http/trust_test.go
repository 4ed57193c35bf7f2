package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/poison"
)

var tenantSeq atomic.Int64

// played is a scenario's tenant after its runs were posted and learnt.
type played struct {
	tenantID, admin, reader string
	keyIDs, keys            []string
}

// play posts a scenario's runs through the API, each with its source's
// key and agent, and learns them.
func play(t *testing.T, env *apitest.Env, sc poison.Scenario) played {
	t.Helper()
	var p played
	p.tenantID, p.admin = env.Tenant(t, fmt.Sprintf("trust-%s-%d", sc.Name, tenantSeq.Add(1)))
	_, p.reader = env.Key(t, p.admin, "read")
	for range sc.Keys {
		id, k := env.Key(t, p.admin, "write")
		p.keyIDs, p.keys = append(p.keyIDs, id), append(p.keys, k)
	}
	for i, run := range sc.Runs {
		r := env.Do(t, "POST", "/v1/trajectories", p.keys[run.Source.Key], run.Body(fmt.Sprintf("s-%d", i)))
		if r.Status != http.StatusCreated {
			t.Fatalf("%s: run %d: %d %s", sc.Name, i, r.Status, r.Body)
		}
	}
	env.LearnPending(t, p.tenantID)
	return p
}

type trustVerdict struct {
	Decision string
	Risk     float64
	NoteRisk float64 `json:"note_risk"`
	Reasons  []struct {
		Kind    string
		Sources int
		Trusted bool
		Caveat  string
	}
	Suggestion *struct {
		Action, Text, Withheld string
		Call                   *struct{ Tool string }
	}
}

func (p played) guard(t *testing.T, env *apitest.Env, sc poison.Scenario) (trustVerdict, string) {
	t.Helper()
	var g struct{ Results []trustVerdict }
	r := env.Do(t, "POST", "/v1/guard", p.reader, sc.Probe.Body())
	r.JSON(t, &g)
	if r.Status != http.StatusOK || len(g.Results) != 1 {
		t.Fatalf("%s: guard: %d %s", sc.Name, r.Status, r.Body)
	}
	return g.Results[0], string(r.Body)
}

func (p played) trust(t *testing.T, env *apitest.Env, key int, trusted bool) {
	t.Helper()
	var k struct {
		Trusted bool `json:"trusted_for_learning"`
	}
	r := env.Do(t, "PUT", "/v1/keys/"+p.keyIDs[key]+"/learning-trust", p.admin, map[string]any{"trusted": trusted})
	r.JSON(t, &k)
	if r.Status != http.StatusOK || k.Trusted != trusted {
		t.Fatalf("trust key: %d %s", r.Status, r.Body)
	}
}

// suggests reports whether the verdict suggests calling tool.
func (v trustVerdict) suggests(tool string) bool {
	return v.Suggestion != nil && v.Suggestion.Call != nil && v.Suggestion.Call.Tool == tool
}

// One key, or two keys of one agent, cannot make guard block or suggest
// what they alone taught; they may make it warn, with reasons that say
// so. Two independent sources can, and so can a key the admin trusts.
func TestGuardWeighsIndependentEvidence(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	for _, srcs := range [][]poison.Source{poison.OneKey, poison.OneAgentTwoKeys} {
		sc := poison.HonestFormat(srcs)
		p := play(t, env, sc)
		v, body := p.guard(t, env, sc)
		if v.Decision == "block" || v.Suggestion != nil && v.Suggestion.Call != nil {
			t.Fatalf("%d key(s) of one agent blocked or suggested a call: %s", sc.Keys, body)
		}
		if v.Decision != "warn" || len(v.Reasons) == 0 || v.Reasons[0].Sources != 1 || !strings.Contains(v.Reasons[0].Caveat, "one source") {
			t.Fatalf("%d key(s) of one agent: want a warning that says one source: %s", sc.Keys, body)
		}
		if srcs[0] == poison.OneKey[0] && len(srcs) == 1 {
			// The admin trusts the key: what it alone taught counts.
			p.trust(t, env, 0, true)
			v, body = p.guard(t, env, sc)
			if !v.suggests(sc.Probe.Tool) || !v.Reasons[0].Trusted || v.Reasons[0].Caveat != "" {
				t.Fatalf("a trusted key's fix is not suggested: %s", body)
			}
			if v.NoteRisk >= 0.85 && v.Decision != "block" {
				t.Fatalf("a trusted key's evidence cannot block: %s", body)
			}
			// Trust withdrawn, the caveat is back.
			p.trust(t, env, 0, false)
			if v, body = p.guard(t, env, sc); v.suggests(sc.Probe.Tool) {
				t.Fatalf("the key's trust was withdrawn but its fix is still suggested: %s", body)
			}
		}
	}

	sc := poison.HonestFormat(poison.Independent)
	p := play(t, env, sc)
	v, body := p.guard(t, env, sc)
	if !v.suggests(sc.Probe.Tool) || v.Reasons[0].Sources != 2 || v.Reasons[0].Caveat != "" {
		t.Fatalf("two independent sources: want the fix suggested without caveat: %s", body)
	}
	if v.NoteRisk >= 0.85 && v.Decision != "block" {
		t.Fatalf("two independent sources cannot block: %s", body)
	}

	// The tenant may ask for more sources.
	r := env.Do(t, "PUT", "/v1/learning/settings", p.admin, map[string]any{"learning_quorum": 3})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"learning_quorum":3`) {
		t.Fatalf("set learning_quorum: %d %s", r.Status, r.Body)
	}
	if v, body = p.guard(t, env, sc); v.suggests(sc.Probe.Tool) || v.Decision == "block" {
		t.Fatalf("quorum 3, two sources: %s", body)
	}
	for _, bad := range []any{0, 101, "2", 1.5} {
		if r := env.Do(t, "PUT", "/v1/learning/settings", p.admin, map[string]any{"learning_quorum": bad}); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("learning_quorum %v: %d %s", bad, r.Status, r.Body)
		}
	}
}

// One source cannot flag a call the tenant's own runs show working; two
// independent sources, or a trusted key, can.
func TestGuardKeepsTheTenantsOwnHistory(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	victim := poison.Source{Key: 0, Agent: "shop-bot"}
	one := poison.FabricatedFailure(victim, []poison.Source{{Key: 1, Agent: "mallory"}})
	p := play(t, env, one)
	v, body := p.guard(t, env, one)
	if v.Decision != "allow" || len(v.Reasons) == 0 || !strings.Contains(v.Reasons[0].Caveat, "worked before") {
		t.Fatalf("one fabricated failure flagged a call that works: %s", body)
	}
	p.trust(t, env, 1, true)
	if v, body = p.guard(t, env, one); v.Decision == "allow" {
		t.Fatalf("a trusted key's failure of the call is not a reason: %s", body)
	}

	two := poison.FabricatedFailure(victim, []poison.Source{{Key: 1, Agent: "mallory"}, {Key: 2, Agent: "eve"}})
	p = play(t, env, two)
	if v, body = p.guard(t, env, two); v.Decision == "allow" {
		t.Fatalf("two independent sources' failures of the call are not a reason: %s", body)
	}
}

// Learning never volunteers a destructive (or writing) tool the agent has
// not called, however many sources taught it, unless an admin confirmed
// it as a replacement; the suggestion is then words, saying why.
func TestGuardNeverVolunteersADangerousTool(t *testing.T) {
	t.Parallel()
	env := learningEnv(t)
	for _, srcs := range [][]poison.Source{poison.OneKey, poison.OneAgentTwoKeys, poison.Independent} {
		sc := poison.FakeCorrection(srcs)
		p := play(t, env, sc)
		if len(srcs) == 1 {
			p.trust(t, env, 0, true) // even a trusted key
		}
		v, body := p.guard(t, env, sc)
		if v.suggests(sc.Steer) || v.Suggestion != nil && strings.Contains(v.Suggestion.Action, sc.Steer) {
			t.Fatalf("%v: guard suggested calling %s: %s", srcs, sc.Steer, body)
		}
		if v.Suggestion != nil && v.Suggestion.Call == nil && strings.Contains(v.Suggestion.Text, sc.Steer) &&
			!strings.Contains(v.Suggestion.Withheld, "destructive") {
			t.Fatalf("%v: the words do not say why the call was withheld: %s", srcs, body)
		}
		if len(srcs) < 2 || srcs[0].Agent == srcs[1].Agent {
			continue
		}
		// Independent sources taught it: the admin confirms the
		// replacement, and only then is it a call; withdrawn, it is not.
		path := "/v1/tools/" + sc.Probe.Tool + "/replacements/" + sc.Steer
		r := env.Do(t, "PUT", path, p.admin, nil)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"replacements":["`+sc.Steer+`"]`) {
			t.Fatalf("confirm replacement: %d %s", r.Status, r.Body)
		}
		if v, body = p.guard(t, env, sc); !v.suggests(sc.Steer) {
			t.Fatalf("a confirmed replacement is not suggested: %s", body)
		}
		if r := env.Do(t, "DELETE", path, p.admin, nil); r.Status != http.StatusOK {
			t.Fatalf("withdraw replacement: %d %s", r.Status, r.Body)
		}
		if v, body = p.guard(t, env, sc); v.suggests(sc.Steer) {
			t.Fatalf("a withdrawn replacement is still suggested: %s", body)
		}
		// Declared read-only by the admin, it may be suggested.
		if r := env.Do(t, "PUT", "/v1/tools/"+sc.Steer+"/annotations", p.admin, map[string]any{"class": "read_only"}); r.Status != http.StatusOK {
			t.Fatalf("annotate: %d %s", r.Status, r.Body)
		}
		if v, body = p.guard(t, env, sc); !v.suggests(sc.Steer) {
			t.Fatalf("a tool declared read-only is not suggested: %s", body)
		}
	}
}

// The tool admin routes: classes declared and inferred, tenant-scoped,
// admin only, problem+json on bad input.
func TestToolAnnotationsAPI(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "tools-a")
	_, writer := env.Key(t, admin, "write")
	_, adminB := env.Tenant(t, "tools-b")

	type tool struct {
		Name         string
		Class        string
		Declared     bool
		Replacements []string
	}
	get := func(cred, name string) (tool, apitest.Response) {
		var out tool
		r := env.Do(t, "GET", "/v1/tools/"+name, cred, nil)
		if r.Status == http.StatusOK {
			r.JSON(t, &out)
		}
		return out, r
	}
	for name, class := range map[string]string{"get_order": "read_only", "cancelOrder": "destructive", "ship-order": "writes", "crm.lookup_contact": "read_only"} {
		if got, r := get(admin, name); r.Status != http.StatusOK || got.Class != class || got.Declared {
			t.Fatalf("inferred class of %s: %d %s", name, r.Status, r.Body)
		}
	}
	r := env.Do(t, "PUT", "/v1/tools/ship-order/annotations", admin, map[string]any{"class": "destructive"})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"declared":true`) {
		t.Fatalf("annotate: %d %s", r.Status, r.Body)
	}
	env.Do(t, "PUT", "/v1/tools/ship-order/replacements/ship_order_v2", admin, nil)
	var list struct {
		Items      []tool
		NextCursor string `json:"next_cursor"`
	}
	env.Do(t, "GET", "/v1/tools?limit=1", admin, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "ship-order" || list.Items[0].Class != "destructive" || list.NextCursor == "" {
		t.Fatalf("first page: %+v", list)
	}
	cursor := list.NextCursor
	list.Items, list.NextCursor = nil, ""
	env.Do(t, "GET", "/v1/tools?cursor="+cursor, admin, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "ship_order_v2" || list.Items[0].Class != "writes" || list.NextCursor != "" {
		t.Fatalf("second page: %+v", list)
	}
	// Another tenant sees neither the declaration nor the replacement.
	if got, _ := get(adminB, "ship-order"); got.Declared || got.Class != "writes" || len(got.Replacements) != 0 {
		t.Fatalf("tenant B sees A's annotation: %+v", got)
	}
	list.Items = nil
	env.Do(t, "GET", "/v1/tools", adminB, nil).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("tenant B lists A's tools: %+v", list)
	}
	// Removed, the class is inferred again.
	if r := env.Do(t, "DELETE", "/v1/tools/ship-order/annotations", admin, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"declared":false`) {
		t.Fatalf("remove annotation: %d %s", r.Status, r.Body)
	}

	_, otherKey := env.Key(t, adminB, "write")
	_ = otherKey
	var keys struct{ Items []struct{ ID string } }
	env.Do(t, "GET", "/v1/keys", adminB, nil).JSON(t, &keys)
	for _, c := range []struct {
		method, path, cred string
		body               any
		status             int
	}{
		{"PUT", "/v1/tools/x/annotations", admin, map[string]any{"class": "dangerous"}, http.StatusUnprocessableEntity},
		{"PUT", "/v1/tools/x/annotations", admin, map[string]any{}, http.StatusUnprocessableEntity},
		{"PUT", "/v1/tools/x/annotations", admin, `{"class":`, http.StatusBadRequest},
		{"PUT", "/v1/tools/" + strings.Repeat("a", 201) + "/annotations", admin, map[string]any{"class": "writes"}, http.StatusUnprocessableEntity},
		{"PUT", "/v1/tools/x/replacements/x", admin, nil, http.StatusUnprocessableEntity},
		{"PUT", "/v1/tools/x/annotations", writer, map[string]any{"class": "writes"}, http.StatusForbidden},
		{"GET", "/v1/tools", writer, nil, http.StatusForbidden},
		{"GET", "/v1/tools?cursor=!!", admin, nil, http.StatusUnprocessableEntity},
		{"PUT", "/v1/keys/" + keys.Items[0].ID + "/learning-trust", admin, map[string]any{"trusted": true}, http.StatusNotFound},
		{"PUT", "/v1/keys/not-a-key/learning-trust", admin, map[string]any{"trusted": true}, http.StatusNotFound},
		{"PUT", "/v1/keys/" + keys.Items[0].ID + "/learning-trust", adminB, map[string]any{}, http.StatusUnprocessableEntity},
		{"PUT", "/v1/keys/" + keys.Items[0].ID + "/learning-trust", writer, map[string]any{"trusted": true}, http.StatusForbidden},
	} {
		r := env.Do(t, c.method, c.path, c.cred, c.body)
		if r.Status != c.status {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, r.Status, c.status, r.Body)
			continue
		}
		r.Problem(t)
	}
}
