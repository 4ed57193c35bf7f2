package lexical

import (
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
)

func TestStem(t *testing.T) {
	// Expected stems from the Snowball English (Porter2) reference output.
	cases := map[string]string{
		"consign": "consign", "consigned": "consign", "consigning": "consign", "consignment": "consign",
		"consist": "consist", "consisted": "consist", "consistency": "consist", "consistent": "consist",
		"knack": "knack", "knackeries": "knackeri", "knacks": "knack", "knag": "knag",
		"painting": "paint", "paintings": "paint", "painted": "paint", "paints": "paint",
		"generously": "generous", "generate": "generat", "communism": "communism", "arsenal": "arsenal",
		"skies": "sky", "dying": "die", "news": "news", "only": "onli", "early": "earli",
		"cries": "cri", "ties": "tie", "gas": "gas", "gaps": "gap", "kiwis": "kiwi",
		"hopping": "hop", "hoped": "hope", "luxuriating": "luxuri", "agreed": "agre",
		"proceed": "proceed", "succeeding": "succeed", "happy": "happi", "say": "say", "by": "by",
		"rationalization": "ration", "adoption": "adopt", "relational": "relat", "electrical": "electr",
		"hopefulness": "hope", "formality": "formal", "sensibility": "sensibl", "fly": "fli",
		"caroline": "carolin", "yelled": "yell", "sayings": "say", "a": "a", "is": "is",
		"naïve": "naïve", "ABC": "ABC",
	}
	for in, want := range cases {
		if got := Stem(in); got != want {
			t.Errorf("Stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzStem(f *testing.F) {
	for _, s := range []string{"running", "y", "yyy", "'s", "eed", "ied", "sses", "xyzzy'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Stem(s)
		if len(got) > len(s)+1 { // step 1b may add an "e"
			t.Fatalf("Stem(%q) = %q grew", s, got)
		}
		_ = Analyze(s)
	})
}

func TestAnalyze(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"When did Caroline go to the LGBTQ support group?", []string{"carolin", "go", "lgbtq", "support", "group"}},
		{"Melanie's kids don't like painting!", []string{"melani", "kid", "like", "paint"}},
		{"It’s 8 May, 2023.", []string{"8", "may", "2023"}},
		{"Über-cool café", []string{"über", "cool", "café"}},
		{"", nil},
	}
	for _, c := range cases {
		if got := Analyze(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Analyze(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	plain := &Analyzer{}
	if got := plain.Analyze("The Cats"); !reflect.DeepEqual(got, []string{"the", "cats"}) {
		t.Errorf("zero Analyzer = %q", got)
	}
}

func TestIDF(t *testing.T) {
	cases := []struct {
		df, n int
		want  float64
	}{
		{1, 10, math.Log(1 + 9.5/1.5)},
		{10, 10, math.Log(1 + 0.5/10.5)},
		{0, 10, math.Log(1 + 10.5/0.5)},
		{20, 10, math.Log(1 + 0.5/10.5)}, // clamped
		{1, 0, 0},
	}
	for _, c := range cases {
		if got := IDF(c.df, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("IDF(%d, %d) = %v, want %v", c.df, c.n, got, c.want)
		}
	}
	if IDF(1, 100) <= IDF(50, 100) {
		t.Error("rarer terms must weigh more")
	}
}

func TestTermScore(t *testing.T) {
	p := BM25Params{K1: 1.2, B: 0.75}
	// tf 2 in an average-length document: idf · 2·2.2/(2+1.2).
	if got, want := p.TermScore(2, 10, 10, 1.5), 1.5*2*2.2/3.2; math.Abs(got-want) > 1e-12 {
		t.Errorf("TermScore = %v, want %v", got, want)
	}
	if p.TermScore(0, 10, 10, 1.5) != 0 {
		t.Error("absent term must score 0")
	}
	if p.TermScore(1, 5, 10, 1) <= p.TermScore(1, 20, 10, 1) {
		t.Error("shorter documents should score higher for the same tf")
	}
	if p.TermScore(10, 10, 10, 1) >= (p.K1+1)*1 {
		t.Error("term frequency must saturate below (k1+1)·idf")
	}
	flat := BM25Params{K1: 1.2, B: 0}
	if flat.TermScore(1, 5, 10, 1) != flat.TermScore(1, 50, 10, 1) {
		t.Error("b=0 must ignore document length")
	}
}

func TestBM25MatchesIndex(t *testing.T) {
	docs := map[string]string{
		"a": "Caroline went to the LGBTQ support group yesterday",
		"b": "Melanie painted a sunrise over the lake",
		"c": "The support group was powerful; the group met again",
		"d": "Melanie ran a charity race for mental health",
	}
	ix := NewIndex(nil, DefaultBM25)
	tfs := map[string]map[string]int{}
	lens := map[string]int{}
	total := 0
	for _, id := range []string{"a", "b", "c", "d"} {
		if err := ix.Add(id, docs[id]); err != nil {
			t.Fatal(err)
		}
		terms := Analyze(docs[id])
		tfs[id] = map[string]int{}
		for _, term := range terms {
			tfs[id][term]++
		}
		lens[id] = len(terms)
		total += len(terms)
	}
	q := Analyze("support group for Caroline")
	hits := ix.SearchTerms(q, 0)
	if len(hits) != 2 || hits[0].ID != "a" {
		t.Fatalf("hits %v, want a first then c", hits)
	}
	// The stateless formula over the same statistics gives the same scores,
	// which is what lets a SQL-backed store rank like this index.
	for _, h := range hits {
		want := DefaultBM25.BM25(q, tfs[h.ID], lens[h.ID], float64(total)/4, ix.DocFreq, 4)
		if math.Abs(h.Score-want) > 1e-9 {
			t.Errorf("%s: index %v, formula %v", h.ID, h.Score, want)
		}
	}
	if err := ix.Add("a", "again"); err == nil {
		t.Error("duplicate id accepted")
	}
	if got := ix.Search("zebra", 10); len(got) != 0 {
		t.Errorf("unknown term matched %v", got)
	}
	if got := ix.Search("melanie", 1); len(got) != 1 {
		t.Errorf("k=1 returned %d hits", len(got))
	}
	if got := NewIndex(nil, DefaultBM25).Search("x", 5); got != nil {
		t.Errorf("empty index returned %v", got)
	}
}

func TestIndexTiesAreDeterministic(t *testing.T) {
	ix := NewIndex(nil, DefaultBM25)
	for _, id := range []string{"z", "m", "a"} {
		ix.Add(id, "same words here")
	}
	hits := ix.Search("words", 0)
	if got := []string{hits[0].ID, hits[1].ID, hits[2].ID}; !reflect.DeepEqual(got, []string{"a", "m", "z"}) {
		t.Errorf("tie order %v, want by id", got)
	}
}

func TestIndexConcurrentUse(t *testing.T) {
	ix := NewIndex(nil, DefaultBM25)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				ix.Add(fmt.Sprintf("%d-%d", w, i), "support group painting")
				ix.Search("painting", 3)
			}
		}()
	}
	wg.Wait()
	if ix.Len() != 200 {
		t.Errorf("%d documents, want 200", ix.Len())
	}
}

