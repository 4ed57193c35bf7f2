package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/admem/admem"
)

// maxDepth is the bound the API uses.
const maxDepth = 32

func TestCheck(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	cases := []struct {
		body  string
		field string // "" when accepted
	}{
		{`{"a":"x","b":[1,{"c":"é"}]}`, ""},
		{`{"a":"x\u0000"}`, "a"},
		{`{"a":{"b":["ok","\u0000"]}}`, "a.b[1]"},
		{`[1,2,{"x":"\u0000"}]`, "[2].x"},
		{`{"k\u0000":1}`, "(body)"},
		{`{"a":{"k\u0000":1}}`, "a"},
		{`{"a":"\\u0000"}`, ""}, // an escaped backslash, then text
		{`{"a":"\u00000"}`, "a"},
		{"{\"a\":\"\xff\"}", "a"},
		{"{\"a\":{\"b\xc3\x28\":1}}", "a"},
		{`{"a\"b":"\u0000"}`, `a"b`},
		{`{"a":1,"b":{"c":2},"d":"\u0000"}`, "d"},
		{deep(maxDepth), ""},
		{deep(maxDepth + 1), strings.TrimSuffix(strings.Repeat("a.", maxDepth), ".")},
		{`{"a":"unterminated`, ""}, // the decoder's to report
	}
	for _, c := range cases {
		err := Check([]byte(c.body), maxDepth)
		if c.field == "" {
			if err != nil {
				t.Errorf("%.80s: %v", c.body, err)
			}
			continue
		}
		var e *admem.Error
		if !asError(err, &e) || e.Code != admem.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
			t.Errorf("%.80s: %v, want a validation error on %q", c.body, err, c.field)
		}
	}
}

func asError(err error, e **admem.Error) bool {
	x, ok := err.(*admem.Error)
	*e = x
	return ok
}

// FuzzCheck checks that the scan never panics and that what it lets
// through, if it is JSON at all, holds only valid UTF-8, no NUL and no
// nesting beyond the bound.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":"x"}`, `{"a":"\u0000"}`, `[[[[]]]]`, `{"k\u0000":1}`, "\"\xff\"", `"\\u0000"`, `{"a":[1,"b",{"c":null}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b, 8) != nil || !json.Valid(b) {
			return
		}
		if !utf8.Valid(b) {
			t.Fatalf("%q: invalid UTF-8 let through", b)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // a valid number may overflow a float64
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var walk func(v any, depth int)
		walk = func(v any, depth int) {
			switch x := v.(type) {
			case string:
				if strings.ContainsRune(x, 0) {
					t.Fatalf("%q: NUL let through", b)
				}
			case []any:
				if depth >= 8 {
					t.Fatalf("%q: nested deeper than 8", b)
				}
				for _, e := range x {
					walk(e, depth+1)
				}
			case map[string]any:
				if depth >= 8 {
					t.Fatalf("%q: nested deeper than 8", b)
				}
				for k, e := range x {
					walk(k, depth)
					walk(e, depth+1)
				}
			}
		}
		walk(v, 0)
	})
}
