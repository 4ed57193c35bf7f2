package mistake

import (
	"slices"
	"testing"
)

func TestLearnProgram(t *testing.T) {
	for _, c := range []struct {
		from, to string
		apply    string // a value the program is applied to ("" : no program)
		want     string
	}{
		// A format: each piece comes from the input.
		{"2025-04-20", "04/20/2025", "2025-11-27", "11/27/2025"},
		// A token cut into parts, every part used.
		{"20250223", "2025-02-23", "20261105", "2026-11-05"},
		// The day is not in the input: "20" cut out of the year, which is
		// also written whole, is a coincidence, not where it came from.
		{"2025-11-27", "11/20/2025", "", ""},
		// Month and day alike: which is which waits for another example.
		{"03/03/2025", "2025-03-03", "", ""},
		// A token cut but not whole: no structure.
		{"20250223", "2025-02", "", ""},
	} {
		p := learnProgram(c.from, c.to)
		if c.apply == "" {
			if p != nil && !p.unvouched() {
				t.Errorf("learnProgram(%q, %q) = %+v, want none", c.from, c.to, p)
			}
			continue
		}
		if p == nil {
			t.Errorf("learnProgram(%q, %q): no program", c.from, c.to)
			continue
		}
		if got, ok := p.apply(c.apply); !ok || got != c.want {
			t.Errorf("program of %q → %q on %q = %q, %v; want %q", c.from, c.to, c.apply, got, ok, c.want)
		}
	}
}

func TestNameLike(t *testing.T) {
	for w, want := range map[string]bool{
		"describe2_order": true, "s3_upload": true, "lookup_order": true,
		"ord_350932": false, "REQ-63056": false, "v2": false, "a@b.example": false, "rev_435416": false,
	} {
		if got := nameLike(w); got != want {
			t.Errorf("nameLike(%q) = %v, want %v", w, got, want)
		}
	}
}

func TestIdentifiersKeepNamesWithDigits(t *testing.T) {
	got := identifiers("lookup_order was renamed to lookup2_order (trace ord_350932)")
	for _, w := range []string{"lookup2_order", "lookup_order"} {
		if !slices.Contains(got, w) {
			t.Errorf("identifiers = %v, want %s in it", got, w)
		}
	}
	if slices.Contains(got, "ord_350932") {
		t.Errorf("identifiers = %v: an id is not a name", got)
	}
}

func TestFormatRuleMeetsUnseenShapes(t *testing.T) {
	r := &Rule{Level: LevelForm, Features: []string{"ns:ref"}, Shapes: map[string][]string{"ref": {"9"}}}
	at := func(shape string) []string { return []string{"a:ref", "s:ref=" + shape} }
	if !meets(at("9"), r) || meets(at("a-9"), r) {
		t.Fatal("without working shapes the rule holds for the failing shapes only")
	}
	r.Working = map[string][]string{"ref": {"A-9"}}
	if !meets(at("9"), r) || !meets(at("a-9"), r) || meets(at("A-9"), r) {
		t.Fatal("with working shapes the rule holds for every shape but those")
	}
}
