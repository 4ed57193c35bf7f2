package mistake

import (
	"math"
	"slices"
	"strings"
)

// RingSize is how many recent calls of a tool are kept as evidence. It
// bounds what learning a call costs, whatever the tenant's history: rules
// are fitted on, and refuted by, the tool's recent calls only.
const RingSize = 256

// Tool is a tool's recent history in a tenant: its last RingSize calls,
// each with its facts (interned as profiles) and outcome.
type Tool struct {
	Name   string
	Clock  int64 // calls observed in all
	OK     int64 // of which worked
	Failed int64 // of which failed
	// Profiles are the distinct feature sets of the ring's calls.
	Profiles [][]string
	// Ring holds the last calls, oldest first.
	Ring []Obs
}

// Obs is one observed call of a tool.
type Obs struct {
	P   int32    // its features: index into Profiles
	Sig string   // "" when the call worked, else its error signature id
	V   []uint32 // its value hashes
	H   uint32   // its identity
	At  int64    // the tool's Clock when it was observed
	// G: how far back each of its linked prior steps was (Facts.Gaps).
	G []Gap `json:",omitempty"`
}

// Observe records a call of the tool and how it went: sig is the error
// signature id of a failure, "" for a call that worked.
func (t *Tool) Observe(f *Facts, sig string) {
	t.Clock++
	if sig == "" {
		t.OK++
	} else {
		t.Failed++
	}
	t.Ring = append(t.Ring, Obs{P: t.intern(f.Features), Sig: sig, V: slices.Clone(f.Values), H: f.Hash, At: t.Clock, G: slices.Clone(f.Gaps)})
	if len(t.Ring) > RingSize {
		t.Ring = slices.Delete(t.Ring, 0, len(t.Ring)-RingSize)
		if len(t.Profiles) > RingSize {
			t.compact()
		}
	}
}

// intern returns the index of a feature set in Profiles, adding it.
func (t *Tool) intern(features []string) int32 {
	for i := len(t.Profiles) - 1; i >= 0; i-- {
		if slices.Equal(t.Profiles[i], features) {
			return int32(i)
		}
	}
	t.Profiles = append(t.Profiles, slices.Clone(features))
	return int32(len(t.Profiles) - 1)
}

// compact drops profiles no call in the ring has any more.
func (t *Tool) compact() {
	remap := make([]int32, len(t.Profiles))
	for i := range remap {
		remap[i] = -1
	}
	var kept [][]string
	for i := range t.Ring {
		p := t.Ring[i].P
		if remap[p] < 0 {
			remap[p] = int32(len(kept))
			kept = append(kept, t.Profiles[p])
		}
		t.Ring[i].P = remap[p]
	}
	t.Profiles = kept
}

// valid reports whether the tool's state is self-consistent (stored state
// is read back from the database and must not make the learner panic).
func (t *Tool) valid() bool {
	for _, o := range t.Ring {
		if o.P < 0 || int(o.P) >= len(t.Profiles) {
			return false
		}
	}
	return true
}

// meets reports whether a sorted feature set meets every feature of a
// rule: "np:TOOL"/"nt:TOOL" hold when "p:TOOL"/"t:TOOL" is absent, and
// "ns:PATH" when PATH is written in one of the shapes the rule lists (those
// failing calls used and no successful one did) or, where successful calls
// kept to a few shapes, in none of those.
func meets(features []string, r *Rule) bool {
	for _, g := range r.Features {
		if over, ok := overLimit(features, g); ok {
			if !over {
				return false
			}
			continue
		}
		switch {
		case strings.HasPrefix(g, "ns:"):
			path := g[3:]
			sh, ok := shapeAt(features, path)
			if !ok || !slices.Contains(r.Shapes[path], sh) && (len(r.Working[path]) == 0 || slices.Contains(r.Working[path], sh)) {
				return false
			}
		case len(g) > 3 && g[0] == 'n' && g[2] == ':':
			if _, found := slices.BinarySearch(features, g[1:]); found {
				return false
			}
		default:
			if _, found := slices.BinarySearch(features, g); !found {
				return false
			}
		}
	}
	return true
}

// shapeAt returns the shape a sorted feature set has at a path.
func shapeAt(features []string, path string) (string, bool) {
	prefix := "s:" + path + "="
	i, _ := slices.BinarySearch(features, prefix)
	if i < len(features) && strings.HasPrefix(features[i], prefix) {
		return features[i][len(prefix):], true
	}
	return "", false
}

