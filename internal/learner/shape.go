package learner

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/admem/admem/internal/signature"
)

// Masking makes 2026-01-05 and 05/01/2026, or 1031.07 and 103107, look alike
// (<DATE>, <NUM>): right for grouping failures under one signature, but a
// format rule is exactly the difference between them. A literal's shape
// keeps how it is written and drops what it says.

// maxShapeLen bounds a shape: a long text has no format worth comparing.
const maxShapeLen = 32

// Shape returns how a scalar literal is written: runs of digits become 9,
// of upper-case letters A, of lower-case letters a; every other character
// is kept. 2026-01-05 is 9-9-9, 05/01/2026 is 9/9/9, 1031.07 is 9.9, $1031.07
// is $9.9, ORD-123 is A-9, ord-123 is a-9, Ana.Berg@Corp.example is
// Aa.Aa@Aa.a. Non-scalar values (objects, lists, null) have no shape: "".
func Shape(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	default:
		return ""
	}
	var b strings.Builder
	last := rune(0)
	for _, r := range s {
		c := r
		switch {
		case unicode.IsDigit(r):
			c = '9'
		case unicode.IsUpper(r):
			c = 'A'
		case unicode.IsLower(r):
			c = 'a'
		}
		if c == last && (c == '9' || c == 'A' || c == 'a') {
			continue
		}
		last = c
		b.WriteRune(c)
		if b.Len() >= maxShapeLen {
			break
		}
	}
	return b.String()
}

// argShapes returns the shapes of an action's top-level scalar arguments.
func argShapes(a Action) map[string]string {
	out := map[string]string{}
	for k, v := range a.Args {
		if s := Shape(v); s != "" {
			out[k] = s
		}
	}
	return out
}

// Form renders an action as its pattern does (instance literals masked,
// vocabulary kept) except that a top-level literal with an instance part is
// written as its shape: two calls share a form when they differ only in
// which instance they are about, not in how they are written.
func Form(a Action) string {
	args := make(map[string]any, len(a.Args))
	for k, v := range a.Args {
		s, ok := v.(string)
		switch {
		case ok && signature.Mask(s) == s:
			args[k] = s
		case Shape(v) != "":
			args[k] = "⟨" + Shape(v) + "⟩"
		default:
			// Objects and lists: their masked pattern.
			args[k] = signature.CanonicalAction("", map[string]any{"v": v}, signature.ActionOptions{Literals: signature.MaskLiterals, MaxValueLen: -1})
		}
	}
	f := signature.CanonicalAction(a.Tool, args, signature.ActionOptions{MaxValueLen: -1})
	if len(f) > maxFormLen {
		// Notes store forms: a long one keeps its start and a digest.
		sum := sha256.Sum256([]byte(f))
		cut := maxFormLen - 17
		for cut > 0 && !utf8.RuneStart(f[cut]) {
			cut--
		}
		f = f[:cut] + "#" + hex.EncodeToString(sum[:8])
	}
	return f
}

// maxFormLen bounds a form in bytes.
const maxFormLen = 256

// sameCall reports whether a and b, from two different tasks, are the same
// call: same tool and form. Their ids and amounts differ because their
// tasks do, not because one was wrong.
func sameCall(a, b Action) bool { return a.Tool == b.Tool && Form(a) == Form(b) }

// ArgRule is what a mistake note knows about how one argument must be
// written: the shapes it had when the call failed, and the shapes the
// note's corrections write it in instead, none of which ever failed (none
// yet: only the failing shapes are known).
type ArgRule struct {
	Fail []string
	Fix  []string
}

