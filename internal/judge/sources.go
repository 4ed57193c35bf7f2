package judge

import "github.com/admem/admem"

// DefaultQuorum is how many independent sources must report against a
// shared item before what they report alone may retire it.
const DefaultQuorum = 2

// IndependentSources counts the independent sources among the provenances
// of some pieces of evidence. Pieces that share a key or share an agent
// come from one source, and so, transitively, do all pieces linked that
// way: an agent that holds several keys counts once, a key that names
// several agents counts once, and so does any chain of them. A piece that
// names no agent is its key's own. It is the number of connected parts of
// the graph of keys and agents the pieces link.
func IndependentSources(ps []admem.Provenance) int {
	parent := map[string]string{}
	var find func(x string) string
	find = func(x string) string {
		if parent[x] == x {
			return x
		}
		parent[x] = find(parent[x])
		return parent[x]
	}
	add := func(x string) {
		if _, ok := parent[x]; !ok {
			parent[x] = x
		}
	}
	for _, p := range ps {
		key := "key:" + p.ActorKeyID
		add(key)
		if p.AgentID == "" {
			continue
		}
		agent := "agent:" + p.AgentID
		add(agent)
		if a, b := find(key), find(agent); a != b {
			parent[a] = b
		}
	}
	n := 0
	for x := range parent {
		if find(x) == x {
			n++
		}
	}
	return n
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
