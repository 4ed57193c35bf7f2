package apitest

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
)

// Operation is one operation of openapi.yaml, with the parameters of its path
// and its own.
type Operation struct {
	Method string
	Path   string // the template, e.g. /v1/entries/{entryID}
	Op     *openapi3.Operation
	Params openapi3.Parameters
}

// Operations lists every operation of openapi.yaml in a stable order.
func Operations() ([]Operation, error) {
	doc, _, err := spec()
	if err != nil {
		return nil, err
	}
	var out []Operation
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			ps := append(openapi3.Parameters{}, item.Parameters...)
			ps = append(ps, op.Parameters...)
			out = append(out, Operation{Method: method, Path: path, Op: op, Params: ps})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}

// Raw is JSON text put into a generated body as it is: an escape the
// encoder never writes (\u0000, a lone surrogate) or a structure too deep to
// build as values.
type Raw string

// EncodeJSON writes v (maps, slices, strings, numbers, booleans, nil, Raw)
// as JSON. Unlike encoding/json it copies a string's bytes as they are, so a
// test can send invalid UTF-8; only quotes, backslashes and control
// characters are escaped. Object keys are sorted, so a seed gives one body.
func EncodeJSON(v any) []byte {
	var b bytes.Buffer
	encode(&b, v)
	return b.Bytes()
}

func encode(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case Raw:
		b.WriteString(string(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		encodeString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			encode(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			encodeString(b, k)
			b.WriteByte(':')
			encode(b, x[k])
		}
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("apitest: cannot encode %T", v))
	}
}

func encodeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// NastyStrings are strings that have broken services: NUL bytes, invalid
// UTF-8, surrogates, markup, SQL, huge and empty values.
var NastyStrings = []string{
	"\x00", "a\x00b", "\xff", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80abc", "ok\xfe\xfe",
	"\u2028\u2029", "\ufeff", "'; DROP TABLE entries; --", "%00", `\`, `"`, "{{.}}", "../../../etc/passwd",
	strings.Repeat("a", 70_000), strings.Repeat("é", 10_000), "\t\r\n", "\x1b[31m", "", " ", "null", "NaN", "💥",
}

// nastyRaw are JSON string literals with escapes that decode to characters
// Postgres refuses (NUL) or that are not characters (lone surrogates).
var nastyRaw = []Raw{`"\u0000"`, `"x\u0000y"`, `"\ud800"`, `"\udfff\ud800"`, `"\u0000\u0000\u0000"`}

var nastyNumbers = []any{0, -1, 1.5, -0.5, 1e308, -1e308, 9.3e18, 2147483648, Raw("1e999"), Raw("-0"), Raw("123456789012345678901234567890")}

// Deep returns JSON nested n levels deep, alternating objects and arrays.
func Deep(n int) Raw {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			b.WriteString(`{"a":`)
		} else {
			b.WriteString(`[`)
		}
	}
	b.WriteString("1")
	for i := n - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString(`}`)
		} else {
			b.WriteString(`]`)
		}
	}
	return Raw(b.String())
}

// FuzzRequest is one generated request.
type FuzzRequest struct {
	Method   string
	Path     string // escaped
	Query    string // raw, escaped
	Header   http.Header
	Body     []byte // nil: none
	Mutation string // what was made invalid; "" for a request meant to be valid
	// Credential is "" for the operation's usual credential, "none" for
	// none and "bad" for a wrong one.
	Credential string
}