func hasValues(have []uint32, want []uint32) bool {
	for _, v := range want {
		if !slices.Contains(have, v) {
			return false
		}
	}
	return true
}

// matches reports whether an observed call meets a rule (and carries its
// values, at instance level), caching by profile.
func (t *Tool) matches(o *Obs, r *Rule, cache []int8) bool {
	m := &cache[o.P]
	if *m == 0 {
		*m = -1
		if meets(t.Profiles[o.P], r) {
			*m = 1
		}
	}
	return *m > 0
}

// Evidence weights: the most recent matching call counts 1, the one before
// it recencyDecay, and so on; at most evidenceWindow calls are read. The
// prior is a Beta(priorFail, priorOK) on p(fail): with nothing known, a
// rule is a coin toss, and one failure with nothing against it makes a
// warning.
const (
	recencyDecay   = 0.7
	evidenceWindow = 16
	priorFail      = 0.5
	priorOK        = 0.5
)

// Estimate is the evidence a rule has in the tool's recent calls.
type Estimate struct {
	P     float64 // p(the call fails with the mistake | it meets the rule)
	Fails int     // matching calls that failed with the mistake
	OKs   int     // matching calls that worked

	lower float64 // P less one standard deviation of its Beta posterior
}

// estimate returns p(fail with sig | a call meets the rule) from the
// tool's most recent matching calls: failures with sig against calls that
// worked, the newest weighing most. Calls that failed with another
// signature say nothing either way.
func (t *Tool) estimate(r *Rule, values []uint32, sig string, from int) Estimate {
	cache := make([]int8, len(t.Profiles))
	var wf, wo, w float64 = 0, 0, 1
	var e Estimate
	// An identical call failing again says nothing new about other calls
	// (the agent retried it): each failing call counts once.
	failed := map[uint32]bool{}
	for i := len(t.Ring) - 1; i >= from && e.Fails+e.OKs < evidenceWindow; i-- {
		o := &t.Ring[i]
		if o.Sig != "" && o.Sig != sig || !t.matches(o, r, cache) || !hasValues(o.V, values) {
			continue
		}
		if o.Sig == sig {
			if failed[o.H] {
				continue
			}
			failed[o.H] = true
			wf += w
			e.Fails++
		} else {
			wo += w
			e.OKs++
		}
		w *= recencyDecay
	}
	a, b := wf+priorFail, wo+priorOK
	e.P = a / (a + b)
	e.lower = max(0, e.P-math.Sqrt(a*b/((a+b)*(a+b)*(a+b+1))))
	return e
}

// identical returns p(fail with sig | the call with identity h is made
// again) from the tool's recent calls with that identity, the newest
// weighing most; when none is left in the ring, from how often the
// mistake's own record saw it fail.
func (t *Tool) identical(h uint32, sig string, failed []uint32) float64 {
	var wf, wo, w float64 = 0, 0, 1
	n := 0
	for i := len(t.Ring) - 1; i >= 0 && n < evidenceWindow; i-- {
		o := &t.Ring[i]
		if o.H != h || o.Sig != "" && o.Sig != sig {
			continue
		}
		if o.Sig == sig {
			wf += w
		} else {
			wo += w
		}
		n++
		w *= recencyDecay
	}
	if n == 0 {
		for _, x := range failed {
			if x == h {
				wf++
			}
		}
		wf = min(wf, 2)
	}
	return (wf + priorFail) / (wf + wo + priorFail + priorOK)
}

// successesMeeting counts the ring's calls that worked and meet the rule.
func (t *Tool) successesMeeting(r *Rule, from int) int {
	cache := make([]int8, len(t.Profiles))
	n := 0
	for i := from; i < len(t.Ring); i++ {
		if o := &t.Ring[i]; o.Sig == "" && t.matches(o, r, cache) {
			n++
		}
	}
	return n
}

// reach returns, for each step the rule asks to be missing ("np:TOOL"),
// how many steps back the ring's successful calls (from on) that met the
// rule's other features had that step, sorted (see Rule.Reach). A tool is
// left out when such a call's distance was not recorded.
func (t *Tool) reach(r *Rule, from int) map[string][]int32 {
	var out map[string][]int32
	for _, g := range r.Features {
		tool, ok := strings.CutPrefix(g, "np:")
		if !ok {
			continue
		}
		other := *r
		other.Features = slices.DeleteFunc(slices.Clone(r.Features), func(x string) bool { return x == g })
		cache := make([]int8, len(t.Profiles))
		gaps, known := []int32{}, true
		for i := from; i < len(t.Ring) && known; i++ {
			o := &t.Ring[i]
			if o.Sig != "" || !t.matches(o, &other, cache) {
				continue
			}
			if _, has := slices.BinarySearch(t.Profiles[o.P], "p:"+tool); !has {
				continue
			}
			j := slices.IndexFunc(o.G, func(x Gap) bool { return x.T == tool })
			if known = j >= 0; known {
				gaps = append(gaps, o.G[j].N)
			}
		}
		if !known {
			continue
		}
		slices.Sort(gaps)
		if out == nil {
			out = map[string][]int32{}
		}
		out[tool] = gaps
	}
	return out
}

