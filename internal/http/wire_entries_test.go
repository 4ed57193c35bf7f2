package http

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/admem/admem"
)

func TestParseMetadataFilter(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in   string
		want string // JSON
	}{
		{"source=slack", `{"source":"slack"}`},
		{"n=2,flag=true,none=null,f=false", `{"n":2,"flag":true,"none":null,"f":false}`},
		{`title="a, b",x=1.5`, `{"title":"a, b","x":1.5}`},
		{`q="say \"hi\""`, `{"q":"say \"hi\""}`},
		{"thread.priority=1,thread.owner=ana", `{"thread":{"priority":1,"owner":"ana"}}`},
		{"v=1e999", `{"v":"1e999"}`},
		{"v=0x10", `{"v":"0x10"}`},
		{"v=", `{"v":""}`},
		{`v="2"`, `{"v":"2"}`},
	}
	for _, c := range ok {
		got, err := parseMetadataFilter(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(c.want), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %v, want %v", c.in, got, want)
		}
	}
	for _, in := range []string{"", "novalue", `a="x`, `a="x"y`, "a=1,a=2", "a=1,a.b=2", "a.b=1,a=2", ".a=1", "a..b=1", "=1", "a=1,", strings.Repeat("a.", 16) + "a=1"} {
		if _, err := parseMetadataFilter(in); err == nil {
			t.Errorf("%q: accepted", in)
		} else if admem.ErrorCode(err) != admem.EINVALID {
			t.Errorf("%q: error %v is not a validation error", in, err)
		}
	}
}

func FuzzParseMetadataFilter(f *testing.F) {
	for _, s := range []string{"source=slack", `t="a, b",n=2`, "a.b.c=true", `q="\u00e9\"",x=-0.5e3`, "a=1,a=2", `"=",=`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMetadataFilter(s)
		if err != nil {
			if admem.ErrorCode(err) != admem.EINVALID {
				t.Fatalf("%q: non-validation error %v", s, err)
			}
			return
		}
		if len(m) == 0 {
			t.Fatalf("%q: empty filter accepted", s)
		}
		// Whatever it accepts must be a JSON object Postgres can compare.
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("%q: result not JSON: %v", s, err)
		}
	})
}