func TestFeedbackExpansion(t *testing.T) {
	ix := NewIndex(nil, DefaultBM25)
	ix.Add("1", "pottery class: I made a bowl in pottery")
	ix.Add("2", "the bowl glaze came out blue from the kiln")
	ix.Add("3", "my dog loves the beach")
	fb := Feedback{Docs: 1, Terms: 4, Weight: 0.5}
	q := ix.Expand(Analyze("pottery"), ix.Search("pottery", 1), fb)
	if q["potteri"] <= 0 || q["bowl"] <= 0 {
		t.Fatalf("expanded query %v should keep pottery and add bowl", q)
	}
	var sum float64
	for _, w := range q {
		sum += w
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("weights sum to %v, want 1", sum)
	}
	hits := ix.SearchFeedback("pottery", 0, fb)
	if len(hits) != 2 || hits[0].ID != "1" || hits[1].ID != "2" {
		t.Errorf("feedback hits %v: the kiln turn should be reached through bowl", hits)
	}
}

func TestFuseRRF(t *testing.T) {
	lex := []Hit{{"a", 9}, {"b", 5}, {"c", 1}}
	vec := []Hit{{"c", 0.9}, {"d", 0.8}, {"a", 0.1}}
	got := FuseRRF(60, Ranked{1, lex}, Ranked{0.5, vec})
	want := map[string]float64{"a": 1.0/61 + 0.5/63, "b": 1.0 / 62, "c": 1.0/63 + 0.5/61, "d": 0.5 / 62}
	if len(got) != 4 || got[0].ID != "a" {
		t.Fatalf("fused %v", got)
	}
	for _, h := range got {
		if math.Abs(h.Score-want[h.ID]) > 1e-12 {
			t.Errorf("%s: %v, want %v", h.ID, h.Score, want[h.ID])
		}
	}
}

func TestFuseScores(t *testing.T) {
	lex := []Hit{{"a", 10}, {"b", 5}, {"c", 0}}
	vec := []Hit{{"c", 0.9}, {"b", 0.5}, {"a", 0.1}}
	got := FuseScores(Ranked{1, lex}, Ranked{0.5, vec})
	want := map[string]float64{"a": 1 + 0, "b": 0.5 + 0.5*0.5, "c": 0 + 0.5}
	for _, h := range got {
		if math.Abs(h.Score-want[h.ID]) > 1e-12 {
			t.Errorf("%s: %v, want %v", h.ID, h.Score, want[h.ID])
		}
	}
	if got[0].ID != "a" || got[1].ID != "b" {
		t.Errorf("order %v", got)
	}
	single := FuseScores(Ranked{1, []Hit{{"x", 3}}})
	if len(single) != 1 || single[0].Score != 1 {
		t.Errorf("single-hit list %v, want normalised to 1", single)
	}
}

