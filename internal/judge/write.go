package judge

// Write decisions for factual memory (Memory-R1's ADD / UPDATE / NOOP),
// made without a language model: from the analysed terms, the raw words
// (for negations and numbers) and, when both sides have one, the cosine of
// the two vectors. The rules, in priority order:
//
//  1. the same non-empty key is the same subject: UPDATE, or NOOP when the
//     content says the same thing;
//  2. a near-duplicate (same terms, or nearly so, with the same polarity and
//     numbers): NOOP, which bumps the existing entry's last-seen time;
//  3. a contradiction of an entry on the same subject: UPDATE. Three kinds
//     are recognised: a negation flip ("likes" / "does not like"), a changed
//     number with the rest the same, and a changed value of a single-valued
//     attribute (where someone lives, their name, job, age, preferred X);
//  4. a refinement that keeps every term of an entry and adds a few: UPDATE;
//  5. anything else: ADD.

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/lexical"
	"github.com/admem/admem/internal/vecmath"
)

// WriteInput is the write being judged.
type WriteInput struct {
	Kind    admem.EntryKind
	Key     string
	Content string
	Vector  []float32 // nil when not embedded
}

// WriteCandidate is an existing entry of the same kind and scope that the
// write may duplicate, update or contradict.
type WriteCandidate struct {
	ID      string
	Key     string
	Content string
	Vector  []float32
}

// WriteThresholds tune the rules; DefaultWriteThresholds is what the table
// tests hold to.
type WriteThresholds struct {
	// Duplicate is the term Jaccard similarity from which a write is a
	// near-duplicate (same polarity and numbers assumed).
	Duplicate float64
	// DuplicateCosine with at least DuplicateWithCosine Jaccard also makes a
	// near-duplicate: a paraphrase the vectors agree on.
	DuplicateCosine     float64
	DuplicateWithCosine float64
	// Flip is the Jaccard from which a negation flip or a number change is a
	// contradiction rather than a different statement.
	Flip float64
}

// DefaultWriteThresholds are the thresholds the service uses.
var DefaultWriteThresholds = WriteThresholds{Duplicate: 0.8, DuplicateCosine: 0.95, DuplicateWithCosine: 0.6, Flip: 0.5}

// Reasons the judge gives.
const (
	ReasonForcedAdd     = "infer=false: forced ADD"
	ReasonNew           = "no existing entry on the same subject"
	ReasonSameKey       = "same key"
	ReasonSameKeySame   = "same key, same content"
	ReasonDuplicate     = "near-duplicate"
	ReasonNegation      = "contradiction: negation flipped"
	ReasonNumber        = "contradiction: number changed"
	ReasonAttribute     = "contradiction: attribute value changed"
	ReasonRefinement    = "refinement: adds detail to an entry"
	reasonAttributePref = ReasonAttribute + " ("
)

