package mistake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Render is the mistake as a note for a prompt: what fails, when, and what
// to do instead, without any value of the trajectories it was learnt from.
func (m *Mistake) Render() string { return m.render(0, true) }

// RenderVouched is Render as an agent is served it: what to do instead
// only when the evidence counts on its own, as guard requires before it
// suggests (Backing read for this request): the first fix shown allows
// (its recoveries came from quorum independent sources or a trusted key,
// and the tool it calls may be suggested), else the rule's advice when the
// mistake's own failures count. It returns the text and the index of the
// fix shown (-1 when none).
func (m *Mistake) RenderVouched(quorum int, shown func(*Fix) bool) (string, int) {
	for i := range m.Fixes {
		if shown(&m.Fixes[i]) {
			return m.render(i, false), i
		}
	}
	return m.render(-1, m.Backing.Vouched(quorum)), -1
}

// RenderBare is the note without any fix or advice: what the
// trajectories that taught it said (the failing call, the error), the
// part whose words come from whoever posted them.
func (m *Mistake) RenderBare() string { return m.render(-1, false) }

// render writes the note with fix i (none when i is out of range) and,
// without a fix, the rule's advice if advice is set.
func (m *Mistake) render(fix int, advice bool) string {
	var b strings.Builder
	fails := strings.TrimPrefix(m.Signature.Class+": "+m.Signature.Template, ": ")
	if m.Kind == KindTransient {
		fmt.Fprintf(&b, "Transient fault (seen %d×): %s sometimes fails with %q; the same call works when retried with backoff.", m.Failures, m.Signature.Tool, fails)
		return b.String()
	}
	fmt.Fprintf(&b, "Mistake (seen %d×): %s", m.Failures, m.Example)
	if m.Example == "" {
		b.WriteString(m.Signature.Tool + "(…)")
	}
	if d := m.Rule.Describe(); d != "" && d != "whatever the call" {
		fmt.Fprintf(&b, " when %s", d)
	}
	fmt.Fprintf(&b, " fails with %q.", fails)
	if fix >= 0 && fix < len(m.Fixes) {
		fmt.Fprintf(&b, " Fix: %s.", m.Fixes[fix].Text(m.Signature.Tool))
	} else if a := m.Rule.Advice(); a != "" && advice {
		fmt.Fprintf(&b, " Advice: %s.", a)
	}
	return b.String()
}

// SearchText is what recall matches a task against: the tool, the error,
// the rule, the fixes in words and the tasks it happened in.
func (m *Mistake) SearchText() string {
	parts := []string{m.Signature.Tool, strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(m.Signature.Tool),
		m.Signature.Class, m.Signature.Template, m.Example, m.Rule.Describe()}
	for _, f := range m.Fixes {
		parts = append(parts, f.Text(m.Signature.Tool))
	}
	parts = append(parts, m.Tasks...)
	return strings.Join(parts, " ")
}

// Meaning is a digest of what the mistake says: its kind, its rule's
// features and level, and its fixes. Counters and estimates are left out:
// a new version of a mistake is worth keeping when what it says changed,
// not every time its evidence grew.
func (m *Mistake) Meaning() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", m.Kind, m.Rule.Level, strings.Join(m.Rule.Features, "\x01"))
	fmt.Fprintf(h, "%t\x00%t\x00", m.Rule.P >= 0.5, m.superseded())
	for _, f := range m.Fixes {
		fmt.Fprintf(h, "%s\x00", f.Text(m.Signature.Tool))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
