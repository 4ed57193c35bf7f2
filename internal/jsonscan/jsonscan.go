// Package jsonscan checks the text of an untrusted JSON document before it
// is decoded: every string and key valid UTF-8 without NUL (Postgres stores
// neither), and a bounded nesting depth (Postgres walks jsonb recursively),
// with errors that name the offending field. It is one pass over the bytes,
// with no allocation for a document that passes.
package jsonscan

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/admem/admem"
)

// scanFrame is one open object or array during Check.
type scanFrame struct {
	object bool
	key    []byte // the current member's key, raw (object)
	index  int    // the current element (array)
}

// Check checks the text of a JSON document without decoding it: every
// string and key must be valid UTF-8 and hold no \u0000 escape, and objects
// and arrays may nest at most maxDepth levels. The error is an
// admem.Invalid naming the field (a.b[2].c). It does not check the syntax:
// the decoder does, afterwards, and a scan confused by bad syntax only ever
// leaves the verdict to the decoder.
func Check(b []byte, maxDepth int) error {
	var stack []scanFrame
	expectKey := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= maxDepth {
				return admem.Invalid(framePath(stack, true), "nested deeper than "+strconv.Itoa(maxDepth)+" levels")
			}
			stack = append(stack, scanFrame{object: c == '{'})
			expectKey = c == '{'
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			expectKey = false
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].object {
					expectKey = true
				} else {
					stack[n-1].index++
				}
			}
		case '"':
			end, reason := scanString(b, i+1)
			isKey := expectKey && len(stack) > 0
			if reason != "" {
				if isKey {
					return admem.Invalid(framePath(stack, false), "a key "+reason)
				}
				return admem.Invalid(framePath(stack, true), reason)
			}
			if isKey {
				stack[len(stack)-1].key = b[i+1 : end]
				expectKey = false
			}
			i = end
		}
	}
	return nil
}

// scanString reads the string whose first content byte is b[start] and
// returns the index of its closing quote (or len(b)) and what is wrong
// with it, if anything.
func scanString(b []byte, start int) (int, string) {
	reason := ""
	j := start
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return j, reason
		case c == '\\':
			if j+5 < len(b) && b[j+1] == 'u' && string(b[j+2:j+6]) == "0000" && reason == "" {
				reason = "contains a NUL character (\\u0000)"
			}
			j += 2
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 && reason == "" {
				reason = "is not valid UTF-8"
			}
			j += size
		}
	}
	return j, reason
}

// framePath names the current position: the open frames' keys and indexes,
// with the innermost member's key when leaf is true (a value), without it
// when false (the object holding a bad key, or the container too deep).
func framePath(stack []scanFrame, leaf bool) string {
	var b strings.Builder
	for i, f := range stack {
		last := i == len(stack)-1
		if f.object {
			if last && !leaf || f.key == nil {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(FieldName(unquoteKey(f.key)))
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	if b.Len() == 0 {
		return "(body)"
	}
	return strings.TrimPrefix(b.String(), ".")
}

// unquoteKey decodes a raw key's escapes; a key the scan let through is
// valid UTF-8 without NUL.
func unquoteKey(raw []byte) string {
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) != nil {
		return string(raw)
	}
	return s
}

// FieldName shortens a client-chosen key for a problem's field path.
func FieldName(k string) string {
	const max = 64
	if len(k) <= max {
		return k
	}
	for i := max; i > 0; i-- {
		if utf8.RuneStart(k[i]) {
			return k[:i] + "…"
		}
	}
	return "…"
}
