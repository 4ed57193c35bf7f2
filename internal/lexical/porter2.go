package lexical

import "bytes"

// Stem reduces an English word to its Porter2 (Snowball English) stem, so
// that "painting", "paints" and "painted" all index as "paint". The word must
// already be lowercase. Words with non-ASCII letters are returned unchanged:
// the algorithm is defined for English spelling only.
func Stem(word string) string {
	if len(word) <= 2 {
		return word
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if c >= 0x80 || (c >= 'A' && c <= 'Z') {
			return word
		}
	}
	if s, ok := stemExceptions[word]; ok {
		return s
	}
	w := []byte(word)
	if w[0] == '\'' {
		w = w[1:]
	}
	// y at the start or after a vowel is a consonant: mark it Y so the vowel
	// tests skip it.
	for i := range w {
		if w[i] == 'y' && (i == 0 || isVowel(w[i-1])) {
			w[i] = 'Y'
		}
	}
	r1, r2 := regions(w)
	w = step0(w)
	w = step1a(w)
	if s, ok := step1aInvariant[string(w)]; ok {
		return s
	}
	w = step1b(w, r1)
	w = step1c(w)
	w = step2(w, r1)
	w = step3(w, r1, r2)
	w = step4(w, r2)
	w = step5(w, r1, r2)
	for i := range w {
		if w[i] == 'Y' {
			w[i] = 'y'
		}
	}
	return string(w)
}

var stemExceptions = map[string]string{
	"skis": "ski", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
	"idly": "idl", "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli",
	"singly": "singl", "sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas",
	"cosmos": "cosmos", "bias": "bias", "andes": "andes",
}

