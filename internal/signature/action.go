package signature

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/admem/admem"
)

// Literals says what CanonicalAction does with argument values.
type Literals int

const (
	// KeepLiterals renders values as sent (whitespace collapsed, long
	// strings cut): for showing an action to a person or a model.
	KeepLiterals Literals = iota
	// MaskLiterals masks instance literals inside values as Mask does
	// (ids, numbers, dates, emails…) but keeps vocabulary such as
	// "economy" or "JFK": for matching an action against past failures.
	MaskLiterals
	// MaskAllLiterals replaces every string and number by its type
	// placeholder, leaving only the call's shape.
	MaskAllLiterals
)

// DefaultMaxValueLen bounds one rendered string value in bytes.
const DefaultMaxValueLen = 64

// maxDepth stops runaway nesting (and self-referencing maps) in arguments.
const maxDepth = 8

// ActionOptions configures CanonicalAction. The zero value keeps literals
// and cuts values at DefaultMaxValueLen.
type ActionOptions struct {
	Literals    Literals
	MaxValueLen int // 0 means DefaultMaxValueLen; negative means no limit
}

// CanonicalAction renders a tool call as "tool(arg=value, …)" with keys
// sorted at every level, so that two calls with the same arguments give the
// same text whatever order the agent sent them in. Nested objects render as
// {k=v, …} and lists as [a, b].
func CanonicalAction(tool string, args map[string]any, opt ActionOptions) string {
	var b strings.Builder
	b.WriteString(truncate(sanitize(tool), maxToolLen))
	b.WriteByte('(')
	writeObject(&b, args, opt, 0, false)
	b.WriteByte(')')
	return b.String()
}

// CanonicalStep is CanonicalAction for a recorded step.
func CanonicalStep(s admem.Step, opt ActionOptions) string {
	return CanonicalAction(s.Action, s.Args, opt)
}

func writeObject(b *strings.Builder, m map[string]any, opt ActionOptions, depth int, braces bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if braces {
		b.WriteByte('{')
	}
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(renderKey(k))
		b.WriteByte('=')
		writeValue(b, m[k], opt, depth+1)
	}
	if braces {
		b.WriteByte('}')
	}
}

var bareKey = regexp.MustCompile(`^[\w.\-]+$`)

func renderKey(k string) string {
	k = truncate(sanitize(k), DefaultMaxValueLen)
	if bareKey.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

func writeValue(b *strings.Builder, v any, opt ActionOptions, depth int) {
	if depth > maxDepth {
		b.WriteString("...")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(renderString(x, opt))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		b.WriteString(renderNumber(formatFloat(x), opt))
	case float32:
		b.WriteString(renderNumber(formatFloat(float64(x)), opt))
	case int:
		b.WriteString(renderNumber(strconv.Itoa(x), opt))
	case int64:
		b.WriteString(renderNumber(strconv.FormatInt(x, 10), opt))
	case json.Number:
		b.WriteString(renderNumber(x.String(), opt))
	case map[string]any:
		writeObject(b, x, opt, depth, true)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, e, opt, depth+1)
		}
		b.WriteByte(']')
	default:
		writeReflect(b, v, opt, depth)
	}
}

// writeReflect covers arguments built in Go rather than decoded from JSON
// ([]string, map[string]string, uint8…).
func writeReflect(b *strings.Builder, v any, opt ActionOptions, depth int) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			b.WriteString("null")
			return
		}
		b.WriteByte('[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, rv.Index(i).Interface(), opt, depth+1)
		}
		b.WriteByte(']')
		return
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		m := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			m[iter.Key().String()] = iter.Value().Interface()
		}
		writeObject(b, m, opt, depth, true)
		return
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(renderNumber(strconv.FormatInt(rv.Int(), 10), opt))
		return
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(renderNumber(strconv.FormatUint(rv.Uint(), 10), opt))
		return
	case reflect.Float32, reflect.Float64:
		b.WriteString(renderNumber(formatFloat(rv.Float()), opt))
		return
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(rv.Bool()))
		return
	case reflect.String:
		b.WriteString(renderString(rv.String(), opt))
		return
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			b.WriteString("null")
			return
		}
		writeValue(b, rv.Elem().Interface(), opt, depth+1)
		return
	}
	b.WriteString(renderString(fmt.Sprint(v), opt))
}

// formatFloat prints integral JSON numbers without an exponent or a
// fraction: 250 not 2.5e+02, so kept literals read as the agent sent them.
func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func renderNumber(s string, opt ActionOptions) string {
	if opt.Literals != KeepLiterals {
		return PlaceholderNumber
	}
	return s
}

var bareValue = regexp.MustCompile(`^[\w.@:/+\-<>{}]+$`)

func renderString(s string, opt ActionOptions) string {
	switch opt.Literals {
	case MaskAllLiterals:
		return PlaceholderString
	case MaskLiterals:
		s = Mask(s)
	default:
		s = sanitize(s)
	}
	limit := opt.MaxValueLen
	if limit == 0 {
		limit = DefaultMaxValueLen
	}
	if limit > 0 {
		s = truncate(s, limit)
	}
	if bareValue.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}
