package mistake

import (
	"slices"
	"strings"
	"time"
)

// Relations between a call's own values: "lt:A<B" says the value at A is
// before (or below) the value at B, for two dates, or two times, of the
// call. An error about their order ("valid_until is before valid_from")
// states such a rule; no one value's shape or magnitude can.

// maxCompared bounds the leaves a call's relations compare (pairs grow
// with its square).
const maxCompared = 8

// dateLayouts are the writings of a date or time relations read.
var dateLayouts = []string{
	time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
	"2006/01/02", "02.01.2006", "01/02/2006", "20060102", "Jan 2, 2006", "2 Jan 2006", "January 2, 2006",
}

// leafTime reads a leaf as a date or time.
func leafTime(l Leaf) (time.Time, bool) {
	if l.Num || len(l.Text) < 8 || len(l.Text) > 40 {
		return time.Time{}, false
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, l.Text); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// relationFacts adds the order of the call's dates to its features.
func relationFacts(feats map[string]bool, leaves []Leaf) {
	type dated struct {
		path string
		at   time.Time
	}
	var ds []dated
	for _, l := range leaves {
		if t, ok := leafTime(l); ok {
			ds = append(ds, dated{l.Path, t})
			if len(ds) >= maxCompared {
				break
			}
		}
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			switch a, b := ds[i], ds[j]; {
			case a.at.Before(b.at):
				feats["lt:"+a.path+"<"+b.path] = true
			case b.at.Before(a.at):
				feats["lt:"+b.path+"<"+a.path] = true
			}
		}
	}
}

// relationPaths returns the two paths a relation feature compares.
func relationPaths(f string) (a, b string, ok bool) {
	rest, found := strings.CutPrefix(f, "lt:")
	if !found {
		return "", "", false
	}
	a, b, ok = strings.Cut(rest, "<")
	return a, b, ok
}

// namesBoth reports whether the messages name both paths of a relation.
func (m *Mistake) namesBoth(f string) bool {
	a, b, ok := relationPaths(f)
	return ok && slices.Contains(m.Named, a) && slices.Contains(m.Named, b)
}