// DecideWrite judges one write against candidates (the existing entries most
// similar to it, of the same kind and scope).
func DecideWrite(in WriteInput, cands []WriteCandidate, th WriteThresholds) admem.WriteDecision {
	a := newText(in.Content)
	type verdict struct {
		rank   int // lower wins
		sim    float64
		d      admem.WriteDecision
		exists bool
	}
	var best verdict
	consider := func(v verdict) {
		if !best.exists || v.rank < best.rank || (v.rank == best.rank && v.sim > best.sim) {
			best = v
			best.exists = true
		}
	}
	for _, c := range cands {
		b := newText(c.Content)
		sc := compare(a, b, in.Vector, c.Vector)
		scores := sc.scores()
		if in.Key != "" && c.Key == in.Key {
			if a.norm == b.norm {
				consider(verdict{0, 1, admem.WriteDecision{Op: admem.OpNoop, Reason: ReasonSameKeySame, MatchID: c.ID, Scores: scores}, true})
			} else {
				consider(verdict{0, 1, admem.WriteDecision{Op: admem.OpUpdate, Reason: ReasonSameKey, MatchID: c.ID, Scores: scores}, true})
			}
			continue
		}
		if in.Key != "" && c.Key != "" {
			continue // different keys name different subjects
		}
		polaritySame := a.negated == b.negated
		numbersSame := slices.Equal(a.numbers, b.numbers)
		attr, changed := attributeChange(a, b)
		// Vectors put antonyms close ("dark mode" / "light mode"), so they
		// make a duplicate only when no attribute value changed.
		dup := a.norm == b.norm ||
			(polaritySame && numbersSame && (sc.jaccard >= th.Duplicate ||
				(!changed && sc.hasCosine && sc.cosine >= th.DuplicateCosine && sc.jaccard >= th.DuplicateWithCosine)))
		switch {
		case dup:
			consider(verdict{1, sc.jaccard, admem.WriteDecision{Op: admem.OpNoop, Reason: ReasonDuplicate, MatchID: c.ID, Scores: scores}, true})
		case !polaritySame && sc.jaccard >= th.Flip:
			consider(verdict{2, sc.jaccard, admem.WriteDecision{Op: admem.OpUpdate, Reason: ReasonNegation, MatchID: c.ID, Scores: scores}, true})
		case !numbersSame && len(a.numbers) > 0 && len(b.numbers) > 0 && sc.wordJaccard >= th.Flip:
			consider(verdict{2, sc.wordJaccard, admem.WriteDecision{Op: admem.OpUpdate, Reason: ReasonNumber, MatchID: c.ID, Scores: scores}, true})
		default:
			if changed {
				consider(verdict{2, sc.jaccard, admem.WriteDecision{Op: admem.OpUpdate, Reason: reasonAttributePref + attr + ")", MatchID: c.ID, Scores: scores}, true})
			} else if refines(a, b) {
				consider(verdict{3, sc.jaccard, admem.WriteDecision{Op: admem.OpUpdate, Reason: ReasonRefinement, MatchID: c.ID, Scores: scores}, true})
			}
		}
	}
	if !best.exists {
		return admem.WriteDecision{Op: admem.OpAdd, Reason: ReasonNew}
	}
	return best.d
}

// text is a statement prepared for comparison.
type text struct {
	norm    string              // lowercase words joined by spaces
	words   map[string]struct{} // lowercase words, stop words included
	terms   map[string]struct{} // analysed terms (stop words dropped, stemmed)
	negated bool
	numbers []string // sorted
	classes map[string]struct{}
	// relations are relation nouns ("sister", "boss"): a statement about
	// the user's sister is not about the user.
	relations map[string]struct{}
}

func newText(s string) text {
	ws := lexical.Words(s)
	t := text{norm: strings.Join(ws, " "), words: map[string]struct{}{}, terms: map[string]struct{}{},
		classes: map[string]struct{}{}, relations: map[string]struct{}{}}
	neg := 0
	for _, w := range ws {
		t.words[w] = struct{}{}
		if negation(w) {
			neg++
		}
		if isNumber(w) {
			t.numbers = append(t.numbers, normalizeNumber(w))
		}
		if c, ok := attributeClass[w]; ok {
			t.classes[c] = struct{}{}
		}
		if _, ok := relationNouns[strings.TrimSuffix(w, "'s")]; ok {
			t.relations[strings.TrimSuffix(w, "'s")] = struct{}{}
		}
	}
	t.negated = neg%2 == 1 // "not unlike" is not a negation
	sort.Strings(t.numbers)
	for _, x := range lexical.Analyze(s) {
		t.terms[x] = struct{}{}
	}
	return t
}

type comparison struct {
	jaccard     float64 // analysed terms
	wordJaccard float64 // analysed terms without numbers
	cosine      float64
	hasCosine   bool
}

func compare(a, b text, va, vb []float32) comparison {
	c := comparison{jaccard: jaccard(a.terms, b.terms), wordJaccard: jaccard(dropNumbers(a.terms), dropNumbers(b.terms))}
	if len(va) > 0 && len(va) == len(vb) {
		c.cosine, c.hasCosine = vecmath.Cosine(va, vb), true
	}
	return c
}

