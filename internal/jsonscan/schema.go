package jsonscan

import (
	"regexp"
	"strings"
)

// Kind is a JSON value's kind, as a schema's type names it.
type Kind uint8

// The kinds. KindNumber admits integers.
const (
	KindNull Kind = iota
	KindBoolean
	KindInteger
	KindNumber
	KindString
	KindArray
	KindObject
)

var kindNames = [...]string{"null", "a boolean", "an integer", "a number", "a string", "an array", "an object"}

// Schema is the part of an OpenAPI 3.0 schema that Validate checks; the
// HTTP layer compiles openapi.yaml's request schemas into it.
type Schema struct {
	Kinds        []Kind // empty: any kind
	Nullable     bool
	Enum         []any // strings, float64s, bools
	Properties   map[string]*Schema
	Required     []string
	NoAdditional bool    // members outside Properties are refused
	Additional   *Schema // the schema of other members (nil: anything)
	Items        *Schema // nil: anything

	MinItems, MaxItems   *int
	MinLength, MaxLength *int // in characters
	Pattern              *regexp.Regexp
	Format               *regexp.Regexp // nil: no format check
	FormatName           string         // for the error, e.g. "an RFC 3339 date-time"

	Min, Max                   *float64
	ExclusiveMin, ExclusiveMax bool
	Int64                      bool // the value must fit a 64-bit integer
}

func (s *Schema) allows(k Kind) bool {
	if len(s.Kinds) == 0 {
		return true
	}
	for _, a := range s.Kinds {
		if a == k || a == KindNumber && k == KindInteger {
			return true
		}
	}
	return false
}

func (s *Schema) kindReason() string {
	names := make([]string, len(s.Kinds))
	for i, k := range s.Kinds {
		names[i] = kindNames[k]
	}
	return "must be " + strings.Join(names, " or ")
}

func (s *Schema) constrainsStrings() bool {
	return s.MinLength != nil || s.MaxLength != nil || len(s.Enum) > 0 || s.Pattern != nil || s.Format != nil
}

func (s *Schema) inEnum(v any) bool {
	for _, e := range s.Enum {
		switch x := v.(type) {
		case string:
			if y, ok := e.(string); ok && x == y {
				return true
			}
		case float64:
			if y, ok := e.(float64); ok && x == y {
				return true
			}
		case bool:
			if y, ok := e.(bool); ok && x == y {
				return true
			}
		}
	}
	return false
}

func (s *Schema) inEnumString(v []byte) bool {
	for _, e := range s.Enum {
		if y, ok := e.(string); ok && string(v) == y {
			return true
		}
	}
	return false
}

func (s *Schema) enumReason() string {
	vals := make([]string, len(s.Enum))
	for i, e := range s.Enum {
		switch x := e.(type) {
		case string:
			vals[i] = x
		case float64:
			vals[i] = fmtNum(x)
		case bool:
			if x {
				vals[i] = "true"
			} else {
				vals[i] = "false"
			}
		}
	}
	return "must be one of " + strings.Join(vals, ", ")
}
