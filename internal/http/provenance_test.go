package http_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

type provTrajOut struct {
	ID         string `json:"id"`
	Purged     bool   `json:"purged"`
	Provenance struct {
		ActorKeyID string `json:"actor_key_id"`
		AgentID    string `json:"agent_id"`
		SessionID  string `json:"session_id"`
	} `json:"provenance"`
	Steps []struct {
		Provenance struct {
			ActorKeyID string `json:"actor_key_id"`
			AgentID    string `json:"agent_id"`
		} `json:"provenance"`
	} `json:"steps"`
}

type provLearned struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	Version int    `json:"version"`
	Status  string `json:"status"`
}

// A key that fabricated failures is listed with what it taught and purged:
// its trajectories stop teaching, the mistake it alone made is retired as a
// new version, the honest key's procedure stays; another tenant can
// neither list nor purge it.
func TestProvenanceListAndPurge(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.Tenant(t, "prov")
	_, honest := env.Key(t, admin, "write")
	attackerID, attacker := env.Key(t, admin, "write")
	_, otherAdmin := env.Tenant(t, "prov-other")

	task := "update the postal address of customer 42"
	ok := map[string]any{"task": task, "outcome": "success", "scope": map[string]any{"agent_id": "helper", "session_id": "h-1"},
		"steps": []map[string]any{
			{"action": "get_customer", "args": map[string]any{"customer_id": "42"}, "observation": "{\"id\": \"42\"}"},
			{"action": "update_address", "args": map[string]any{"customer_id": "42", "street": "Main St 1"}, "observation": "ok"},
		}}
	if r := env.Do(t, "POST", "/v1/trajectories", honest, ok); r.Status != http.StatusCreated {
		t.Fatalf("honest record: %d %s", r.Status, r.Body)
	}
	var fake []string
	for i := 0; i < 3; i++ {
		bad := map[string]any{"task": task, "outcome": "failure", "scope": map[string]any{"agent_id": "mallory", "session_id": "m-1"},
			"steps": []map[string]any{
				{"action": "update_address", "args": map[string]any{"customer_id": "42", "street": "Main St 1"},
					"error": "Error: update_address is forbidden for this account"},
			}}
		r := env.Do(t, "POST", "/v1/trajectories", attacker, bad)
		if r.Status != http.StatusCreated {
			t.Fatalf("attacker record: %d %s", r.Status, r.Body)
		}
		var out provTrajOut
		r.JSON(t, &out)
		fake = append(fake, out.ID)
	}
	env.LearnPending(t, tenantID)

	// GET shows who sent the trajectory and each step; the key comes from
	// the credentials.
	var got provTrajOut
	env.Do(t, "GET", "/v1/trajectories/"+fake[0], admin, nil).JSON(t, &got)
	if got.Provenance.ActorKeyID != attackerID || got.Provenance.AgentID != "mallory" || got.Provenance.SessionID != "m-1" ||
		len(got.Steps) != 1 || got.Steps[0].Provenance.ActorKeyID != attackerID || got.Steps[0].Provenance.AgentID != "mallory" || got.Purged {
		t.Fatalf("provenance of a trajectory: %+v", got)
	}

	var mistakes struct{ Items []provLearned }
	env.Do(t, "GET", "/v1/learned?kind=mistake", admin, nil).JSON(t, &mistakes)
	var fakeMistake provLearned
	for _, m := range mistakes.Items {
		if strings.Contains(m.Key, "update_address") || fakeMistake.ID == "" {
			fakeMistake = m
		}
	}
	if fakeMistake.ID == "" {
		t.Fatalf("the fabricated failures taught no mistake: %+v", mistakes.Items)
	}
	var procs struct{ Items []provLearned }
	env.Do(t, "GET", "/v1/learned?kind=procedure", admin, nil).JSON(t, &procs)
	if len(procs.Items) != 1 {
		t.Fatalf("the honest success taught %d procedures", len(procs.Items))
	}

	// What the attacker taught.
	var rep struct {
		Source       map[string]string `json:"source"`
		Trajectories []provTrajOut     `json:"trajectories"`
		Learned      []struct {
			ID       string `json:"id"`
			Evidence int    `json:"evidence"`
		} `json:"learned"`
		Purges []map[string]any `json:"purges"`
	}
	r := env.Do(t, "GET", "/v1/provenance?key_id="+attackerID, admin, nil)
	r.JSON(t, &rep)
	if r.Status != http.StatusOK || len(rep.Trajectories) != 3 || len(rep.Purges) != 0 {
		t.Fatalf("provenance of the attacker: %d %s", r.Status, r.Body)
	}
	// The mistake is the attacker's; so are the pitfalls its failures
	// added to the honest procedure (the reflect strategy).
	found, pitfalls := false, false
	for _, l := range rep.Learned {
		found = found || (l.ID == fakeMistake.ID && l.Evidence >= 3)
		pitfalls = pitfalls || (l.ID == procs.Items[0].ID && l.Evidence == 3)
	}
	if !found || !pitfalls {
		t.Fatalf("the attacker's mistake or pitfalls are not listed: %s", r.Body)
	}
	r = env.Do(t, "GET", "/v1/provenance?agent_id=mallory", admin, nil)
	r.JSON(t, &rep)
	if r.Status != http.StatusOK || len(rep.Trajectories) != 3 {
		t.Fatalf("provenance of the agent: %d %s", r.Status, r.Body)
	}

	// Another tenant cannot list or purge the key; a write key cannot
	// either; a request naming nothing is bad input.
	for _, c := range []struct {
		method, path, cred string
		body               any
		status             int
	}{
		{"GET", "/v1/provenance?key_id=" + attackerID, otherAdmin, nil, http.StatusNotFound},
		{"POST", "/v1/provenance/purge", otherAdmin, map[string]any{"key_id": attackerID}, http.StatusNotFound},
		{"GET", "/v1/provenance?key_id=" + attackerID, honest, nil, http.StatusForbidden},
		{"POST", "/v1/provenance/purge", attacker, map[string]any{"key_id": attackerID}, http.StatusForbidden},
		{"GET", "/v1/provenance", admin, nil, 0},
		{"POST", "/v1/provenance/purge", admin, map[string]any{}, 0},
		{"GET", "/v1/provenance?key_id=" + url.QueryEscape("not a key"), admin, nil, 0},
		{"POST", "/v1/provenance/purge", admin, map[string]any{"key_id": "nope"}, 0},
	} {
		r := env.Do(t, c.method, c.path, c.cred, c.body)
		bad := c.status == 0 && (r.Status == http.StatusBadRequest || r.Status == http.StatusUnprocessableEntity)
		if r.Status != c.status && !bad {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("%s %s: content type %q", c.method, c.path, ct)
		}
	}
	// The other tenant's purge attempt changed nothing here.
	env.Do(t, "GET", "/v1/trajectories/"+fake[0], admin, nil).JSON(t, &got)
	if got.Purged {
		t.Fatal("another tenant's purge reached this tenant")
	}

	// Purge.
	var p struct {
		ID           string `json:"id"`
		Trajectories int    `json:"trajectories"`
		Items        int    `json:"items"`
	}
	r = env.Do(t, "POST", "/v1/provenance/purge", admin, map[string]any{"key_id": attackerID})
	r.JSON(t, &p)
	if r.Status != http.StatusOK || p.Trajectories != 3 || p.Items < 1 {
		t.Fatalf("purge: %d %s", r.Status, r.Body)
	}
	env.Do(t, "GET", "/v1/trajectories/"+fake[0], admin, nil).JSON(t, &got)
	if !got.Purged {
		t.Fatal("a purged trajectory is not marked purged")
	}
	// The mistake only the attacker taught is retired, as a new version
	// whose source names the purge; its history is kept.
	var after provLearned
	env.Do(t, "GET", "/v1/learned/"+fakeMistake.ID, admin, nil).JSON(t, &after)
	if after.Status != "retired" || after.Version != fakeMistake.Version+1 {
		t.Fatalf("after the purge the attacker's mistake is %+v (was %+v)", after, fakeMistake)
	}
	var vs struct {
		Items []struct {
			Version int    `json:"version"`
			Source  string `json:"source"`
		} `json:"items"`
	}
	env.Do(t, "GET", "/v1/learned/"+fakeMistake.ID+"/versions", admin, nil).JSON(t, &vs)
	if len(vs.Items) != after.Version || vs.Items[0].Source != "purge:"+p.ID {
		t.Fatalf("versions after the purge: %+v", vs.Items)
	}
	// The honest procedure stays, recomputed without the attacker's
	// pitfalls as a new version.
	var proc struct {
		provLearned
		Content string `json:"content"`
	}
	env.Do(t, "GET", "/v1/learned/"+procs.Items[0].ID, admin, nil).JSON(t, &proc)
	if proc.Status != "active" || proc.Version != procs.Items[0].Version+1 || strings.Contains(proc.Content, "forbidden") ||
		!strings.Contains(proc.Content, "update_address") {
		t.Fatalf("the honest procedure after the purge: %+v", proc)
	}
	// Guard no longer holds the fabricated mistake against the honest call.
	var g struct {
		Results []struct {
			Decision string `json:"decision"`
		} `json:"results"`
	}
	env.Do(t, "POST", "/v1/guard", honest, map[string]any{"task": task,
		"actions": []map[string]any{{"action": "update_address", "args": map[string]any{"customer_id": "42", "street": "Main St 1"}}}}).JSON(t, &g)
	for _, res := range g.Results {
		if res.Decision == "block" {
			t.Fatalf("guard still blocks the honest call after the purge: %+v", g)
		}
	}
	// An event of a purged trajectory still on its way teaches nothing:
	// learning again changes nothing.
	env.LearnPending(t, tenantID)
	env.Do(t, "GET", "/v1/learned/"+fakeMistake.ID, admin, nil).JSON(t, &after)
	if after.Status != "retired" {
		t.Fatalf("the purged mistake came back: %+v", after)
	}
	// The listing shows the purge, and the audit log has it.
	env.Do(t, "GET", "/v1/provenance?key_id="+attackerID, admin, nil).JSON(t, &rep)
	if len(rep.Purges) != 1 || len(rep.Trajectories) != 3 || !rep.Trajectories[0].Purged {
		t.Fatalf("provenance after the purge: %+v", rep)
	}
	var audit struct {
		Items []struct {
			Action   string `json:"action"`
			TargetID string `json:"target_id"`
		} `json:"items"`
	}
	env.Do(t, "GET", "/v1/audit?action=provenance.purged", admin, nil).JSON(t, &audit)
	if len(audit.Items) != 1 || audit.Items[0].TargetID != p.ID {
		t.Fatalf("audit: %+v", audit.Items)
	}
	env.Do(t, "GET", "/v1/audit?action=provenance.purged", otherAdmin, nil).JSON(t, &audit)
	if len(audit.Items) != 0 {
		t.Fatal("another tenant sees the purge in its audit log")
	}
}