// ArgRules returns the note's format rules: for each argument its
// same-tool corrections rewrite in another shape, the failing and the
// correcting shapes, when no correcting shape is one that failed; and for
// the argument the error message names, when no correction rewrote it yet,
// the failing shapes alone (Fix empty). When the corrections rewrite the
// argument the error names, only it is ruled, and not at all when they give
// it another value written the same way. A note about something else than
// a format (a missing step, a quota, a gone tool, a value) has none.
func (n MistakeNote) ArgRules() map[string]ArgRule {
	if len(n.Shapes) == 0 {
		return nil
	}
	fix := map[string][]string{}
	subject := n.subjectArg()
	// valued: a correction gave the argument the error names another
	// value written the same way (residency us → apac): the mistake is the
	// value, not how it is written.
	valued := false
	for _, c := range n.Corrections {
		if c.Do.Tool != n.Signature.Tool || c.Instead.Tool != c.Do.Tool {
			continue
		}
		if d, i := c.Do.Args[subject], c.Instead.Args[subject]; subject != "" && d != nil && i != nil && Shape(d) != "" && Shape(d) == Shape(i) && !sameValue(d, i) {
			valued = true
		}
		was, now := argShapes(c.Instead), argShapes(c.Do)
		for k, s := range now {
			if was[k] != s && !slices.Contains(fix[k], s) {
				fix[k] = append(fix[k], s)
			}
		}
	}
	// When the error names an argument the corrections rewrote, that is
	// the rule: other arguments they happen to write another way (an id's
	// case) were not the mistake.
	if subject != "" && (len(fix[subject]) > 0 || valued) {
		only := map[string][]string{}
		if len(fix[subject]) > 0 {
			only[subject] = fix[subject]
		}
		fix = only
	}
	var out map[string]ArgRule
	for k, fs := range fix {
		fail := n.Shapes[k]
		if len(fail) == 0 || slices.ContainsFunc(fs, func(s string) bool { return slices.Contains(fail, s) }) {
			continue
		}
		if out == nil {
			out = map[string]ArgRule{}
		}
		slices.Sort(fs)
		out[k] = ArgRule{Fail: slices.Clone(fail), Fix: fs}
	}
	// The argument the error message is about, when no correction has
	// rewritten it yet: the shapes it failed in are known, the fix not.
	if k := subject; k != "" && !valued && len(n.Shapes[k]) > 0 && len(fix[k]) == 0 {
		if out == nil {
			out = map[string]ArgRule{}
		}
		out[k] = ArgRule{Fail: slices.Clone(n.Shapes[k])}
	}
	return out
}

// subjectArg returns the argument the note's error message names first
// (`unit_price "111.75" rejected: ...` is about unit_price), "" when it
// names none.
func (n MistakeNote) subjectArg() string {
	return subjectOf(n.Signature.Template, slices.Collect(maps.Keys(n.Shapes)))
}

// subjectOf returns the one of args that template names first, as a whole
// word.
func subjectOf(template string, args []string) string {
	best, at := "", -1
	for _, k := range args {
		for i := 0; k != "" && i+len(k) <= len(template); {
			j := strings.Index(template[i:], k)
			if j < 0 {
				break
			}
			j += i
			if (j == 0 || !wordByte(template[j-1])) && (j+len(k) == len(template) || !wordByte(template[j+len(k)])) {
				if at < 0 || j < at || j == at && k < best {
					best, at = k, j
				}
				break
			}
			i = j + 1
		}
	}
	return best
}

func wordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// Bounds on what a note keeps about its failing calls.
const (
	maxShapesPerArg = 8
	maxShapeArgs    = 16
	maxFailedForms  = 16
)

// addShapes unites the shapes of a failing call into shapes.
func addShapes(shapes map[string][]string, a Action) map[string][]string {
	for k, s := range argShapes(a) {
		if shapes == nil {
			shapes = map[string][]string{}
		}
		if _, ok := shapes[k]; !ok && len(shapes) >= maxShapeArgs {
			continue
		}
		if !slices.Contains(shapes[k], s) && len(shapes[k]) < maxShapesPerArg {
			shapes[k] = append(shapes[k], s)
			slices.Sort(shapes[k])
		}
	}
	return shapes
}

func unionShapes(a, b map[string][]string) map[string][]string {
	out := maps.Clone(a)
	for k, ss := range b {
		for _, s := range ss {
			if out == nil {
				out = map[string][]string{}
			}
			if _, ok := out[k]; !ok && len(out) >= maxShapeArgs {
				break
			}
			if !slices.Contains(out[k], s) && len(out[k]) < maxShapesPerArg {
				out[k] = append(slices.Clone(out[k]), s)
				slices.Sort(out[k])
			}
		}
	}
	return out
}

// unionCapped unites two sorted sets, keeping at most n.
func unionCapped(a, b []string, n int) []string {
	out := union(a, b)
	if len(out) > n {
		out = out[:n]
	}
	return out
}
