package sim

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/admem/admem"
)

// refMemory is a deliberately naive in-process memory, for tests only: it
// proves the loop can learn. From each recorded trajectory it writes a
// mistake note per failed step (the action with task values wildcarded, the
// previous tool, and the next successful step as the correction) and drops
// notes a later success contradicts. Guard blocks what a note matches.
type refMemory struct {
	notes []*refNote
}

type refNote struct {
	pattern    Action
	after      string
	sig        string
	correction *Action
	count      int
}

func (m *refMemory) Recall(context.Context, string, admem.Scope) (RecallResult, error) {
	var out RecallResult
	for i, n := range m.notes {
		it := RecallItem{ID: "note-" + string(rune('a'+i%26)), Kind: ItemMistake, Pattern: &n.pattern, After: n.after,
			Signature: n.sig, Correction: n.correction, Text: "doing " + n.pattern.String() + " fails: " + n.sig}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

func (m *refMemory) Guard(_ context.Context, _ string, recent []admem.Step, cands []Action) ([]Verdict, error) {
	last := ""
	if len(recent) > 0 {
		last = recent[len(recent)-1].Action
	}
	out := make([]Verdict, len(cands))
	for i, c := range cands {
		out[i] = Verdict{Risk: 0.05, Decision: Allow}
		for _, n := range m.notes {
			if n.after == last && MatchPattern(n.pattern, c, nil) {
				out[i] = Verdict{Risk: 0.9, Decision: Block, Reasons: []string{n.sig}, Suggestion: n.correction}
				break
			}
		}
	}
	return out, nil
}

func (m *refMemory) Record(_ context.Context, t admem.Trajectory) error {
	params := map[string]string{}
	if p, ok := t.Metadata["params"].(map[string]any); ok {
		for k, v := range p {
			if s, ok := v.(string); ok {
				params[k] = s
			}
		}
	}
	names := slices.Sorted(maps.Keys(params))
	for i, s := range t.Steps {
		a := ActionFromStep(s.Action, s.Args)
		prev := ""
		if i > 0 {
			prev = t.Steps[i-1].Action
		}
		if !s.Failed() {
			m.notes = slices.DeleteFunc(m.notes, func(n *refNote) bool { return n.after == prev && MatchPattern(n.pattern, a, nil) })
			continue
		}
		// Advice that failed is dropped: that is how drift gets corrected.
		m.notes = slices.DeleteFunc(m.notes, func(n *refNote) bool {
			return n.correction != nil && MatchPattern(*n.correction, a, params)
		})
		pat := Action{Tool: a.Tool, Args: map[string]string{}}
		// Only the arguments the error message quotes are kept: they are
		// what the tool complained about.
		for k, v := range a.Args {
			switch {
			case !strings.Contains(s.Error, v) || slices.ContainsFunc(names, func(p string) bool { return params[p] == v }):
				pat.Args[k] = "*"
			case strings.ContainsAny(v, "0123456789"):
				pat.Args[k] = "~" + Shape(v)
			default:
				pat.Args[k] = v
			}
		}
		var n *refNote
		for _, x := range m.notes {
			if x.after == prev && x.pattern.Equal(pat) {
				n = x
				break
			}
		}
		if n == nil {
			n = &refNote{pattern: pat, after: prev}
			m.notes = append(m.notes, n)
		}
		n.count++
		n.sig = DefaultSignature(s.Action, s.Error)
		for _, next := range t.Steps[i+1:] {
			if next.Failed() || strings.Contains(next.Observation, "no changes") || strings.Contains(next.Observation, "nothing changed") {
				continue
			}
			c := ActionFromStep(next.Action, next.Args)
			for k, v := range c.Args {
				for _, p := range names {
					if params[p] == v {
						c.Args[k] = "{" + p + "}"
						break
					}
				}
			}
			n.correction = &c
			break
		}
	}
	return nil
}
