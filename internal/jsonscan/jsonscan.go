// Package jsonscan checks an untrusted JSON document in one pass over its
// bytes, before it is decoded: every string and key valid UTF-8 without NUL
// (Postgres stores neither), a bounded nesting depth (Postgres walks jsonb
// recursively), and, given a Schema, the values against it (types, required
// and unknown members, bounds, lengths, enums, patterns). Errors are
// admem.Invalid naming the field (a.b[2].c). It builds no tree: the only
// allocations are for strings a schema constrains, so checking costs a
// fraction of decoding.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/admem/admem"
)

// Check checks the text and nesting of a JSON document (Validate without a
// schema).
func Check(b []byte, maxDepth int) error { return Validate(b, nil, maxDepth) }

// Validate checks b: the text and nesting as Check says, and, when s is not
// nil, the values against s. It does not judge the syntax: on malformed JSON
// it stops and returns what it found before (nil if nothing), leaving the
// verdict, and the byte offset, to the decoder that runs next (a document
// with a problem is checked for syntax to the end, so that a malformed one
// is always the decoder's to report).
func Validate(b []byte, s *Schema, maxDepth int) error {
	p := &parser{b: b, maxDepth: maxDepth, path: make([]pathElem, 0, 16)}
	p.value(s)
	if p.err != nil && !json.Valid(b) {
		// The scan stopped at the first problem; if the document turns out
		// malformed after it, that is what the client must hear first.
		return nil
	}
	return p.err
}

// pathElem is one step from the document's root: a member key (raw, as
// in the document, to be decoded only for an error) or an index.
type pathElem struct {
	key   []byte
	index int // -1 for a key
}

type parser struct {
	b        []byte
	i        int
	maxDepth int
	path     []pathElem
	err      error // the first problem found; parsing stops there
	stop     bool  // a problem or malformed JSON
}

func (p *parser) fail(reason string) {
	if !p.stop {
		p.err = admem.Invalid(p.field(), reason)
		p.stop = true
	}
}

// malformed stops the scan without an error: the decoder reports it.
func (p *parser) malformed() { p.stop = true }

func (p *parser) field() string {
	var b strings.Builder
	for _, e := range p.path {
		if e.index >= 0 {
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(FieldName(unquote(e.key)))
	}
	if b.Len() == 0 {
		return "(body)"
	}
	return b.String()
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value checks one value at p.i against s (nil: anything).
func (p *parser) value(s *Schema) {
	p.space()
	if p.i >= len(p.b) {
		p.malformed()
		return
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.object(s)
	case c == '[':
		p.array(s)
	case c == '"':
		p.stringValue(s)
	case c == '-' || c >= '0' && c <= '9':
		p.number(s)
	case c == 't':
		p.literal("true", s, KindBoolean, true)
	case c == 'f':
		p.literal("false", s, KindBoolean, false)
	case c == 'n':
		p.literal("null", s, KindNull, nil)
	default:
		p.malformed()
	}
}

func (p *parser) enter(s *Schema, kind Kind) bool {
	if len(p.path) >= p.maxDepth {
		p.fail("nested deeper than " + strconv.Itoa(p.maxDepth) + " levels")
		return false
	}
	if s != nil && !s.allows(kind) {
		p.fail(s.kindReason())
		return false
	}
	return true
}

func (p *parser) object(s *Schema) {
	if !p.enter(s, KindObject) {
		return
	}
	p.i++           // {
	var seen uint64 // bit j: s.Required[j] was present
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
	} else {
		for !p.stop {
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				p.malformed()
				return
			}
			start := p.i + 1
			end, reason := p.scanString(start)
			if end >= len(p.b) {
				p.malformed()
				return
			}
			if reason != "" {
				p.fail("a key " + reason)
				return
			}
			raw := p.b[start:end]
			p.i = end + 1
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				p.malformed()
				return
			}
			p.i++
			var child *Schema
			if s != nil {
				// Without escapes the key is its raw bytes: string(raw) in
				// a map index or a comparison does not allocate.
				escaped := bytes.IndexByte(raw, '\\') >= 0
				key := ""
				if escaped {
					key = unquote(raw)
				}
				for j, r := range s.Required {
					if j < 64 && (escaped && r == key || !escaped && r == string(raw)) {
						seen |= 1 << j
					}
				}
				var known bool
				if escaped {
					child, known = s.Properties[key]
				} else {
					child, known = s.Properties[string(raw)]
				}
				if !known {
					if s.NoAdditional {
						p.path = append(p.path, pathElem{key: raw, index: -1})
						p.fail("unknown field")
						return
					}
					child = s.Additional
				}
			}
			p.path = append(p.path, pathElem{key: raw, index: -1})
			p.value(child)
			p.path = p.path[:len(p.path)-1]
			if p.stop {
				return
			}
			p.space()
			if p.i >= len(p.b) {
				p.malformed()
				return
			}
			if p.b[p.i] == '}' {
				p.i++
				break
			}
			if p.b[p.i] != ',' {
				p.malformed()
				return
			}
			p.i++
		}
	}
	if s == nil {
		return
	}
	for j, r := range s.Required {
		if j < 64 && seen&(1<<j) == 0 {
			p.path = append(p.path, pathElem{key: []byte(r), index: -1})
			p.fail("required")
			return
		}
	}
}