// HTTP builds the request against base.
func (f FuzzRequest) HTTP(base string) (*http.Request, error) {
	target := base + f.Path
	if f.Query != "" {
		target += "?" + f.Query
	}
	var body io.Reader
	if f.Body != nil {
		body = bytes.NewReader(f.Body)
	}
	req, err := http.NewRequest(f.Method, target, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range f.Header {
		req.Header[k] = vs
	}
	if f.Body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Gen generates requests for operations from their schemas. PathValues
// gives the value of a path parameter by name (an existing resource, so
// requests reach the handlers' deeper paths); unknown names get a random
// UUID.
type Gen struct {
	R          *rand.Rand
	PathValues map[string]string
}

// Valid returns a request meant to be accepted: every value within its
// schema. Handlers may still reject it for reasons the schema cannot say.
func (g *Gen) Valid(op Operation) FuzzRequest {
	return g.request(op, "")
}

// Mutations are the ways Invalid breaks a request.
var Mutations = []string{"string", "raw-escape", "map-key", "type", "required", "unknown", "deep", "number",
	"syntax", "query", "query-limit", "extra-query", "path", "idempotency-key", "no-credential", "bad-credential"}

// Invalid returns a request with one thing broken, chosen at random among
// what the operation has.
func (g *Gen) Invalid(op Operation) FuzzRequest {
	for _, i := range g.R.Perm(len(Mutations)) {
		if r, ok := g.mutate(op, Mutations[i]); ok {
			return r
		}
	}
	panic("apitest: extra-query applies to every operation")
}

func (g *Gen) request(op Operation, mutation string) FuzzRequest {
	r := FuzzRequest{Method: op.Method, Header: http.Header{}, Mutation: mutation, Path: g.path(op, "", "")}
	var q []string
	for _, pr := range op.Params {
		p := pr.Value
		switch p.In {
		case "query":
			// A cursor is the server's; a made-up one is only ever refused.
			if p.Name != "cursor" && g.R.IntN(3) == 0 {
				v := g.scalarString(p.Schema.Value)
				q = append(q, url.QueryEscape(p.Name)+"="+url.QueryEscape(v))
			}
		case "header":
			if p.Name == "Idempotency-Key" && g.R.IntN(2) == 0 {
				r.Header.Set(p.Name, "fz-"+strconv.FormatUint(g.R.Uint64(), 36))
			}
		}
	}
	r.Query = strings.Join(q, "&")
	if rb := op.Op.RequestBody; rb != nil {
		if mt := rb.Value.Content.Get("application/json"); mt != nil && (rb.Value.Required || g.R.IntN(2) == 0) {
			r.Body = EncodeJSON(g.value(mt.Schema.Value, 0))
		}
	}
	return r
}

// path fills op's path template with PathValues (escaped), except that
// the parameter named victim gets raw, which is already escaped.
func (g *Gen) path(op Operation, victim, raw string) string {
	path := op.Path
	for _, pr := range op.Params {
		if p := pr.Value; p.In == "path" {
			v, ok := g.PathValues[p.Name]
			if !ok {
				v = uuid.NewString()
			}
			v = url.PathEscape(v)
			if p.Name == victim {
				v = raw
			}
			path = strings.ReplaceAll(path, "{"+p.Name+"}", v)
		}
	}
	return path
}

// value generates a value valid against s.
func (g *Gen) value(s *openapi3.Schema, depth int) any {
	if s == nil {
		return g.word()
	}
	if len(s.OneOf) > 0 {
		return g.value(s.OneOf[g.R.IntN(len(s.OneOf))].Value, depth)
	}
	if len(s.Enum) > 0 {
		return s.Enum[g.R.IntN(len(s.Enum))]
	}
	switch {
	case s.Type.Is("object") || (s.Type == nil && len(s.Properties) > 0):
		out := map[string]any{}
		names := make([]string, 0, len(s.Properties))
		for name := range s.Properties {
			names = append(names, name)
		}
		sort.Strings(names) // a seed gives one sequence of requests
		for _, name := range names {
			p := s.Properties[name]
			if p.Value.ReadOnly {
				continue
			}
			if contains(s.Required, name) || g.R.IntN(2) == 0 {
				out[name] = g.value(p.Value, depth+1)
			}
		}
		if len(s.Properties) == 0 && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) {
			for i := g.R.IntN(4); i > 0; i-- {
				if ap := s.AdditionalProperties.Schema; ap != nil {
					out[g.word()] = g.value(ap.Value, depth+1)
				} else {
					out[g.word()] = g.anyValue(depth + 1)
				}
			}
		}
		return out
	case s.Type.Is("array"):
		n := int(s.MinItems) + g.R.IntN(3)
		if s.MaxItems != nil && uint64(n) > *s.MaxItems {
			n = int(*s.MaxItems)
		}
		out := make([]any, n)
		for i := range out {
			if s.Items != nil {
				out[i] = g.value(s.Items.Value, depth+1)
			} else {
				out[i] = g.anyValue(depth + 1)
			}
		}
		return out
	case s.Type.Is("string"):
		return g.stringValue(s)
	case s.Type.Is("integer"):
		lo, hi := 0.0, 20.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = min(*s.Max, lo+1000)
		}
		if hi < lo {
			hi = lo
		}
		return int(lo) + g.R.IntN(int(hi-lo)+1)
	case s.Type.Is("number"):
		lo, hi := 0.0, 1.0
		if s.Min != nil {
			lo = *s.Min
			hi = lo + 1
		}
		if s.Max != nil {
			hi = *s.Max
		}
		v := lo + g.R.Float64()*(hi-lo)
		if s.ExclusiveMin.IsTrue() && v == lo {
			v = (lo + hi) / 2
		}
		return v
	case s.Type.Is("boolean"):
		return g.R.IntN(2) == 0
	}
	return g.anyValue(depth)
}

