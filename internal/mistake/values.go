package mistake

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what is read of one call: arguments are agent input, and a
// call's facts must stay small whatever it sent.
const (
	maxLeaves    = 64
	maxDepth     = 6
	maxPathLen   = 120
	maxValueText = 512
)

// Leaf is one scalar argument value at a path. List positions are dropped
// from paths (flights[0].date and flights[1].date are both flights.date),
// because a rule about a list's items holds for every item.
type Leaf struct {
	Path string
	Text string // the value as text, as the agent wrote it
	Num  bool   // a JSON number (or bool)
}

// Leaves flattens a call's arguments into scalar leaves, sorted by path and
// text. Nesting beyond maxDepth and leaves beyond maxLeaves are dropped.
func Leaves(args map[string]any) []Leaf {
	var out []Leaf
	var walk func(path string, v any, depth int)
	walk = func(path string, v any, depth int) {
		if len(out) >= maxLeaves || depth > maxDepth {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(joinPath(path, k), x[k], depth+1)
			}
		case []any:
			for _, e := range x {
				walk(path, e, depth+1)
			}
		case nil:
			out = append(out, Leaf{Path: path, Text: "null"})
		default:
			text, num := scalarText(x)
			out = append(out, Leaf{Path: path, Text: text, Num: num})
		}
	}
	walk("", args, 0)
	slices.SortFunc(out, func(a, b Leaf) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Text, b.Text)
	})
	return out
}

func joinPath(path, k string) string {
	// Features write "PATH=VALUE": a path never holds '='.
	k = strings.ReplaceAll(clip(k, maxPathLen), "=", "_")
	if path == "" {
		return k
	}
	return clip(path+"."+k, maxPathLen)
}

// scalarText renders a scalar as text; num reports a JSON number or bool.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return clip(x, maxValueText), false
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// maxShapeLen bounds a shape: a long text has no format worth comparing.
const maxShapeLen = 32

// Shape returns how a value is written: runs of digits become 9, of
// upper-case letters A, of lower-case letters a; every other character is
// kept. 2026-01-05 is 9-9-9, 05/01/2026 is 9/9/9, ORD-123 is A-9, ord-123
// is a-9. Two values share a shape when they differ in what they say, not
// in how they are written.
func Shape(text string) string {
	var b strings.Builder
	last := rune(0)
	for _, r := range text {
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

// Fold returns a value's identity across writings: letters lower-cased,
// everything but letters and digits dropped. ORD-123, ord 123 and ord123
// are one value.
func Fold(text string) string {
	var b strings.Builder
	for _, r := range text {
		switch {
		case unicode.IsLetter(r):
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// tokens splits text into lower-cased runs of letters and runs of digits.
func tokens(text string) []string {
	var out []string
	start, kind := -1, 0
	flush := func(end int) {
		if start >= 0 {
			out = append(out, strings.ToLower(text[start:end]))
		}
		start, kind = -1, 0
	}
	for i, r := range text {
		k := 0
		switch {
		case unicode.IsDigit(r):
			k = 1
		case unicode.IsLetter(r):
			k = 2
		}
		if k != kind {
			flush(i)
			if k != 0 {
				start, kind = i, k
			}
		}
	}
	flush(len(text))
	return out
}

// instance reports whether a value names an instance (an id, an e-mail, a
// number of something) rather than a word of the tool's vocabulary: it has
// a digit or an @, or it is a long mixed-case identifier. Only instance
// values link steps to each other, and only they can be foreign to a
// request.
func instance(text string) bool {
	if strings.ContainsRune(text, '@') {
		return true
	}
	for _, r := range text {
		if unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// linkable reports whether a value can tie two steps together as being
// about the same entity: an instance value, or an identifier-like slug
// (sales_daily, payments-api) long enough not to be a common word.
func linkable(text string) bool {
	if strings.ContainsRune(text, '@') {
		return true
	}
	letters, digits := 0, 0
	for _, r := range text {
		switch {
		case unicode.IsDigit(r):
			digits++
		case unicode.IsLetter(r):
			letters++
		}
	}
	if digits > 0 {
		// A bare small number (a quantity, a count) is no one's id.
		return letters > 0 || digits >= 4
	}
	return len(text) >= 6 && len(text) <= 64 && strings.ContainsAny(text, "_-.") && !strings.ContainsRune(text, ' ')
}

// word returns a value that reads as a word of a tool's vocabulary (an
// enum: economy, ADMIN, wrong_item), lower-cased, and false otherwise.
func word(l Leaf) (string, bool) {
	if l.Num || len(l.Text) < 2 || len(l.Text) > 32 || instance(l.Text) {
		return "", false
	}
	for _, r := range l.Text {
		if !(unicode.IsLetter(r) || r == '_' || r == '-' || r == '.' || r == ' ') {
			return "", false
		}
	}
	return strings.ToLower(l.Text), true
}

// valueKey is a value's identity for comparing calls: an id's digits when
// it has at least two (ORD-48213, 48213 and ord_48213 are one order),
// otherwise its folded text.
func valueKey(text string) string {
	var digits strings.Builder
	for _, r := range text {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	if d := digits.String(); len(d) >= 2 && !strings.ContainsAny(text, ".:/ ") {
		return "#" + d
	}
	return Fold(text)
}

// trivial reports whether a value says too little to be grounded or not:
// a boolean, null, or a single letter or digit.
func trivial(l Leaf) bool {
	switch l.Text {
	case "true", "false", "null", "":
		return true
	}
	return len(Fold(l.Text)) < 2
}

// magnitude returns a number's magnitude bucket, half a decade wide
// (1–3.16 is 0, 3.16–10 is 1, 10–31.6 is 2 …), and false for what is not a
// number. Value limits are rules about magnitudes, which shapes cannot
// see: 250.00 and 1500.00 are both 9.9.
func magnitude(l Leaf) (int, bool) {
	s := l.Text
	if !l.Num {
		s = strings.TrimLeft(strings.ReplaceAll(s, ",", ""), "$€£¥")
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	x = math.Abs(x)
	if x < 1 {
		return -1, true
	}
	return int(math.Floor(2 * math.Log10(x))), true
}

// lengthBucket returns a long text's length class (bits of its length), or
// false for short texts, whose shape says enough.
func lengthBucket(l Leaf) (int, bool) {
	if l.Num || len(l.Text) < 16 {
		return 0, false
	}
	return bits.Len(uint(len(l.Text))), true
}

// hash32 is FNV-1a: stable across releases and processes, as stored hashes
// must be.
func hash32(parts ...string) uint32 {
	h := fnv.New32a()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return h.Sum32()
}

// valueHash identifies one argument value (at its path, in any writing).
func valueHash(path, text string) uint32 { return hash32("v", path, valueKey(text)) }

// callHash identifies a call: its tool and every leaf, exactly as written
// or (loose) in any writing of the same values.
func callHash(tool string, leaves []Leaf, loose bool) uint32 {
	parts := make([]string, 0, 1+2*len(leaves))
	parts = append(parts, tool)
	for _, l := range leaves {
		v := l.Text
		if loose {
			v = valueKey(v)
		}
		parts = append(parts, l.Path, v)
	}
	return hash32(parts...)
}
