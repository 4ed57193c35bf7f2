package mistake

import (
	"slices"
	"strings"
	"time"

	"github.com/admem/admem"
)

// A service that changes (a tool renamed, a format switched) makes some of
// what the book knows wrong at once, and an agent that obeys its warnings
// never takes the calls that would show it. Newer errors can: one that
// names a tool as the one to call now ("X was renamed to Y") contradicts
// an older "no such tool Y"; one that asks for the format an older mistake
// of the same argument forbids contradicts it. The older mistake is then
// superseded (guard no longer cites it) until it fails again.

// SaidTools returns the names a trajectory's errors use that may be tools:
// the learner loads them with the trajectory's own tools, so that what the
// errors say about them reaches their mistakes.
func SaidTools(t admem.Trajectory) []string {
	var out []string
	for _, st := range t.Steps {
		if !st.Failed() {
			continue
		}
		for _, w := range identifierRE.FindAllString(clip(st.Error, 2048), 4*maxSaid) {
			if nameLike(w) && w != st.Action && !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
		if len(out) >= 4*maxSaid {
			break
		}
	}
	return out
}

// supersedeNamed marks the tool-wide mistakes of the tools a new failure's
// message names ("renamed to Y", "use Y") as superseded, when their last
// failure is older than it.
func (b *Book) supersedeNamed(tool, message string, at time.Time) {
	said := identifiers(message)
	if len(said) == 0 {
		return
	}
	for name := range b.Tools {
		if name == tool || !slices.Contains(said, normName(name)) {
			continue
		}
		for _, m := range b.ToolMistakes(name) {
			if m.Kind == KindDeterministic && len(m.Rule.Features) == 0 && m.LastSeen.Before(at) && m.Superseded.Before(at) {
				m.Superseded = at
				b.markChanged(m.SignatureID)
			}
		}
	}
}

// supersedeFormats marks, among a tool's mistakes, an older format rule
// of an argument when a newer format rule of the same argument failed on a
// writing the older one did not forbid: the format switched.
func (b *Book) supersedeFormats(tool string) {
	ms := b.ToolMistakes(tool)
	for _, newer := range ms {
		for _, older := range ms {
			if older == newer || !older.LastSeen.Before(newer.FirstSeen) || !older.Superseded.Before(newer.FirstSeen) {
				continue
			}
			for _, f := range older.Rule.Features {
				path, ok := strings.CutPrefix(f, "ns:")
				if ok && newer.formatRule(path) && slices.ContainsFunc(newer.FailShapes[path], func(s string) bool { return !slices.Contains(older.Rule.Shapes[path], s) }) {
					older.Superseded = newer.FirstSeen
					b.markChanged(older.SignatureID)
					break
				}
			}
		}
	}
}

// formatRule reports whether the mistake's rule is about how a path is
// written.
func (m *Mistake) formatRule(path string) bool {
	return slices.ContainsFunc(m.Rule.Features, func(f string) bool { return f == "ns:"+path || strings.HasPrefix(f, "s:"+path+"=") })
}

// superseded reports whether newer errors contradict the mistake and it
// has not failed since.
func (m *Mistake) superseded() bool { return !m.Superseded.IsZero() && !m.LastSeen.After(m.Superseded) }

func (b *Book) markChanged(id string) {
	if b.changed == nil {
		b.changed = map[string]bool{}
	}
	b.changed[id] = true
}