func (g *Gen) anyValue(depth int) any {
	k := g.R.IntN(6)
	if depth > 3 {
		k %= 4
	}
	switch k {
	case 0:
		return g.word()
	case 1:
		return float64(g.R.IntN(1000)) / 10
	case 2:
		return g.R.IntN(2) == 0
	case 3:
		return nil
	case 4:
		return []any{g.word(), g.anyValue(depth + 1)}
	}
	return map[string]any{g.word(): g.anyValue(depth + 1)}
}

var words = strings.Fields("alpha beta gamma delta invoice user order refund email shipping create_user get_price status ok error timeout billing plan eu us 42 x")

func (g *Gen) word() string { return words[g.R.IntN(len(words))] }

func (g *Gen) stringValue(s *openapi3.Schema) string {
	switch s.Format {
	case "uuid":
		return uuid.NewString()
	case "date-time":
		return time.Now().Add(time.Duration(g.R.IntN(2000)-1000) * time.Hour).UTC().Format(time.RFC3339)
	}
	if s.Pattern != "" {
		return g.fromPattern(s.Pattern)
	}
	var b strings.Builder
	for n := 1 + g.R.IntN(6); n > 0; n-- {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g.word())
	}
	out := b.String()
	for uint64(len(out)) < s.MinLength {
		out += "x"
	}
	if s.MaxLength != nil && uint64(len(out)) > *s.MaxLength {
		out = out[:*s.MaxLength]
	}
	return out
}

func (g *Gen) scalarString(s *openapi3.Schema) string {
	switch v := g.value(s, 0).(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return g.word()
}

var patternPart = regexp.MustCompile(`\[([^\]]+)\](?:\{(\d+),(\d+)\})?`)

// fromPattern generates a string for patterns made of character classes with
// optional {m,n} counts, the only kind openapi.yaml uses.
func (g *Gen) fromPattern(p string) string {
	var b strings.Builder
	for _, m := range patternPart.FindAllStringSubmatch(p, -1) {
		class := expandClass(m[1])
		n := 1
		if m[2] != "" {
			lo, _ := strconv.Atoi(m[2])
			hi, _ := strconv.Atoi(m[3])
			n = lo + g.R.IntN(min(hi, lo+8)-lo+1)
		}
		for ; n > 0; n-- {
			b.WriteByte(class[g.R.IntN(len(class))])
		}
	}
	return b.String()
}

func expandClass(c string) string {
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		if i+2 < len(c) && c[i+1] == '-' {
			for x := c[i]; x <= c[i+2]; x++ {
				b.WriteByte(x)
			}
			i += 2
			continue
		}
		b.WriteByte(c[i])
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// slot is a place in a generated body that a mutation can overwrite.
type slot struct {
	set    func(any)
	value  any
	parent map[string]any // the object holding it, if any
	key    string
}

func slots(v any, set func(any), out *[]slot) {
	*out = append(*out, slot{set: set, value: v})
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			k := k
			n := len(*out)
			slots(e, func(nv any) { x[k] = nv }, out)
			(*out)[n].parent, (*out)[n].key = x, k
		}
	case []any:
		for i, e := range x {
			i := i
			slots(e, func(nv any) { x[i] = nv }, out)
		}
	}
}

func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func (g *Gen) nasty() string { return NastyStrings[g.R.IntN(len(NastyStrings))] }

