package mistake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Render is the mistake as a note for a prompt: what fails, when, and what
// to do instead, without any value of the trajectories it was learnt from.
func (m *Mistake) Render() string {
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
	if len(m.Fixes) > 0 {
		fmt.Fprintf(&b, " Fix: %s.", m.Fixes[0].Text(m.Signature.Tool))
	} else if a := m.Rule.Advice(); a != "" {
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
