package judge

import (
	"testing"

	"github.com/admem/admem"
)

func TestIndependentSources(t *testing.T) {
	t.Parallel()
	p := func(key, agent string) admem.Provenance { return admem.Provenance{ActorKeyID: key, AgentID: agent} }
	for _, c := range []struct {
		name string
		ps   []admem.Provenance
		want int
	}{
		{"none", nil, 0},
		{"one key many times", []admem.Provenance{p("a", ""), p("a", ""), p("a", "")}, 1},
		{"two keys, no agents", []admem.Provenance{p("a", ""), p("b", "")}, 2},
		{"two keys of one agent", []admem.Provenance{p("a", "x"), p("b", "x")}, 1},
		{"one key naming two agents", []admem.Provenance{p("a", "x"), p("a", "y")}, 1},
		{"a chain of keys and agents", []admem.Provenance{p("a", "x"), p("b", "x"), p("a", "y"), p("c", "y")}, 1},
		{"two keys, two agents", []admem.Provenance{p("a", "x"), p("b", "y")}, 2},
		{"an agent's key, and the same key without agent", []admem.Provenance{p("a", "x"), p("a", "")}, 1},
	} {
		if got := IndependentSources(c.ps); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestRetireBy(t *testing.T) {
	t.Parallel()
	one := []admem.Provenance{{ActorKeyID: "a"}, {ActorKeyID: "a"}, {ActorKeyID: "a"}}
	two := []admem.Provenance{{ActorKeyID: "a"}, {ActorKeyID: "b"}, {ActorKeyID: "a"}}
	for _, c := range []struct {
		name            string
		uses, successes int
		against         []admem.Provenance
		quorum          int
		admin, want     bool
	}{
		{"one source", 3, 0, one, 2, false, false},
		{"one source, quorum 1", 3, 0, one, 1, false, true},
		{"two sources", 3, 0, two, 2, false, true},
		{"two sources, quorum 3", 3, 0, two, 3, false, false},
		{"default quorum", 3, 0, two, 0, false, true},
		{"admin alone", 3, 0, one, 2, true, true},
		{"counts do not call for it", 3, 2, two, 2, true, false},
		{"too few uses", 2, 0, two, 2, true, false},
	} {
		if got := RetireBy(c.uses, c.successes, c.against, c.quorum, c.admin); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