func (p *parser) array(s *Schema) {
	if !p.enter(s, KindArray) {
		return
	}
	p.i++ // [
	var items *Schema
	if s != nil {
		items = s.Items
	}
	n := 0
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
	} else {
		for !p.stop {
			p.path = append(p.path, pathElem{index: n})
			p.value(items)
			p.path = p.path[:len(p.path)-1]
			n++
			if p.stop {
				return
			}
			p.space()
			if p.i >= len(p.b) {
				p.malformed()
				return
			}
			if p.b[p.i] == ']' {
				p.i++
				break
			}
			if p.b[p.i] != ',' {
				p.malformed()
				return
			}
			p.i++
		}
	}
	if s == nil {
		return
	}
	if s.MinItems != nil && n < *s.MinItems {
		p.fail("at least " + strconv.Itoa(*s.MinItems) + " items")
	} else if s.MaxItems != nil && n > *s.MaxItems {
		p.fail("at most " + strconv.Itoa(*s.MaxItems) + " items")
	}
}

func (p *parser) stringValue(s *Schema) {
	start := p.i + 1
	end, reason := p.scanString(start)
	if end >= len(p.b) {
		p.malformed()
		return
	}
	p.i = end + 1
	if reason != "" {
		p.fail(reason)
		return
	}
	if s == nil {
		return
	}
	if !s.allows(KindString) {
		p.fail(s.kindReason())
		return
	}
	if !s.constrainsStrings() {
		return
	}
	v := p.b[start:end]
	if bytes.IndexByte(v, '\\') >= 0 {
		v = []byte(unquote(v))
	}
	n := utf8.RuneCount(v)
	switch {
	case s.MinLength != nil && n < *s.MinLength:
		p.fail("at least " + strconv.Itoa(*s.MinLength) + " characters")
	case s.MaxLength != nil && n > *s.MaxLength:
		p.fail("at most " + strconv.Itoa(*s.MaxLength) + " characters")
	case len(s.Enum) > 0 && !s.inEnumString(v):
		p.fail(s.enumReason())
	case s.Pattern != nil && !s.Pattern.Match(v):
		p.fail("must match " + s.Pattern.String())
	case s.Format != nil && !s.Format.Match(v):
		p.fail("must be " + s.FormatName)
	}
}

func (p *parser) number(s *Schema) {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	if s == nil {
		return
	}
	v, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		p.malformed() // not a number at all: the decoder says so
		return
	}
	kind := KindNumber
	if v == math.Trunc(v) && !math.IsInf(v, 0) {
		kind = KindInteger
	}
	if !s.allows(kind) {
		p.fail(s.kindReason())
		return
	}
	switch {
	case math.IsInf(v, 0):
		p.fail("out of range")
	case s.Min != nil && (v < *s.Min || s.ExclusiveMin && v == *s.Min):
		p.fail("must be " + map[bool]string{true: "greater than ", false: "at least "}[s.ExclusiveMin] + fmtNum(*s.Min))
	case s.Max != nil && (v > *s.Max || s.ExclusiveMax && v == *s.Max):
		p.fail("must be " + map[bool]string{true: "less than ", false: "at most "}[s.ExclusiveMax] + fmtNum(*s.Max))
	case s.Int64 && (v < math.MinInt64 || v >= math.MaxInt64):
		p.fail("out of range of a 64-bit integer")
	case len(s.Enum) > 0 && !s.inEnum(v):
		p.fail(s.enumReason())
	}
}

func (p *parser) literal(word string, s *Schema, kind Kind, v any) {
	if !strings.HasPrefix(string(p.b[p.i:min(len(p.b), p.i+len(word))]), word) {
		p.malformed()
		return
	}
	p.i += len(word)
	if s == nil {
		return
	}
	if kind == KindNull {
		if !s.Nullable {
			p.fail("must not be null")
		}
		return
	}
	if !s.allows(kind) {
		p.fail(s.kindReason())
		return
	}
	if len(s.Enum) > 0 && !s.inEnum(v) {
		p.fail(s.enumReason())
	}
}

// scanString reads the string whose first content byte is b[start] and
// returns the index of its closing quote (len(b) if none) and what is wrong
// with its text, if anything.
func (p *parser) scanString(start int) (int, string) {
	b := p.b
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
	return len(b), reason
}

// unquote decodes a string's content (its escapes); content the scan let
// through is valid UTF-8 without NUL.
func unquote(raw []byte) string {
	if !strings.ContainsRune(string(raw), '\\') {
		return string(raw)
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) != nil {
		return string(raw)
	}
	return s
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

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