func (c comparison) scores() map[string]float64 {
	m := map[string]float64{"jaccard": round3(c.jaccard)}
	if c.hasCosine {
		m["cosine"] = round3(c.cosine)
	}
	return m
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// attributeChange reports a changed value of a single-valued attribute: both
// statements use the same attribute (e.g. where someone lives), are about the
// same subject (they share a term that is not the attribute's word, and name
// the same relations), and each says something the other does not.
func attributeChange(a, b text) (string, bool) {
	var shared string
	for c := range a.classes {
		if _, ok := b.classes[c]; ok && (shared == "" || c < shared) {
			shared = c
		}
	}
	if shared == "" || !sameKeys(a.relations, b.relations) {
		return "", false
	}
	subject, onlyA, onlyB := 0, 0, 0
	for t := range a.terms {
		if classOfTerm(t) != "" {
			continue
		}
		if _, ok := b.terms[t]; ok {
			subject++
		} else {
			onlyA++
		}
	}
	for t := range b.terms {
		if _, ok := a.terms[t]; !ok && classOfTerm(t) == "" {
			onlyB++
		}
	}
	need := 1
	if shared == "preference" {
		need = 2 // preferences are per object: "prefers dark mode" vs "prefers tea" differ in object, not value
	}
	if subject < need || onlyA == 0 || onlyB == 0 || onlyA > 3 || onlyB > 3 {
		return "", false
	}
	return shared, true
}

// refines reports that a keeps every term of b (with two or more) and adds at
// most four, with the same polarity.
func refines(a, b text) bool {
	if len(b.terms) < 2 || len(a.terms) <= len(b.terms) || len(a.terms) > len(b.terms)+4 || a.negated != b.negated {
		return false
	}
	for t := range b.terms {
		if _, ok := a.terms[t]; !ok {
			return false
		}
	}
	return true
}

func jaccard(a, b map[string]struct{}) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for t := range a {
		if _, ok := b[t]; ok {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

func dropNumbers(m map[string]struct{}) map[string]struct{} {
	out := make(map[string]struct{}, len(m))
	for t := range m {
		if !isNumber(t) {
			out[t] = struct{}{}
		}
	}
	return out
}

func sameKeys(a, b map[string]struct{}) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func negation(w string) bool {
	switch w {
	case "not", "no", "never", "nobody", "nothing", "neither", "nor", "none", "cannot", "without", "stopped", "quit":
		return true
	}
	return strings.HasSuffix(w, "n't")
}

func isNumber(w string) bool {
	if w == "" {
		return false
	}
	digits := 0
	for _, r := range w {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	return digits > 0 && digits*2 >= len(w) // "2024", "3pm", "10k"
}

func normalizeNumber(w string) string {
	if n, err := strconv.ParseFloat(w, 64); err == nil {
		return strconv.FormatFloat(n, 'g', -1, 64)
	}
	return w
}

// attributeClass maps words to single-valued attributes: a person lives in
// one place, has one name, one employer, one age, one preferred X at a time.
var attributeClass = map[string]string{}

// classTerms holds the analysed forms of the attribute words, so attribute
// words are not mistaken for the subject or the value.
var classTerms = map[string]string{}

func classOfTerm(t string) string { return classTerms[t] }

var relationNouns = map[string]struct{}{}

func init() {
	for class, words := range map[string]string{
		"location":   "live lives living lived reside resides resided residing based moved move moving relocated relocate located home city hometown",
		"name":       "name named called",
		"employment": "work works working worked job employed employer employs company role position",
		"age":        "age aged old born birthday",
		"preference": "prefer prefers preferred preference favorite favourite favorites favourites",
		"language":   "language speaks speak",
		"contact":    "email phone address number",
		"timezone":   "timezone tz",
		"status":     "married single divorced engaged dating",
		"plan":       "plan subscription tier",
	} {
		for _, w := range strings.Fields(words) {
			attributeClass[w] = class
			for _, t := range lexical.Analyze(w) {
				classTerms[t] = class
			}
		}
	}
	for _, w := range strings.Fields("sister brother mother father mom dad wife husband partner friend son daughter boss manager colleague coworker kid kids child children parent parents grandma grandpa grandmother grandfather aunt uncle cousin neighbor neighbour team roommate girlfriend boyfriend") {
		relationNouns[w] = struct{}{}
	}
}
