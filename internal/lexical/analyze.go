// Package lexical owns keyword ranking: the analyser that turns text into
// index terms (lowercase, Unicode word split, English stop words, Porter2
// stemming), the BM25 formula over term statistics, an in-memory BM25 index,
// and rank/score fusion helpers for hybrid (lexical + vector) search.
//
// The math is split from the index so that a store keeping per-tenant term
// statistics elsewhere (e.g. document frequencies in Postgres) can index the
// exact terms Analyze returns and score them with the same functions.
package lexical

import (
	"strings"
	"unicode"
)

// Analyzer turns text into index terms. The zero value lowercases and splits
// only; DefaultAnalyzer also drops stop words and stems.
type Analyzer struct {
	// StopWords are dropped (matched before stemming). nil keeps every word.
	StopWords map[string]struct{}
	// Stem applies the Porter2 stemmer.
	Stem bool
}

// DefaultAnalyzer is the analyser the service indexes and queries with.
// Changing it changes every stored term: treat it as part of the index format.
var DefaultAnalyzer = &Analyzer{StopWords: EnglishStopWords, Stem: true}

// Analyze returns DefaultAnalyzer's terms for text.
func Analyze(text string) []string { return DefaultAnalyzer.Analyze(text) }

// Analyze returns the index terms of text, in order, with repeats.
func (a *Analyzer) Analyze(text string) []string {
	var out []string
	for _, w := range Words(text) {
		if _, stop := a.StopWords[w]; stop {
			continue
		}
		// Possessives and contractions: "caroline's" indexes as "caroline";
		// a stop-word check on the bare form catches "it's", "don't".
		if i := strings.IndexByte(w, '\''); i > 0 {
			w = w[:i]
			if _, stop := a.StopWords[w]; stop {
				continue
			}
		}
		if a.Stem {
			w = Stem(w)
		}
		out = append(out, w)
	}
	return out
}

// Words splits text into lowercase words: maximal runs of letters, digits
// and combining marks, with an apostrophe kept between letters ("don't") so
// contractions can be recognised. Everything else separates words.
func Words(text string) []string {
	var out []string
	rs := []rune(text)
	start := -1
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
		start = -1
	}
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			if start < 0 {
				start = i
			}
			b.WriteRune(unicode.ToLower(r))
		case (r == '\'' || r == '’') && start >= 0 && i+1 < len(rs) && unicode.IsLetter(rs[i+1]):
			b.WriteByte('\'')
		default:
			flush()
		}
	}
	flush()
	return out
}

// EnglishStopWords is a conventional English stop list (the NLTK / Snowball
// list, with contractions written with an apostrophe). Stop words carry
// almost no IDF in BM25 anyway; dropping them keeps postings small and stops
// them from matching on term frequency alone.
var EnglishStopWords = setOf(`a about above after again against all am an and any are aren't as at
be because been before being below between both but by can can't cannot could couldn't
did didn't do does doesn't doing don't down during each few for from further had hadn't
has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself
his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
mustn't my myself no nor not of off on once only or other ought our ours ourselves out over
own same shan't she she'd she'll she's should shouldn't so some such than that that's the
their theirs them themselves then there there's these they they'd they'll they're they've
this those through to too under until up very was wasn't we we'd we'll we're we've were
weren't what what's when when's where where's which while who who's whom why why's will
with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
s t d ll m re ve just also`)

func setOf(words string) map[string]struct{} {
	m := make(map[string]struct{})
	for _, w := range strings.Fields(words) {
		m[w] = struct{}{}
	}
	return m
}
