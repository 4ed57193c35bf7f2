package http_test

import (
	"net/http"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

// One key, or several keys of one agent, cannot retire a shared item by
// calling it harmful; a second independent source can, an admin alone
// can, and the tenant sets the quorum. Purging a rater takes its ratings
// back. Every rating and version records its source.
func TestFeedbackWeighsItsSource(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.Tenant(t, "feedback-sources")
	_ = tenantID
	writerID, writer := env.Key(t, admin, "write")
	attackerID, attacker := env.Key(t, admin, "write")
	_, attacker2 := env.Key(t, admin, "write")
	_, honest := env.Key(t, admin, "write")

	w := env.Do(t, "POST", "/v1/entries", writer, map[string]any{"kind": "fact", "content": "Gold members get free seat selection on every flight",
		"scope": map[string]any{"agent_id": "kb-bot", "session_id": "kb-7"}})
	if w.Status != http.StatusCreated {
		t.Fatalf("write: %d %s", w.Status, w.Body)
	}
	var wr struct {
		Entry struct {
			ID string `json:"id"`
		} `json:"entry"`
	}
	w.JSON(t, &wr)
	factID := wr.Entry.ID
	query := map[string]any{"task": "seat selection for a gold member flight", "kinds": []string{"fact"}}

	type entryOut struct {
		ID     string `json:"id"`
		Uses   int    `json:"uses"`
		Status string `json:"status"`
	}
	rate := func(cred, agent string) entryOut {
		t.Helper()
		var rec recallOut
		r := env.Do(t, "POST", "/v1/recall", cred, query)
		r.JSON(t, &rec)
		if r.Status != 200 || len(rec.Items) != 1 || rec.Items[0].ID != factID {
			t.Fatalf("recall: %d %s", r.Status, r.Body)
		}
		body := map[string]any{"outcome": "failure", "harmful": []string{factID}}
		if agent != "" {
			body["agent_id"] = agent
		}
		r = env.Do(t, "POST", "/v1/recalls/"+rec.RecallID+"/feedback", cred, body)
		var out struct {
			UpdatedEntries []entryOut `json:"updated_entries"`
		}
		r.JSON(t, &out)
		if r.Status != 200 || len(out.UpdatedEntries) != 1 {
			t.Fatalf("feedback: %d %s", r.Status, r.Body)
		}
		return out.UpdatedEntries[0]
	}
	// Five harmful ratings from one key: still active.
	for i := 0; i < 5; i++ {
		if e := rate(attacker, "mallory"); e.Status != "active" || e.Uses != i+1 {
			t.Fatalf("rating %d by one key: %+v", i, e)
		}
	}
	// A second key of the same agent is not independent.
	if e := rate(attacker2, "mallory"); e.Status != "active" {
		t.Fatalf("a second key of the same agent retired the fact: %+v", e)
	}
	// Nor is the same key naming another agent.
	if e := rate(attacker, "eve"); e.Status != "active" {
		t.Fatalf("one key naming two agents retired the fact: %+v", e)
	}

	// Who rated is on record.
	var rep struct {
		Feedback []struct {
			RecallID   string `json:"recall_id"`
			Provenance struct {
				ActorKeyID string `json:"actor_key_id"`
				AgentID    string `json:"agent_id"`
			} `json:"provenance"`
		} `json:"feedback"`
	}
	env.Do(t, "GET", "/v1/provenance?key_id="+attackerID, admin, nil).JSON(t, &rep)
	if len(rep.Feedback) != 6 || rep.Feedback[0].Provenance.ActorKeyID != attackerID || rep.Feedback[0].Provenance.AgentID != "eve" {
		t.Fatalf("the attacker's feedback: %+v", rep.Feedback)
	}

	// Purging the attacker takes its six ratings back.
	var p struct {
		Feedback int `json:"feedback"`
	}
	r := env.Do(t, "POST", "/v1/provenance/purge", admin, map[string]any{"key_id": attackerID})
	r.JSON(t, &p)
	if r.Status != 200 || p.Feedback != 6 {
		t.Fatalf("purge: %d %s", r.Status, r.Body)
	}
	var e entryOut
	env.Do(t, "GET", "/v1/entries/"+factID, admin, nil).JSON(t, &e)
	if e.Uses != 1 || e.Status != "active" {
		t.Fatalf("after the purge: %+v", e)
	}

	// Independent sources: the rating left (the second key's, as
	// "mallory") and an honest agent's retire it once the counts call for it.
	if e := rate(honest, "support-bot"); e.Status != "active" || e.Uses != 2 {
		t.Fatalf("retired before the counts called for it: %+v", e)
	}
	if e := rate(honest, "support-bot"); e.Status != "retired" {
		t.Fatalf("two independent sources did not retire the fact: %+v", e)
	}

	// The entry's versions record who wrote them and as which agent.
	var vs struct {
		Items []struct {
			Provenance struct {
				ActorKeyID string `json:"actor_key_id"`
				AgentID    string `json:"agent_id"`
				SessionID  string `json:"session_id"`
			} `json:"provenance"`
		} `json:"items"`
	}
	env.Do(t, "GET", "/v1/entries/"+factID+"/versions", admin, nil).JSON(t, &vs)
	last := vs.Items[len(vs.Items)-1].Provenance
	if last.ActorKeyID != writerID || last.AgentID != "kb-bot" || last.SessionID != "kb-7" {
		t.Fatalf("first version's provenance: %+v", last)
	}

	// A tenant may ask for more sources; an admin alone may retire.
	var st struct {
		RetireQuorum int `json:"retire_quorum"`
	}
	env.Do(t, "GET", "/v1/learning/settings", admin, nil).JSON(t, &st)
	if st.RetireQuorum != 2 {
		t.Fatalf("default quorum %d", st.RetireQuorum)
	}
	if r := env.Do(t, "PUT", "/v1/learning/settings", admin, map[string]any{"retire_quorum": 0}); r.Status != http.StatusBadRequest &&
		r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("quorum 0: %d %s", r.Status, r.Body)
	}
	r = env.Do(t, "PUT", "/v1/learning/settings", admin, map[string]any{"retire_quorum": 3})
	r.JSON(t, &st)
	if r.Status != 200 || st.RetireQuorum != 3 {
		t.Fatalf("put quorum: %d %s", r.Status, r.Body)
	}
	w = env.Do(t, "POST", "/v1/entries", writer, map[string]any{"kind": "fact", "content": "Silver members pay for checked bags on every flight"})
	w.JSON(t, &wr)
	factID = wr.Entry.ID
	query = map[string]any{"task": "checked bags for a silver member flight", "kinds": []string{"fact"}}
	rate(honest, "a")
	rate(attacker2, "b")
	if e := rate(honest, "a"); e.Status != "active" || e.Uses != 3 {
		t.Fatalf("two sources retired the fact under a quorum of 3: %+v", e)
	}
	if e := rate(admin, ""); e.Status != "retired" {
		t.Fatalf("an admin's feedback did not retire: %+v", e)
	}
}
