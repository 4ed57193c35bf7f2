package mistake

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A limit is what an error states about an argument's value or length:
// "total too large: 767.01 > 700.00", "field 'remarks' too long: 100 > 43".
// The call's facts carry each leaf's number ("x:PATH=N") and text length
// ("z:PATH=N"); a rule holds "gt:PATH=L" (the number is above L) or
// "gtl:PATH=L" (the text is longer than L). Such rules are what the
// message states, so they need no contrast with calls that worked.
type Limit struct {
	Path string
	Max  float64
	Len  bool // a bound on the text's length, not its value
}

// numberRE finds the numbers an error message writes.
var numberRE = regexp.MustCompile(`-?\d+(?:\.\d+)?`)

// tooLarge are how errors say a value or text is over a bound.
var tooLarge = regexp.MustCompile(`\b(too (large|long|big|many|high)|exceeds?|exceeded|maximum|max|more than|above|over|greater than|at most)\b|>`)

// leafNumber returns the number a leaf's text writes ($1,200.50 → 1200.5).
func leafNumber(l Leaf) (float64, bool) {
	s := l.Text
	if !l.Num {
		s = strings.TrimLeft(strings.ReplaceAll(s, ",", ""), "$€£¥")
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// limitFacts adds a leaf's number and length to a call's features.
func limitFacts(feats map[string]bool, l Leaf) {
	if x, ok := leafNumber(l); ok {
		feats["x:"+l.Path+"="+strconv.FormatFloat(x, 'g', -1, 64)] = true
		return
	}
	if n := utf8.RuneCountInString(l.Text); n > 0 {
		feats["z:"+l.Path+"="+strconv.Itoa(n)] = true
	}
}

// valueFeature reports whether a feature is a leaf's number or length,
// which only limits read: never a rule of its own.
func valueFeature(f string) bool { return strings.HasPrefix(f, "x:") || strings.HasPrefix(f, "z:") }

// readLimits returns the limits a message states about the named leaves:
// it quotes a leaf's number (or length) and, saying it is too large, a
// smaller number: the largest such is the bound.
func readLimits(leaves []Leaf, named []string, message string) []Limit {
	low := strings.ToLower(clip(message, 2048))
	if !tooLarge.MatchString(low) {
		return nil
	}
	var nums []float64
	for _, s := range numberRE.FindAllString(low, 16) {
		if x, err := strconv.ParseFloat(s, 64); err == nil {
			nums = append(nums, x)
		}
	}
	var out []Limit
	for _, l := range leaves {
		if !slices.Contains(named, l.Path) {
			continue
		}
		v, isLen := 0.0, false
		if x, ok := leafNumber(l); ok {
			v = x
		} else {
			v, isLen = float64(utf8.RuneCountInString(l.Text)), true
		}
		if !slices.Contains(nums, v) {
			continue
		}
		bound, found := 0.0, false
		for _, x := range nums {
			if x < v && (!found || x > bound) {
				bound, found = x, true
			}
		}
		if found {
			out = append(out, Limit{Path: l.Path, Max: bound, Len: isLen})
		}
	}
	return out
}

// addLimits keeps, per path, the tightest bound the messages stated.
func (m *Mistake) addLimits(ls []Limit) {
	for _, l := range ls {
		i := slices.IndexFunc(m.Limits, func(x Limit) bool { return x.Path == l.Path && x.Len == l.Len })
		switch {
		case i < 0 && len(m.Limits) < maxLimits:
			m.Limits = append(m.Limits, l)
		case i >= 0 && l.Max < m.Limits[i].Max:
			m.Limits[i].Max = l.Max
		}
	}
}

// maxLimits bounds the limits a mistake keeps.
const maxLimits = 4

// feature is the rule feature a limit states.
func (l Limit) feature() string {
	if l.Len {
		return "gtl:" + l.Path + "=" + strconv.FormatFloat(l.Max, 'g', -1, 64)
	}
	return "gt:" + l.Path + "=" + strconv.FormatFloat(l.Max, 'g', -1, 64)
}

// overLimit reports whether a sorted feature set meets a limit feature
// ("gt:PATH=L" or "gtl:PATH=L"); ok is false for other features.
func overLimit(features []string, g string) (over, ok bool) {
	var fact, rest string
	switch {
	case strings.HasPrefix(g, "gtl:"):
		fact, rest = "z:", g[4:]
	case strings.HasPrefix(g, "gt:"):
		fact, rest = "x:", g[3:]
	default:
		return false, false
	}
	i := strings.LastIndexByte(rest, '=')
	if i < 0 {
		return false, true
	}
	bound, err := strconv.ParseFloat(rest[i+1:], 64)
	if err != nil {
		return false, true
	}
	prefix := fact + rest[:i+1]
	j, _ := slices.BinarySearch(features, prefix)
	if j >= len(features) || !strings.HasPrefix(features[j], prefix) {
		return false, true
	}
	x, err := strconv.ParseFloat(features[j][len(prefix):], 64)
	return err == nil && x > bound, true
}
