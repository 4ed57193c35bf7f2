// Package toolclass owns what a tool does to the world, as learning must
// know it before it suggests calling one: it only reads, it writes, or it
// destroys. A tenant declares it per tool (as MCP's readOnlyHint and
// destructiveHint say it); a tool nobody declared is classed from its
// name, and a name that says neither reading nor destroying writes — the
// safe side, since guard will not volunteer a writing tool.
package toolclass

import (
	"fmt"
	"strings"
	"unicode"
)

// Class is what a tool does.
type Class string

// Classes.
const (
	ReadOnly    Class = "read_only"   // reads only: calling it has no effect
	Writes      Class = "writes"      // changes something that can be changed back
	Destructive Class = "destructive" // deletes, cancels or revokes
)

// Valid reports whether c is one of the classes.
func (c Class) Valid() bool { return c == ReadOnly || c == Writes || c == Destructive }

// MaxToolLen bounds a tool name in annotations and replacements.
const MaxToolLen = 200

// checkTool says what is wrong with a tool name given to an admin route
// ("" when nothing).
func checkTool(tool string) string {
	switch {
	case strings.TrimSpace(tool) == "":
		return "required"
	case len(tool) > MaxToolLen:
		return fmt.Sprintf("at most %d bytes", MaxToolLen)
	}
	return ""
}

// readVerbs begin a read-only tool's name; destroyVerbs a destructive one's.
var (
	readVerbs = map[string]bool{
		"get": true, "list": true, "search": true, "find": true, "read": true, "check": true,
		"lookup": true, "fetch": true, "show": true, "query": true, "view": true, "describe": true,
		"count": true, "browse": true, "inspect": true, "retrieve": true,
	}
	destroyVerbs = map[string]bool{
		"delete": true, "remove": true, "cancel": true, "drop": true, "purge": true, "destroy": true,
		"revoke": true, "terminate": true, "erase": true, "wipe": true, "truncate": true, "kill": true,
		"void": true,
	}
)

// Infer classes a tool from its name: the name is split into words
// (snake_case, kebab-case, camelCase, digits apart). A destructive verb
// anywhere in it makes it destructive ("bulk_delete_users",
// "users.purge"); otherwise a name whose first word is a reading verb
// ("get_user", "lookupOrder", "check-status", "look_up_order") is
// read-only, the first word counted after a namespace written with dots,
// slashes or colons ("crm.get_user"); anything else writes.
func Infer(tool string) Class {
	for _, w := range Words(tool) {
		if destroyVerbs[w] {
			return Destructive
		}
	}
	if i := strings.LastIndexAny(tool, ".:/"); i >= 0 {
		tool = tool[i+1:]
	}
	words := Words(tool)
	switch {
	case len(words) == 0:
		return Writes
	case readVerbs[words[0]]:
		return ReadOnly
	case len(words) > 1 && words[0] == "look" && words[1] == "up":
		return ReadOnly
	}
	return Writes
}

// Words splits a tool name into lower-case words: at every character that
// is not a letter or digit, between a lower-case letter (or digit) and an
// upper-case one, before the last capital of a run of capitals followed by
// a lower-case letter ("HTTPGet" → http, get), and between letters and
// digits.
func Words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if len(cur) > 0 {
			prev := cur[len(cur)-1]
			switch {
			case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
				flush()
			case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
				flush()
			case unicode.IsDigit(r) != unicode.IsDigit(prev):
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// Tool is a tool's class as guard uses it, and where the class came from.
type Tool struct {
	Name     string
	Class    Class
	Declared bool // a tenant admin declared it; otherwise inferred from the name
}

// Policy is what a tenant allows learning to suggest: its declared
// classes and the replacements its admins confirmed.
type Policy struct {
	Declared     map[string]Class           // by tool
	Replacements map[string]map[string]bool // from tool → confirmed replacement tools
}

// ClassOf returns the tool's class: declared, else inferred.
func (p *Policy) ClassOf(tool string) Tool {
	if p != nil {
		if c, ok := p.Declared[tool]; ok {
			return Tool{Name: tool, Class: c, Declared: true}
		}
	}
	return Tool{Name: tool, Class: Infer(tool)}
}

// Confirmed reports whether an admin confirmed to as a replacement of from.
func (p *Policy) Confirmed(from, to string) bool {
	return p != nil && p.Replacements[from][to]
}

// Refusal says why learning may not volunteer a call of tool in place of
// (or before) a call of candidate by an agent that already called the
// tools in called; "" when it may. Learning may suggest the candidate's
// own tool, a read-only tool, a tool the agent already called in this run
// (it chose that effect itself), or a replacement an admin confirmed.
func (p *Policy) Refusal(candidate, tool string, called func(string) bool) string {
	if tool == candidate {
		return ""
	}
	t := p.ClassOf(tool)
	switch {
	case t.Class == ReadOnly:
		return ""
	case called != nil && called(tool):
		return ""
	case p.Confirmed(candidate, tool):
		return ""
	}
	how := "inferred from its name"
	if t.Declared {
		how = "declared"
	}
	what := "writes"
	if t.Class == Destructive {
		what = "is destructive"
	}
	return fmt.Sprintf("%s %s (%s), the agent has not called it in this run, and no admin confirmed it as a replacement of %s", tool, what, how, candidate)
}