// mutate breaks one thing of a valid request; false when op has nothing the
// mutation could break.
func (g *Gen) mutate(op Operation, m string) (FuzzRequest, bool) {
	r := g.request(op, m)
	switch m {
	case "syntax":
		if op.Op.RequestBody == nil {
			return r, false
		}
		bad := [][]byte{[]byte(`{`), []byte(`{"a":}`), []byte(`[]`), []byte(`"x"`), []byte(`{} {}`), []byte("\x00"),
			[]byte("{\"a\":\"\xff\"}"), []byte(`{"a":1,"a":2}`), []byte(" "), append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), 1<<16)...)}
		r.Body = bad[g.R.IntN(len(bad))]
		return r, true
	case "query", "query-limit":
		var ps []*openapi3.Parameter
		for _, p := range op.Params {
			if p.Value.In == "query" && (m == "query" || p.Value.Name == "limit") {
				ps = append(ps, p.Value)
			}
		}
		if len(ps) == 0 {
			return r, false
		}
		v := percentAll(g.nasty())
		if m == "query-limit" {
			v = []string{"0", "-1", "501", "abc", "1e3", "99999999999999999999", "%00"}[g.R.IntN(7)]
		}
		if r.Query != "" {
			r.Query += "&"
		}
		r.Query += ps[g.R.IntN(len(ps))].Name + "=" + v
		return r, true
	case "extra-query":
		if r.Query != "" {
			r.Query += "&"
		}
		r.Query += percentAll(g.nasty()) + "=" + percentAll(g.nasty())
		return r, true
	case "path":
		var names []string
		for _, p := range op.Params {
			if p.Value.In == "path" {
				names = append(names, p.Value.Name)
			}
		}
		if len(names) == 0 {
			return r, false
		}
		v := percentAll(g.nasty())
		if v == "" {
			v = "%20"
		}
		r.Path = g.path(op, names[g.R.IntN(len(names))], v)
		return r, true
	case "idempotency-key":
		has := false
		for _, p := range op.Params {
			has = has || (p.Value.In == "header" && p.Value.Name == "Idempotency-Key")
		}
		if !has {
			return r, false
		}
		// Go's client refuses control characters in headers (the raw-socket
		// test sends those); bytes from 0x80 up go through.
		r.Header["Idempotency-Key"] = []string{[]string{"\xff\xfe", "key-\xc3\x28", "\xed\xa0\x80", strings.Repeat("k", 256), "é", "\x80"}[g.R.IntN(6)]}
		return r, true
	case "no-credential", "bad-credential":
		if op.Op.Security != nil && len(*op.Op.Security) == 0 {
			return r, false
		}
		r.Credential = strings.TrimSuffix(m, "-credential")
		return r, true
	}

	// The rest break the body.
	rb := op.Op.RequestBody
	if rb == nil || rb.Value.Content.Get("application/json") == nil {
		return r, false
	}
	body := g.value(rb.Value.Content.Get("application/json").Schema.Value, 0)
	var all []slot
	slots(body, func(nv any) { body = nv }, &all)
	pick := func(ok func(slot) bool) (slot, bool) {
		var c []slot
		for _, s := range all {
			if ok(s) {
				c = append(c, s)
			}
		}
		if len(c) == 0 {
			return slot{}, false
		}
		return c[g.R.IntN(len(c))], true
	}
	anywhere := func(slot) bool { return true }
	isString := func(s slot) bool { _, ok := s.value.(string); return ok }
	isObject := func(s slot) bool { _, ok := s.value.(map[string]any); return ok }
	isNumber := func(s slot) bool {
		switch s.value.(type) {
		case int, float64:
			return true
		}
		return false
	}
	switch m {
	case "string", "raw-escape":
		s, ok := pick(isString)
		if !ok || g.R.IntN(4) == 0 {
			// A new member of an object: metadata and args take any.
			o, ok := pick(isObject)
			if !ok {
				return r, false
			}
			obj := o.value.(map[string]any)
			s = slot{set: func(nv any) { obj[g.word()] = nv }}
		}
		if m == "string" {
			s.set(g.nasty())
		} else {
			s.set(nastyRaw[g.R.IntN(len(nastyRaw))])
		}
	case "map-key":
		s, ok := pick(isObject)
		if !ok {
			return r, false
		}
		s.value.(map[string]any)[g.nasty()] = g.word()
	case "type":
		s, _ := pick(anywhere)
		s.set([]any{"string", 7, true, nil, []any{1}, map[string]any{"a": 1}}[g.R.IntN(6)])
	case "required":
		s, ok := pick(func(s slot) bool { return s.parent != nil })
		if !ok {
			return r, false
		}
		delete(s.parent, s.key)
	case "unknown":
		s, ok := pick(isObject)
		if !ok {
			return r, false
		}
		s.value.(map[string]any)["zz_unknown_field"] = 1
	case "deep":
		s, _ := pick(anywhere)
		s.set(Deep([]int{40, 200, 10_000}[g.R.IntN(3)]))
	case "number":
		s, ok := pick(isNumber)
		if !ok {
			return r, false
		}
		s.set(nastyNumbers[g.R.IntN(len(nastyNumbers))])
	}
	r.Body = EncodeJSON(body)
	return r, true
}