// usual returns the prior-step features ("p:TOOL", "t:TOOL") that at least
// half of the ring's successful calls meeting the rule had: the steps such
// a call usually follows. A failure without one of them may lack it.
func (t *Tool) usual(r *Rule, from int) []string {
	cache := make([]int8, len(t.Profiles))
	count := map[string]int{}
	n := 0
	for i := from; i < len(t.Ring); i++ {
		o := &t.Ring[i]
		if o.Sig != "" || !t.matches(o, r, cache) {
			continue
		}
		n++
		for _, f := range t.Profiles[o.P] {
			if strings.HasPrefix(f, "p:") || strings.HasPrefix(f, "t:") {
				count[f]++
			}
		}
	}
	var out []string
	for f, c := range count {
		if 2*c >= n {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// okShapes returns, for each argument path with a format, the shapes the
// ring's successful calls wrote it in: a path seen in at least three
// successful calls in at most three shapes. Free text, whose shape varies
// with what it says, has none.
// OKShapes returns the shapes the recent successful calls wrote each
// formatted argument in (for diagnosis).
func (t *Tool) OKShapes() map[string][]string { return t.okShapes(0) }

func (t *Tool) okShapes(from int) map[string][]string {
	shapes := map[string][]string{}
	seen := map[string]int{}
	for i := from; i < len(t.Ring); i++ {
		o := &t.Ring[i]
		if o.Sig != "" {
			continue
		}
		for _, f := range t.Profiles[o.P] {
			rest, ok := strings.CutPrefix(f, "s:")
			if !ok {
				continue
			}
			j := strings.IndexByte(rest, '=')
			if j < 0 {
				continue
			}
			path, sh := rest[:j], rest[j+1:]
			seen[path]++
			if !slices.Contains(shapes[path], sh) {
				shapes[path] = append(shapes[path], sh)
			}
		}
	}
	for path, ss := range shapes {
		if seen[path] < 3 || len(ss) > 3 {
			delete(shapes, path)
			continue
		}
		slices.Sort(ss)
	}
	return shapes
}

// minSince is how many successful calls from before a mistake began its
// rule is still checked against, so a young mistake is not fitted on its
// own failures alone.
const minSince = 8

// since returns the first ring position a mistake that began at the
// tool's clock at is fitted on: its failures and what came after them (a
// tool's rules may have changed when the mistake began: calls that worked
// before say little about it), reaching back to include at least minSince
// successful calls.
func (t *Tool) since(at int64) int {
	from := len(t.Ring)
	for from > 0 && t.Ring[from-1].At >= at {
		from--
	}
	ok := 0
	for i := from; i < len(t.Ring); i++ {
		if t.Ring[i].Sig == "" {
			ok++
		}
	}
	for from > 0 && ok < minSince {
		from--
		if t.Ring[from].Sig == "" {
			ok++
		}
	}
	return from
}

// knownTools returns the tools that calls in the ring from position from
// had taken before (t: features).
func (t *Tool) knownTools(from int) map[string]bool {
	out := map[string]bool{}
	seen := make([]bool, len(t.Profiles))
	for i := from; i < len(t.Ring); i++ {
		p := t.Ring[i].P
		if seen[p] {
			continue
		}
		seen[p] = true
		for _, f := range t.Profiles[p] {
			if tool, ok := strings.CutPrefix(f, "t:"); ok {
				out[tool] = true
			}
		}
	}
	return out
}

// after returns the first ring position after the tool's clock at.
func (t *Tool) after(at int64) int {
	i := len(t.Ring)
	for i > 0 && t.Ring[i-1].At > at {
		i--
	}
	return i
}

// workedAfter reports whether a call with identity h worked at or after
// the tool's clock at.
func (t *Tool) workedAfter(h uint32, at int64) bool {
	for i := len(t.Ring) - 1; i >= 0 && t.Ring[i].At >= at; i-- {
		if t.Ring[i].Sig == "" && t.Ring[i].H == h {
			return true
		}
	}
	return false
}
