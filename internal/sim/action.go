package sim

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Action is one tool call: a tool name and its arguments as the agent writes
// them. Values are strings because that is what an agent puts on the wire;
// the tool's [ArgSpec] gives each its kind.
//
// In procedures, mistake patterns and corrections an argument value may be a
// placeholder "{param}" naming a task parameter. In mistake patterns it may
// also be "*" (anything) or "~shape" (any value whose [Shape] is shape).
type Action struct {
	Tool string
	Args map[string]string
}

// String renders the action canonically, arguments sorted by name:
// tool(a=1, b=x).
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(a.Tool)
	b.WriteByte('(')
	for i, k := range slices.Sorted(maps.Keys(a.Args)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(a.Args[k])
	}
	b.WriteByte(')')
	return b.String()
}

// Clone returns a deep copy, so callers may edit the arguments.
func (a Action) Clone() Action {
	return Action{Tool: a.Tool, Args: maps.Clone(a.Args)}
}

// Equal reports whether two actions have the same tool and arguments.
func (a Action) Equal(b Action) bool {
	return a.Tool == b.Tool && maps.Equal(a.Args, b.Args)
}

// argsAny converts the arguments to the map type admem steps carry.
func (a Action) argsAny() map[string]any {
	out := make(map[string]any, len(a.Args))
	for k, v := range a.Args {
		out[k] = v
	}
	return out
}

// ActionFromStep reads a recorded step back into an action.
func ActionFromStep(tool string, args map[string]any) Action {
	a := Action{Tool: tool, Args: make(map[string]string, len(args))}
	for k, v := range args {
		if s, ok := v.(string); ok {
			a.Args[k] = s
		}
	}
	return a
}

// Shape abstracts a value to its character classes: a run of digits becomes
// "9", of upper-case letters "A", of lower-case letters "a"; other characters
// stay. "2025-03-15" and "03/15/2025" differ in shape while "ORD-48213" and
// "ORD-7" do not, which is what a mistake pattern about formats needs.
func Shape(v string) string {
	var b strings.Builder
	last := rune(0)
	for _, r := range v {
		c := r
		switch {
		case r >= '0' && r <= '9':
			c = '9'
		case r >= 'A' && r <= 'Z':
			c = 'A'
		case r >= 'a' && r <= 'z':
			c = 'a'
		}
		if (c == '9' || c == 'A' || c == 'a') && c == last {
			continue
		}
		b.WriteRune(c)
		last = c
	}
	return b.String()
}

// IsPlaceholder reports whether v is "{name}" and returns the name.
func IsPlaceholder(v string) (string, bool) {
	if len(v) > 2 && v[0] == '{' && v[len(v)-1] == '}' && !strings.ContainsAny(v[1:len(v)-1], "{}") {
		return v[1 : len(v)-1], true
	}
	return "", false
}

// Resolve replaces placeholders by the task parameters they name. It reports
// false when a placeholder names no parameter, so the caller can discard an
// action it cannot ground.
func Resolve(a Action, params map[string]string) (Action, bool) {
	out := a.Clone()
	for k, v := range out.Args {
		if name, ok := IsPlaceholder(v); ok {
			p, found := params[name]
			if !found {
				return a, false
			}
			out.Args[k] = p
		}
	}
	return out, true
}

// MatchPattern reports whether action a is an instance of pattern p (see
// [Action] for the pattern syntax). Arguments the pattern does not name are
// not checked; arguments it names must be present in a.
func MatchPattern(p, a Action, params map[string]string) bool {
	if p.Tool != "*" && p.Tool != a.Tool {
		return false
	}
	for k, pv := range p.Args {
		v, ok := a.Args[k]
		if !ok {
			return false
		}
		switch name, isPH := IsPlaceholder(pv); {
		case pv == "*":
		case isPH:
			if params == nil || params[name] != v {
				return false
			}
		case strings.HasPrefix(pv, "~"):
			if Shape(v) != pv[1:] {
				return false
			}
		default:
			if pv != v {
				return false
			}
		}
	}
	return true
}

// SignatureFunc turns a failed step into the signature the repeat-mistake
// rate compares: two failures with the same signature are "the same
// mistake".
type SignatureFunc func(tool, errText string) string

var digitRun = regexp.MustCompile(`\d+`)

// DefaultSignature is the tool plus the error message with every run of
// digits masked as "#", so ids, amounts and trace numbers do not make one
// mistake look like many. Quoted literals and names are kept: a memory that
// normalises better is free to, but the metric stays simple and stable.
func DefaultSignature(tool, errText string) string {
	return tool + ": " + digitRun.ReplaceAllString(errText, "#")
}
