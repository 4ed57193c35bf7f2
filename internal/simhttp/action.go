package simhttp

import (
	"strconv"
	"strings"

	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/sim"
)

// ParseAction reads a canonical action text as the API renders it
// ("tool(a=1, b=\"x y\", c={k=v})", see internal/signature) back into a
// simulator action. Quoted values are unquoted; nested objects and lists are
// kept as their text, since every simulator argument is a string. Masked
// literals ("<NUM>", "<EMAIL>", …) become the pattern wildcard "*" when
// masked is true and are kept otherwise. It reports false when s is not a
// call.
func ParseAction(s string, masked bool) (sim.Action, bool) {
	s = strings.TrimSpace(s)
	open := strings.IndexByte(s, '(')
	if open <= 0 || !strings.HasSuffix(s, ")") {
		return sim.Action{}, false
	}
	tool := strings.TrimSpace(s[:open])
	if tool == "" || strings.ContainsAny(tool, " \t") {
		return sim.Action{}, false
	}
	a := sim.Action{Tool: tool, Args: map[string]string{}}
	for _, part := range splitTop(s[open+1 : len(s)-1]) {
		part = strings.TrimSpace(part)
		if part == "" || part == "…" || part == "..." {
			continue
		}
		k, v, ok := cutKey(part)
		if !ok {
			continue
		}
		if strings.HasPrefix(v, `"`) {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
		}
		if masked && strings.Contains(v, "<") && strings.Contains(v, ">") {
			v = "*"
		}
		a.Args[k] = v
	}
	return a, true
}

// cutKey splits "key=value" where key may be a quoted string.
func cutKey(part string) (string, string, bool) {
	if strings.HasPrefix(part, `"`) {
		q, err := strconv.QuotedPrefix(part)
		if err != nil || !strings.HasPrefix(part[len(q):], "=") {
			return "", "", false
		}
		k, _ := strconv.Unquote(q)
		return k, part[len(q)+1:], true
	}
	k, v, ok := strings.Cut(part, "=")
	return strings.TrimSpace(k), strings.TrimSpace(v), ok && strings.TrimSpace(k) != ""
}

// splitTop splits on ", " outside quotes, braces and brackets.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	inQuote, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '{' || c == '[' || c == '(':
			depth++
		case c == '}' || c == ']' || c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// lastCall returns the last "tool(...)" call in free text such as a
// correction ("instead of a(…), do b(x=1)"), or false.
func lastCall(text string) (sim.Action, bool) {
	text = strings.TrimRight(strings.TrimSpace(text), ".")
	i := strings.LastIndex(text, " do ")
	if i < 0 {
		return sim.Action{}, false
	}
	return ParseAction(text[i+4:], false)
}

// ParseMistake reads a rendered mistake note (internal/learner's
// MistakeNote.Render: "Mistake (seen N×) when W, after T: CALL fails with
// "SIG". Fix: TEXT.") into a simulator recall item with its pattern, the
// tool before it and its correction. It reports false when the text does not
// have that shape.
func ParseMistake(id, content string) (sim.RecallItem, bool) {
	it := sim.RecallItem{ID: id, Kind: sim.ItemMistake, Text: content}
	head, rest, ok := strings.Cut(content, " fails with ")
	if !ok {
		return it, false
	}
	// The call follows the first ": " whose remainder parses as a call:
	// a tool name has no spaces, so the "when …" text cannot pass for one.
	var p sim.Action
	pre := ""
	for i := 0; i < len(head); {
		j := strings.Index(head[i:], ": ")
		if j < 0 {
			return it, false
		}
		if a, ok := ParseAction(head[i+j+2:], true); ok {
			p, pre = a, head[:i+j]
			break
		}
		i += j + 2
	}
	it.Pattern = &p
	if j := strings.Index(pre, ", after "); j >= 0 {
		it.After = strings.TrimSpace(pre[j+len(", after "):])
		if k := strings.IndexByte(it.After, '('); k > 0 {
			it.After = it.After[:k]
		}
	}
	if q, err := strconv.QuotedPrefix(strings.TrimSpace(rest)); err == nil {
		it.Signature, _ = strconv.Unquote(q)
	}
	if _, fix, ok := strings.Cut(rest, " Fix: "); ok {
		if c, ok := lastCall(fix); ok {
			it.Correction = &c
		}
	}
	return it, true
}