func TestSpread(t *testing.T) {
	l := NewLayout()
	for i, id := range []string{"s1:1", "s1:2", "s1:3", "s1:4"} {
		l.Add(id, "s1", i)
	}
	l.Add("s2:1", "s2", 0)
	l.Add("s2:2", "s2", 1)
	hits := []Hit{{"s1:2", 10}, {"s2:1", 4}, {"other", 1}}
	got := map[string]float64{}
	for _, h := range l.Spread(hits, SpreadWeights{Prev: 0.5, Next: 0.25, Group: 0.1}) {
		got[h.ID] = h.Score
	}
	want := map[string]float64{
		"s1:1":  0.25*10 + 1, // its next turn scored 10; group best 10
		"s1:2":  10 + 1,
		"s1:3":  0.5*10 + 1, // its previous turn scored 10
		"s1:4":  1,          // group only
		"s2:1":  4 + 0.4,
		"s2:2":  0.5*4 + 0.4,
		"other": 1, // not in the layout: keeps its score
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spread %v\nwant %v", got, want)
	}
	// Negative scores (cosine) are shifted so that the worst hit adds nothing.
	neg := l.Spread([]Hit{{"s2:1", -0.5}, {"s2:2", 0.5}}, SpreadWeights{Prev: 1})
	if neg[0].ID != "s2:2" || neg[0].Score != 1 {
		t.Errorf("negative scores spread as %v", neg)
	}
}

func BenchmarkSearch(b *testing.B) {
	ix := NewIndex(nil, DefaultBM25)
	words := []string{"support", "group", "painting", "sunrise", "lake", "charity", "race", "kids", "pottery", "camping", "beach", "book"}
	for i := 0; i < 5000; i++ {
		ix.Add(fmt.Sprint(i), fmt.Sprintf("%s %s and %s with %s", words[i%12], words[(i/12)%12], words[(i/7)%12], words[(i/3)%12]))
	}
	b.ReportAllocs()
	for b.Loop() {
		ix.Search("painting a sunrise by the lake", 10)
	}
}

func BenchmarkAnalyze(b *testing.B) {
	s := "Hey Mel! I went to a LGBTQ support group yesterday and it was so powerful, the stories were inspiring."
	b.ReportAllocs()
	for b.Loop() {
		Analyze(s)
	}
}

// TestIndexRemove checks that removing and replacing documents leaves the
// same statistics and scores as an index built afresh from what remains.
func TestIndexRemove(t *testing.T) {
	docs := map[string]string{
		"a": "the cat sat on the mat",
		"b": "a dog chased the cat around the yard",
		"c": "cats and dogs are pets",
		"d": "the mat was red and the cat was black",
		"e": "unique zebra words only here",
		"f": "dog dog dog barking at the mailman",
	}
	ix := NewIndex(nil, DefaultBM25)
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		if err := ix.Add(id, docs[id]); err != nil {
			t.Fatal(err)
		}
	}
	if ix.Remove("missing") {
		t.Fatal("Remove of an unknown id reported true")
	}
	if !ix.Remove("b") || !ix.Remove("e") || ix.Remove("e") {
		t.Fatal("Remove: wrong report")
	}
	if err := ix.Replace("a", "a mouse sat on the zebra mat"); err != nil {
		t.Fatal(err)
	}
	if err := ix.Replace("g", "the yard dog"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "a mouse sat on the zebra mat", "c": docs["c"], "d": docs["d"], "f": docs["f"], "g": "the yard dog"}
	fresh := NewIndex(nil, DefaultBM25)
	for _, id := range []string{"g", "f", "d", "c", "a"} { // another order: ranks must not depend on it
		if err := fresh.Add(id, want[id]); err != nil {
			t.Fatal(err)
		}
	}
	if ix.Len() != fresh.Len() || ix.total != fresh.total || len(ix.postings) != len(fresh.postings) {
		t.Fatalf("stats: n %d/%d total %d/%d terms %d/%d", ix.Len(), fresh.Len(), ix.total, fresh.total, len(ix.postings), len(fresh.postings))
	}
	for term, ps := range fresh.postings {
		if ix.DocFreq(term) != len(ps) {
			t.Errorf("df(%q) = %d, fresh %d", term, ix.DocFreq(term), len(ps))
		}
	}
	for id, d := range ix.byID {
		if ix.ids[d] != id {
			t.Errorf("byID[%q] = %d, ids[%d] = %q", id, d, d, ix.ids[d])
		}
		for _, tc := range ix.terms[d] {
			found := false
			for _, p := range ix.postings[tc.term] {
				found = found || (p.doc == d && p.tf == tc.tf)
			}
			if !found {
				t.Errorf("posting of %q in %q missing", tc.term, id)
			}
		}
	}
	for _, q := range []string{"cat mat", "dog yard", "zebra", "the", "pets mouse barking", "black red cat dog"} {
		got, exp := ix.Search(q, 0), fresh.Search(q, 0)
		if len(got) != len(exp) {
			t.Fatalf("%q: %d hits, fresh %d", q, len(got), len(exp))
		}
		for i := range got {
			if got[i].ID != exp[i].ID || math.Abs(got[i].Score-exp[i].Score) > 1e-12 {
				t.Errorf("%q hit %d: %v, fresh %v", q, i, got[i], exp[i])
			}
		}
	}
}
