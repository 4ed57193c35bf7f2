package signature

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzNormalize(f *testing.F) {
	seeds := []struct{ tool, typ, msg string }{
		{"book_reservation", "", "Error: payment amount does not add up, total price is 1002, but paid 957"},
		{"update_reservation_flights", "", "Error: flight HAT030 not available on date 2024-05-13"},
		{"run", "", "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: 'a' is bad"},
		{"java", "", "Exception in thread \"main\" java.lang.IllegalStateException: x\n\tat A.b(A.java:1)"},
		{"go", "*fs.PathError", "open /a/b: no such file or directory"},
		{"http", "", "HTTP/1.1 404 Not Found at https://x.example/a?b=1"},
		{"sql", "", `ERROR: duplicate key value violates unique constraint "k" (SQLSTATE 23505)`},
		{"sh", "", "bash: line 1: x: command not found\nexit status 127"},
		{"q", "", `'unterminated "quote' and 'x'y' 5'a' <NUM>'b'`},
		{"u", "", "caf\xc3\xa9 \xff\xfe 123 \u200b 0x1F \x01a\x02 \x01zz\x02"},
		{"long", "", strings.Repeat("404 Not Found ", 40)},
	}
	for _, s := range seeds {
		f.Add(s.tool, s.typ, s.msg)
	}
	f.Fuzz(func(t *testing.T, tool, typ, msg string) {
		s := Normalize(tool, typ, msg)
		for name, v := range map[string]string{"tool": s.Tool, "class": s.Class, "template": s.Template} {
			if !utf8.ValidString(v) {
				t.Fatalf("%s %q is not valid UTF-8", name, v)
			}
			if strings.IndexFunc(v, unicode.IsControl) >= 0 {
				t.Fatalf("%s %q holds control characters", name, v)
			}
		}
		if len(s.Template) > MaxTemplateLen || len(s.Class) > maxClassLen || len(s.Tool) > maxToolLen {
			t.Fatalf("unbounded: %d/%d/%d bytes", len(s.Tool), len(s.Class), len(s.Template))
		}
		if again := Mask(s.Template); again != s.Template {
			t.Fatalf("Mask not idempotent on its template:\n in  %q\n out %q", s.Template, again)
		}
		if id := s.ID(); len(id) != 16 {
			t.Fatalf("id %q", id)
		}
		a := CanonicalAction(tool, map[string]any{"v": msg, typ: []any{msg, 1.5}}, ActionOptions{Literals: MaskLiterals})
		if !utf8.ValidString(a) {
			t.Fatalf("canonical action %q is not valid UTF-8", a)
		}
	})
}