// ParseProcedure reads a rendered procedure (learner's Procedure.Render: a
// header line, then "1. CALL" lines, then "Fill in: …") into a recall item
// whose steps keep the "{param}" placeholders.
func ParseProcedure(id, content string) (sim.RecallItem, bool) {
	it := sim.RecallItem{ID: id, Kind: sim.ItemProcedure, Text: content}
	for _, line := range strings.Split(content, "\n") {
		n, call, ok := strings.Cut(strings.TrimSpace(line), ". ")
		if !ok {
			continue
		}
		if _, err := strconv.Atoi(n); err != nil {
			continue
		}
		if a, ok := ParseAction(call, false); ok {
			it.Steps = append(it.Steps, a)
		}
	}
	return it, len(it.Steps) > 0
}

// MistakeItem converts a structured mistake note (the `mistake` of a recall
// or learned item) into a simulator recall item: its masked action pattern,
// the tool before it, the error and the most supported correction.
func MistakeItem(id, content string, m *client.Mistake) (sim.RecallItem, bool) {
	it := sim.RecallItem{ID: id, Kind: sim.ItemMistake, Text: content}
	p, ok := ParseAction(m.DoingPattern, true)
	if !ok {
		return it, false
	}
	it.Pattern = &p
	it.Signature = m.FailsWith.ErrorClass + ": " + m.FailsWith.MessageTemplate
	if m.Correction != nil {
		it.Correction = correction(*m.Correction)
	}
	return it, true
}

// correction is what a note's correction changes: the working call with
// only the arguments that differ from the failing one, as the note's text
// writes it ("instead of a(x=1, …), do a(x=2, …)"). The same call with
// nothing changed ("retry: the same call worked later") changes nothing, so
// it is no correction.
func correction(c client.Correction) *sim.Action {
	do, ok := ParseAction(c.Do, false)
	if !ok {
		return nil
	}
	instead, ok := ParseAction(c.Instead, false)
	if !ok || instead.Tool != do.Tool {
		return &do
	}
	diff := sim.Action{Tool: do.Tool, Args: map[string]string{}}
	for k, v := range do.Args {
		if w, had := instead.Args[k]; !had || w != v {
			diff.Args[k] = v
		}
	}
	if len(diff.Args) == 0 {
		return nil
	}
	return &diff
}

// ProcedureItem converts a structured procedure (the `procedure` of a recall
// or learned item) into a recall item whose steps are its script, "{param}"
// placeholders kept.
func ProcedureItem(id, content string, p *client.Procedure) (sim.RecallItem, bool) {
	it := sim.RecallItem{ID: id, Kind: sim.ItemProcedure, Text: content}
	for _, st := range p.Script {
		it.Steps = append(it.Steps, sim.ActionFromStep(st.Tool, st.Args))
	}
	return it, len(it.Steps) > 0
}

// ServerSignature is a sim.SignatureFunc with the server's error signature
// (tool, class and message template with literals masked), which groups
// mistakes as the tenant's mistake notes do: the repeat-mistake rate as
// DESIGN.md defines it.
func ServerSignature(tool, errText string) string {
	return signature.Normalize(tool, "", errText).String()
}

// suggestion reads a guard suggestion as what it changes, like a note's
// correction: for the same tool its text ("instead of a(x=1, …), do a(x=2,
// …)") names only the arguments that differ, while its action is the
// whole working call of another task, whose other values (and their
// formats) were right there and then. Other suggestions ("instead of a(…),
// do b(…)", "before a(…), do b(…)", "retry …") are read from the action.
func suggestion(text string, action *string) *sim.Action {
	var full *sim.Action
	if action != nil {
		if a, ok := ParseAction(*action, false); ok {
			full = &a
		}
	}
	if strings.HasPrefix(text, "instead of ") {
		if diff, ok := lastCall(text); ok && len(diff.Args) > 0 && (full == nil || full.Tool == diff.Tool) &&
			strings.HasPrefix(text, "instead of "+diff.Tool+"(") {
			return &diff
		}
	}
	return full
}
