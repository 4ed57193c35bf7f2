package mistake

import (
	"fmt"
	"testing"

	"github.com/admem/admem"
)

// An error that names the entity and a word of the call ("currency USD
// does not match the settings of CUS-1") is about that word for that
// entity: the entity's calls with another word are not at risk.
func TestInstanceKeepsQuotedWord(t *testing.T) {
	b := NewBook()
	for i := range 5 {
		cus := fmt.Sprint("CUS-", 20+i)
		learn(b, traj(fmt.Sprint("ok", i), "bill customer "+cus, step{tool: "bill", args: args("customer_id", cus, "currency", "USD")}))
	}
	for i := range 2 {
		learn(b, traj(fmt.Sprint("f", i), "bill customer CUS-1",
			step{tool: "bill", args: args("customer_id", "CUS-1", "currency", "USD"), err: "currency USD does not match the account settings of CUS-1"}))
	}
	same := risk(b, "bill customer CUS-1", nil, Call{Tool: "bill", Args: args("customer_id", "CUS-1", "currency", "USD")})
	other := risk(b, "bill customer CUS-1", nil, Call{Tool: "bill", Args: args("customer_id", "CUS-1", "currency", "EUR")})
	if same.Risk < 0.5 || other.Risk >= 0.5 {
		t.Fatalf("risk of the entity with the word that failed %.2f (want ≥ 0.5), with another word %.2f (want < 0.5)", same.Risk, other.Risk)
	}
}

// A value from neither the task nor a result is a mistake where a result
// would have carried it; in a context that holds only the latest steps,
// it counts as one only when a result there shows the argument.
func TestPartialContextSourceInSight(t *testing.T) {
	b := NewBook()
	for i := range 5 {
		node := fmt.Sprint("N-", 400+i)
		real := fmt.Sprint("lck_", 7000+i)
		learn(b, traj(fmt.Sprint("t", i), "rename node "+node,
			step{tool: "rename_node", args: args("node_id", node, "lock_token", "lck_0000"), err: "lock_token lck_0000 does not match the current version of node " + node},
			step{tool: "read_node", args: args("node_id", node), obs: `{"node_id":"` + node + `","lock_token":"` + real + `"}`},
			step{tool: "rename_node", args: args("node_id", node, "lock_token", real)}))
	}
	task := "rename node N-900 and tag it"
	c := Call{Tool: "rename_node", Args: args("node_id", "N-900", "lock_token", "lck_9123")}
	// The latest steps: a step about the node worked, but its result has no
	// lock token; the agent may have read the token before them.
	unseen := []admem.Step{
		{Index: 7, Action: "tag_node", Args: args("node_id", "N-900"), Status: admem.StepOK, Observation: `{"node_id":"N-900","tags":["blue"]}`},
	}
	// The latest steps show the node's token, and the call does not use it.
	seen := []admem.Step{
		{Index: 7, Action: "read_node", Args: args("node_id", "N-900"), Status: admem.StepOK, Observation: `{"node_id":"N-900","lock_token":"lck_5555"}`},
	}
	if a := risk(b, task, unseen, c); a.Risk >= 0.5 {
		t.Errorf("risk with the token's source out of sight %.2f, want < 0.5", a.Risk)
	}
	if a := risk(b, task, seen, c); a.Risk < 0.5 {
		t.Errorf("risk with a token other than the one in sight %.2f, want ≥ 0.5", a.Risk)
	}
	ok := Call{Tool: "rename_node", Args: args("node_id", "N-900", "lock_token", "lck_5555")}
	if a := risk(b, task, seen, ok); a.Risk >= 0.5 {
		t.Errorf("risk with the token in sight %.2f, want < 0.5", a.Risk)
	}
}

// Agents retrying the identical failing call in run after run say nothing
// about other calls: a failure that depends on the entity's state does not
// become a warning for every call of the tool.
func TestRetriedFailureCountsOnce(t *testing.T) {
	b := NewBook()
	for i := range 3 {
		id := fmt.Sprint("IT-", 100+i)
		for j := range 4 {
			learn(b, traj(fmt.Sprint("f", i, j), "process the item",
				step{tool: "process_item", args: args("item", id, "mode", "full"), err: "cannot process " + id + ": current status held"}))
		}
	}
	for i := range 5 {
		learn(b, traj(fmt.Sprint("ok", i), "process the item", step{tool: "process_item", args: args("item", fmt.Sprint("IT-", 200+i), "mode", "full")}))
	}
	if a := risk(b, "process the item", nil, Call{Tool: "process_item", Args: args("item", "IT-300", "mode", "full")}); a.Risk >= 0.5 {
		t.Fatalf("risk of another item %.2f, want < 0.5 %+v", a.Risk, a.Matches[0].Mistake.Rule)
	} else {
		t.Logf("risk %.2f %+v %+v", a.Risk, a.Matches[0].Mistake.Rule, a.Matches[0].Mistake.Instances)
	}
}

// Calls about many entities fail with an error that names each one's state
// ("work item W-3 is blocked"), and calls alike about others work: nothing
// in the call tells them apart, so for a new entity the state the error
// speaks of is a guess, worth at most half the warning an entity that
// failed gets.
func TestUnseenStateIsAGuess(t *testing.T) {
	b := NewBook()
	for i := range 14 {
		id := fmt.Sprint("W-", 10+i)
		if i%7 == 6 {
			learn(b, traj(fmt.Sprint("ok", i), "accept work item "+id, step{tool: "accept_item", args: args("item_id", id, "memo", "ok")}))
			continue
		}
		learn(b, traj(fmt.Sprint("f", i), "accept work item "+id, step{tool: "accept_item", args: args("item_id", id, "memo", "ok"), err: "work item " + id + " is blocked"}))
	}
	same := risk(b, "accept work item W-10", nil, Call{Tool: "accept_item", Args: args("item_id", "W-10", "memo", "ok")})
	other := risk(b, "accept work item W-99", nil, Call{Tool: "accept_item", Args: args("item_id", "W-99", "memo", "ok")})
	if same.Risk < 0.5 || other.Risk > same.Risk/2 {
		t.Fatalf("risk of an entity that failed %.2f (want ≥ 0.5), of a new one %.2f (want at most half of it)", same.Risk, other.Risk)
	}
}
