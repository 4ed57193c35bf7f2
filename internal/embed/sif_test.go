package embed

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// tinyTable is a hand-made vocabulary: frequent function words near a shared
// direction (as real GloVe's are) and content words in distinct directions.
func tinyTable(t testing.TB) *WordVectors {
	t.Helper()
	words := []string{"the", "and", "to", "not", "cat", "kitten", "dog", "car", "engine", "well-known", "famous", "do"}
	vecs := [][]float32{
		{1, 0.1, 0, 0, 0, 0.2},
		{1, 0, 0.1, 0, 0, 0.1},
		{1, 0, 0, 0.1, 0.1, 0},
		{0.8, 0, 0, 0, 0.3, 0.3},
		{0.2, 1, 0.1, 0, 0, 0},
		{0.2, 0.9, 0.2, 0, 0, 0},
		{0.2, 0.7, 0.6, 0, 0, 0},
		{0.2, 0, 0, 1, 0.1, 0},
		{0.2, 0, 0, 0.8, 0.5, 0},
		{0.1, 0, 0, 0, 0, 1},
		{0.1, 0, 0.1, 0, 0, 0.9},
		{0.9, 0.1, 0, 0, 0, 0.1},
	}
	wv, err := NewWordVectors(words, vecs, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := wv.SetComponent(SIFComponent(wv, DefaultSIFA, DefaultSentenceLen), DefaultSIFA); err != nil {
		t.Fatal(err)
	}
	return wv
}

func TestWordVectorsRoundTrip(t *testing.T) {
	wv := tinyTable(t)
	path := filepath.Join(t.TempDir(), "sub", "tiny.bin")
	if err := wv.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadWordVectors(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != wv.Len() || got.Dim() != wv.Dim() || got.SourceSize() != 1000 {
		t.Fatalf("len %d dim %d source %d", got.Len(), got.Dim(), got.SourceSize())
	}
	a, b := make([]float32, wv.Dim()), make([]float32, wv.Dim())
	for r := 0; r < wv.Len(); r++ {
		if got.Word(r) != wv.Word(r) {
			t.Fatalf("rank %d: %q, want %q", r, got.Word(r), wv.Word(r))
		}
		if rr, ok := got.Rank(wv.Word(r)); !ok || rr != r {
			t.Fatalf("Rank(%q) = %d, %v", wv.Word(r), rr, ok)
		}
		wv.Vector(r, a)
		got.Vector(r, b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("rank %d: %v, want %v", r, b, a)
		}
	}
	pc, pa := got.Component()
	wpc, wpa := wv.Component()
	if !reflect.DeepEqual(pc, wpc) || pa != wpa {
		t.Fatalf("component %v (a %v), want %v (a %v)", pc, pa, wpc, wpa)
	}
}

func TestQuantisationError(t *testing.T) {
	vec := []float32{0.5, -1.25, 0.001, 3.3, -2.2}
	wv, err := NewWordVectors([]string{"x"}, [][]float32{vec}, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(vec))
	wv.Vector(0, got)
	for i := range vec {
		// Half a quantisation step of the largest component.
		if d := math.Abs(float64(got[i] - vec[i])); d > 3.3/127/2+1e-6 {
			t.Errorf("component %d: %v, want %v", i, got[i], vec[i])
		}
	}
}

func TestParseRejectsCorruptFiles(t *testing.T) {
	data, err := tinyTable(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     {},
		"truncated": data[:len(data)/2],
		"magic":     append([]byte("XXXX"), data[4:]...),
		"flipped":   func() []byte { d := bytes.Clone(data); d[len(d)/2] ^= 1; return d }(),
	}
	for name, d := range cases {
		if _, err := ParseWordVectors(d); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

func FuzzParseWordVectors(f *testing.F) {
	data, err := tinyTable(f).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, d []byte) {
		wv, err := ParseWordVectors(d)
		if err != nil {
			return
		}
		// Anything that parses must be usable.
		v := make([]float32, wv.Dim())
		for r := 0; r < wv.Len(); r++ {
			wv.Vector(r, v)
		}
		NewSIF(wv, SIFOptions{}).EmbedOne("the cat")
	})
}

func TestNewWordVectorsValidates(t *testing.T) {
	cases := map[string]struct {
		words []string
		vecs  [][]float32
	}{
		"none":      {nil, nil},
		"mismatch":  {[]string{"a", "b"}, [][]float32{{1}}},
		"duplicate": {[]string{"a", "a"}, [][]float32{{1}, {2}}},
		"ragged":    {[]string{"a", "b"}, [][]float32{{1, 2}, {1}}},
		"empty":     {[]string{""}, [][]float32{{1}}},
	}
	for name, c := range cases {
		if _, err := NewWordVectors(c.words, c.vecs, 10); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestGloveTokens(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello, World!", []string{"hello", "world"}},
		{"I don't know", []string{"i", "do", "not", "know"}},
		{"We can't, won't.", []string{"we", "can", "not", "will", "not"}},
		{"Caroline's dog’s toy", []string{"caroline", "dog", "toy"}},
		{"I'm sure they'll go", []string{"i", "am", "sure", "they", "will", "go"}},
		{"a well-known e-mail -- dash", []string{"a", "well-known", "e-mail", "dash"}},
		{"O'Neill in 2023", []string{"o", "neill", "in", "2023"}},
		{"Café naïve", []string{"café", "naïve"}},
		{"", nil},
	}
	for _, c := range cases {
		if got := glovetokens(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("glovetokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSIFRanksRelatedTextsCloser(t *testing.T) {
	e := NewSIF(tinyTable(t), SIFOptions{})
	vs, err := e.Embed(context.Background(), []string{"the cat and the kitten", "the kitten", "the car engine", "", "zzz unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 5 {
		t.Fatalf("%d vectors", len(vs))
	}
	for i, v := range vs[:3] {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d has squared norm %v", i, n)
		}
	}
	for _, v := range vs[3:] {
		for _, x := range v {
			if x != 0 {
				t.Fatalf("text without known words: %v, want zero vector", v)
			}
		}
	}
	if Cosine(vs[0], vs[1]) <= Cosine(vs[0], vs[2]) {
		t.Errorf("cat~kitten %.3f should exceed cat~car %.3f", Cosine(vs[0], vs[1]), Cosine(vs[0], vs[2]))
	}
}

func TestSIFHyphenFallbackAndDeterminism(t *testing.T) {
	e := NewSIF(tinyTable(t), SIFOptions{})
	// "well-known" is in the vocabulary; "kitten-dog" is not, so it is
	// embedded as its parts.
	if !reflect.DeepEqual(e.EmbedOne("kitten-dog"), e.EmbedOne("kitten dog")) {
		t.Error("unknown compound should embed as its parts")
	}
	if reflect.DeepEqual(e.EmbedOne("well-known"), e.EmbedOne("well known")) {
		t.Error("known compound should use its own vector")
	}
	if !reflect.DeepEqual(e.EmbedOne("The cat!"), e.EmbedOne("the cat")) {
		t.Error("case and punctuation should not matter")
	}
}

func TestSIFComponentRemoval(t *testing.T) {
	wv := tinyTable(t)
	pc, _ := wv.Component()
	e := NewSIF(wv, SIFOptions{})
	v := e.EmbedOne("the cat and the dog")
	var d float64
	for i := range v {
		d += float64(v[i]) * float64(pc[i])
	}
	if math.Abs(d) > 1e-5 {
		t.Errorf("projection on the removed component = %v, want 0", d)
	}
	// The shared direction of the function words dominates the component.
	for i := 1; i < len(pc); i++ {
		if math.Abs(float64(pc[i])) >= math.Abs(float64(pc[0])) {
			t.Fatalf("component %v should lie mostly along the function words' axis", pc)
		}
	}
	keep := NewSIF(wv, SIFOptions{KeepComponent: true})
	if keep.ID() == e.ID() {
		t.Error("keeping the component changes the space, so the ID must differ")
	}
	custom := NewSIF(wv, SIFOptions{Component: []float32{0, 1, 0, 0, 0, 0}})
	if custom.ID() == e.ID() || custom.ID() == keep.ID() {
		t.Errorf("custom component ID %q must differ", custom.ID())
	}
}

func TestSIFWeightsDampFrequentWords(t *testing.T) {
	w := sifWeights(tinyTable(t), DefaultSIFA)
	for r := 1; r < len(w); r++ {
		if w[r] < w[r-1] {
			t.Fatalf("weight of rank %d (%v) below rank %d (%v)", r, w[r], r-1, w[r-1])
		}
	}
	if w[0] > 0.2 {
		t.Errorf("most frequent word weighs %v; SIF should nearly silence it", w[0])
	}
}

func TestEmbedHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewSIF(tinyTable(t), SIFOptions{}).Embed(ctx, []string{"cat"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// realFile is where scripts/embeddings.sh puts the real table.
func realFile() string {
	if p := os.Getenv("ADMEM_EMBED_FILE"); p != "" {
		return p
	}
	return filepath.Join("..", "..", ".data", "embed", "glove-50k.bin")
}

// TestRealFile checks the shipped table. Without it the test skips locally,
// but fails under CI=true: CI must run scripts/embeddings.sh, never silently
// test less.
func TestRealFile(t *testing.T) {
	path := realFile()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the word-vector file is missing (%v): run scripts/embeddings.sh", err)
		}
		t.Skipf("no word-vector file (%v): run scripts/embeddings.sh", err)
	}
	wv, err := LoadWordVectors(path)
	if err != nil {
		t.Fatal(err)
	}
	if wv.Len() != 50000 || wv.Dim() != 100 {
		t.Fatalf("%d words × %d dims, want 50000 × 100", wv.Len(), wv.Dim())
	}
	if wv.Word(0) != "the" {
		t.Errorf("rank 0 is %q; the file should be in GloVe's frequency order", wv.Word(0))
	}
	e := NewSIF(wv, SIFOptions{})
	if e.ID() != "glove-sif-100d-v1" {
		t.Errorf("ID %q", e.ID())
	}
	vs, err := e.Embed(context.Background(), []string{
		"I adopted a puppy from the animal shelter last week.",
		"We got a new dog from the rescue center.",
		"The quarterly tax report is due on Friday.",
	})
	if err != nil {
		t.Fatal(err)
	}
	if near, far := Cosine(vs[0], vs[1]), Cosine(vs[0], vs[2]); near <= far {
		t.Errorf("puppy~dog %.3f should exceed puppy~tax %.3f", near, far)
	}
}

func BenchmarkSIFEmbedSentence(b *testing.B) {
	wv, err := LoadWordVectors(realFile())
	if err != nil {
		b.Logf("real file unavailable (%v); using the tiny table", err)
		wv = tinyTable(b)
	}
	e := NewSIF(wv, SIFOptions{})
	s := "Hey Mel! I went to a LGBTQ support group yesterday and it was so powerful, the stories were inspiring."
	b.ReportAllocs()
	for b.Loop() {
		e.EmbedOne(s)
	}
}

func BenchmarkLoadWordVectors(b *testing.B) {
	path := realFile()
	if _, err := os.Stat(path); err != nil {
		b.Skip("no word-vector file: run scripts/embeddings.sh")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadWordVectors(path); err != nil {
			b.Fatal(err)
		}
	}
}
