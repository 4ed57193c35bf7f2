package judge

import "github.com/admem/admem"

// DefaultQuorum is how many independent sources must report against a
// shared item before what they report alone may retire it.
const DefaultQuorum = 2

// IndependentSources counts the independent sources among the provenances
// of some pieces of evidence: two pieces are independent only when both
// their keys and their agents differ. An agent that holds several keys
// counts once, and so does a key that names several agents; a piece with
// no agent named is its key's own. It is the smaller of the numbers of
// distinct keys and distinct agents.
func IndependentSources(ps []admem.Provenance) int {
	keys, agents := map[string]bool{}, map[string]bool{}
	for _, p := range ps {
		key := p.ActorKeyID
		if key == "" {
			// Unknown provenance can be told apart from nothing.
			key = "?"
		}
		agent := "agent:" + p.AgentID
		if p.AgentID == "" {
			agent = "key:" + key
		}
		keys[key], agents[agent] = true, true
	}
	return min(len(keys), len(agents))
}

// RetireBy reports whether feedback may retire an item whose counts call
// for it (Retire): an admin's feedback may alone; otherwise the sources
// that rated it unsuccessfully (against, the new rating included) must
// hold quorum independent ones (quorum < 1 means DefaultQuorum).
func RetireBy(uses, successes int, against []admem.Provenance, quorum int, admin bool) bool {
	if !Retire(uses, successes) {
		return false
	}
	if quorum < 1 {
		quorum = DefaultQuorum
	}
	return admin || IndependentSources(against) >= quorum
}
