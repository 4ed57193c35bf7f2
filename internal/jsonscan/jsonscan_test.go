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

func TestValidateAgainstASchema(t *testing.T) {
	t.Parallel()
	one, ten, big := 1, 10, 3.0
	str := &Schema{Kinds: []Kind{KindString}, MaxLength: &ten}
	s := &Schema{Kinds: []Kind{KindObject}, NoAdditional: true, Required: []string{"name"}, Properties: map[string]*Schema{
		"name":  str,
		"mode":  {Kinds: []Kind{KindString}, Enum: []any{"a", "b"}},
		"limit": {Kinds: []Kind{KindInteger}, Min: new(float64), Max: &big, ExclusiveMin: true},
		"tags":  {Kinds: []Kind{KindArray}, Items: str, MinItems: &one},
		"meta":  {Kinds: []Kind{KindObject}}, // anything inside
		"opt":   {Kinds: []Kind{KindString}, Nullable: true},
	}}
	cases := []struct{ body, field string }{
		{`{"name":"x","mode":"a","limit":3,"tags":["t"],"meta":{"k":[1,{"z":null}]},"opt":null}`, ""},
		{`{"name":"x","limit":2.0}`, ""},                                                // an integral number is an integer
		{`{"name":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`, ""}, // 10 characters, 60 bytes escaped
		{`{}`, "name"},
		{`{"name":null}`, "name"},
		{`{"name":7}`, "name"},
		{`{"name":"01234567890"}`, "name"},
		{`{"name":"x","mode":"c"}`, "mode"},
		{`{"name":"x","limit":0}`, "limit"},
		{`{"name":"x","limit":4}`, "limit"},
		{`{"name":"x","limit":1.5}`, "limit"},
		{`{"name":"x","limit":1e999}`, "limit"},
		{`{"name":"x","tags":[]}`, "tags"},
		{`{"name":"x","tags":["ok",3]}`, "tags[1]"},
		{`{"name":"x","colour":1}`, "colour"},
		{`{"na\u006de":"x","colour":1}`, "colour"}, // an escaped key is still the key
		{`{"name":"x","meta":{"k":"\u0000"}}`, "meta.k"},
		{`{"name":"x","colour":}`, ""}, // malformed: the decoder's to say
		{`{"name":"x"} {}`, ""},
	}
	for _, c := range cases {
		err := Validate([]byte(c.body), s, maxDepth)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		var e *admem.Error
		if !asError(err, &e) || e.Code != admem.EINVALID || e.Fields[0].Field != c.field {
			t.Errorf("%s: %v, want a validation error on %q", c.body, err, c.field)
		}
	}
}

// FuzzValidate checks that no document makes the schema check panic, and
// that each refusal is a validation error naming a field.
func FuzzValidate(f *testing.F) {
	ten := 10
	s := &Schema{Kinds: []Kind{KindObject}, NoAdditional: true, Required: []string{"a"}, Properties: map[string]*Schema{
		"a": {Kinds: []Kind{KindArray}, Items: &Schema{Kinds: []Kind{KindString}, MaxLength: &ten, Enum: []any{"x", "y"}}},
		"b": {Kinds: []Kind{KindNumber}, Max: new(float64)},
		"c": {Kinds: []Kind{KindObject}, Additional: &Schema{Kinds: []Kind{KindBoolean}}},
	}}
	for _, d := range []string{`{"a":["x"]}`, `{"a":["z"],"b":1}`, `{"c":{"k":true,"l":1}}`, `{"a":[],"d":1}`, `[`, `{"a":["\u0000"]}`} {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Validate(b, s, 8)
		if err == nil {
			return
		}
		var e *admem.Error
		if !asError(err, &e) || e.Code != admem.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field == "" {
			t.Fatalf("%q: %v", b, err)
		}
	})
}