var step1aInvariant = map[string]string{
	"inning": "inning", "outing": "outing", "canning": "canning", "herring": "herring",
	"earring": "earring", "proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

// regions returns the starts of R1 and R2: R1 follows the first non-vowel
// that follows a vowel, R2 is the same rule applied inside R1.
func regions(w []byte) (int, int) {
	r1 := len(w)
	switch {
	case bytes.HasPrefix(w, []byte("gener")), bytes.HasPrefix(w, []byte("arsen")):
		r1 = 5
	case bytes.HasPrefix(w, []byte("commun")):
		r1 = 6
	default:
		r1 = afterVC(w, 0)
	}
	return r1, afterVC(w, r1)
}

func afterVC(w []byte, from int) int {
	for i := from + 1; i < len(w); i++ {
		if !isVowel(w[i]) && isVowel(w[i-1]) {
			return i + 1
		}
	}
	return len(w)
}

// endsShortSyllable reports whether w ends in a short syllable: non-vowel,
// vowel, non-vowel other than w, x or Y; or, for a two-letter word, vowel
// then non-vowel.
func endsShortSyllable(w []byte) bool {
	n := len(w)
	if n == 2 {
		return isVowel(w[0]) && !isVowel(w[1])
	}
	if n >= 3 {
		c := w[n-1]
		return !isVowel(w[n-3]) && isVowel(w[n-2]) && !isVowel(c) && c != 'w' && c != 'x' && c != 'Y'
	}
	return false
}

func isShortWord(w []byte, r1 int) bool {
	return r1 >= len(w) && endsShortSyllable(w)
}

func hasVowel(w []byte) bool {
	for _, c := range w {
		if isVowel(c) {
			return true
		}
	}
	return false
}

// longest returns the longest suffix of w among suffixes, or "".
func longest(w []byte, suffixes []string) string {
	best := ""
	for _, s := range suffixes {
		if len(s) > len(best) && bytes.HasSuffix(w, []byte(s)) {
			best = s
		}
	}
	return best
}

func step0(w []byte) []byte {
	switch s := longest(w, []string{"'s'", "'s", "'"}); s {
	case "":
		return w
	default:
		return w[:len(w)-len(s)]
	}
}

func step1a(w []byte) []byte {
	switch longest(w, []string{"sses", "ied", "ies", "s", "us", "ss"}) {
	case "sses":
		return w[:len(w)-2]
	case "ied", "ies":
		if len(w) > 4 {
			return w[:len(w)-2]
		}
		return w[:len(w)-1]
	case "s":
		// Delete if a vowel occurs before the letter preceding the s:
		// "gaps" → "gap" but "gas" and "this" stay.
		if len(w) >= 3 && hasVowel(w[:len(w)-2]) {
			return w[:len(w)-1]
		}
	}
	return w
}

func step1b(w []byte, r1 int) []byte {
	s := longest(w, []string{"eed", "eedly", "ed", "edly", "ing", "ingly"})
	switch s {
	case "":
		return w
	case "eed", "eedly":
		if len(w)-len(s) >= r1 {
			return append(w[:len(w)-len(s)], "ee"...)
		}
		return w
	}
	stem := w[:len(w)-len(s)]
	if !hasVowel(stem) {
		return w
	}
	w = stem
	switch {
	case bytes.HasSuffix(w, []byte("at")), bytes.HasSuffix(w, []byte("bl")), bytes.HasSuffix(w, []byte("iz")):
		return append(w, 'e')
	case endsDouble(w):
		return w[:len(w)-1]
	case isShortWord(w, r1):
		return append(w, 'e')
	}
	return w
}

func endsDouble(w []byte) bool {
	n := len(w)
	if n < 2 || w[n-1] != w[n-2] {
		return false
	}
	switch w[n-1] {
	case 'b', 'd', 'f', 'g', 'm', 'n', 'p', 'r', 't':
		return true
	}
	return false
}

func step1c(w []byte) []byte {
	n := len(w)
	if n > 2 && (w[n-1] == 'y' || w[n-1] == 'Y') && !isVowel(w[n-2]) {
		w[n-1] = 'i'
	}
	return w
}

var step2Rules = map[string]string{
	"tional": "tion", "enci": "ence", "anci": "ance", "abli": "able", "entli": "ent",
	"izer": "ize", "ization": "ize", "ational": "ate", "ation": "ate", "ator": "ate",
	"alism": "al", "aliti": "al", "alli": "al", "fulness": "ful", "ousli": "ous",
	"ousness": "ous", "iveness": "ive", "iviti": "ive", "biliti": "ble", "bli": "ble",
	"ogi": "og", "fulli": "ful", "lessli": "less", "li": "",
}

var step2Suffixes = keys(step2Rules)

func step2(w []byte, r1 int) []byte {
	s := longest(w, step2Suffixes)
	if s == "" || len(w)-len(s) < r1 {
		return w
	}
	stem := w[:len(w)-len(s)]
	switch s {
	case "ogi":
		if len(stem) == 0 || stem[len(stem)-1] != 'l' {
			return w
		}
	case "li":
		if len(stem) == 0 || !validLi(stem[len(stem)-1]) {
			return w
		}
	}
	return append(stem, step2Rules[s]...)
}

func validLi(c byte) bool {
	switch c {
	case 'c', 'd', 'e', 'g', 'h', 'k', 'm', 'n', 'r', 't':
		return true
	}
	return false
}

var step3Rules = map[string]string{
	"tional": "tion", "ational": "ate", "alize": "al", "icate": "ic", "iciti": "ic",
	"ical": "ic", "ful": "", "ness": "", "ative": "",
}

var step3Suffixes = keys(step3Rules)

func step3(w []byte, r1, r2 int) []byte {
	s := longest(w, step3Suffixes)
	if s == "" || len(w)-len(s) < r1 {
		return w
	}
	if s == "ative" && len(w)-len(s) < r2 {
		return w
	}
	return append(w[:len(w)-len(s)], step3Rules[s]...)
}

var step4Suffixes = []string{
	"al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
	"ism", "ate", "iti", "ous", "ive", "ize", "ion",
}

func step4(w []byte, r2 int) []byte {
	s := longest(w, step4Suffixes)
	if s == "" || len(w)-len(s) < r2 {
		return w
	}
	stem := w[:len(w)-len(s)]
	if s == "ion" && (len(stem) == 0 || (stem[len(stem)-1] != 's' && stem[len(stem)-1] != 't')) {
		return w
	}
	return stem
}

func step5(w []byte, r1, r2 int) []byte {
	n := len(w)
	switch {
	case n > 0 && w[n-1] == 'e':
		if n-1 >= r2 || (n-1 >= r1 && !endsShortSyllable(w[:n-1])) {
			return w[:n-1]
		}
	case n > 1 && w[n-1] == 'l' && w[n-2] == 'l' && n-1 >= r2:
		return w[:n-1]
	}
	return w
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
