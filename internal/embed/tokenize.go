package embed

import (
	"strings"
	"unicode"
)

// clitics maps the contractions GloVe's tokenizer splits off to the full word,
// because the shipped vocabulary dropped tokens with apostrophes ("n't", "'ll")
// while it keeps their expansions.
var clitics = map[string]string{
	"n't": "not",
	"'m":  "am",
	"'re": "are",
	"'ve": "have",
	"'ll": "will",
	"'d":  "would",
	"'s":  "", // possessive or "is": too ambiguous and too frequent to matter
}

// irregularNeg holds stems that change when "n't" is split off.
var irregularNeg = map[string]string{"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}

// glovetokens splits text the way GloVe's corpus was tokenised: lowercase,
// punctuation split from words, contractions split. Punctuation and symbols
// are dropped rather than returned: they carry no topical meaning for
// retrieval. Hyphenated compounds come back whole ("well-known"); the
// embedder falls back to their parts when the compound is not in the
// vocabulary.
func glovetokens(text string) []string {
	text = strings.ToLower(text)
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		out = appendContraction(out, strings.Trim(cur.String(), "-'"))
		cur.Reset()
	}
	rs := []rune(text)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			cur.WriteRune(r)
		case (r == '\'' || r == '’' || r == '-') && cur.Len() > 0 && i+1 < len(rs) &&
			(unicode.IsLetter(rs[i+1]) || unicode.IsDigit(rs[i+1])):
			// Inside a word: keep it so that contractions and compounds can
			// be recognised as a whole.
			if r == '’' {
				r = '\''
			}
			cur.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return out
}

func appendContraction(out []string, tok string) []string {
	if tok == "" {
		return out
	}
	i := strings.IndexByte(tok, '\'')
	if i < 0 {
		return append(out, tok)
	}
	if strings.HasSuffix(tok, "n't") && strings.Count(tok, "'") == 1 {
		base := tok[:len(tok)-3]
		if b, ok := irregularNeg[base]; ok {
			base = b
		}
		if base != "" {
			out = append(out, base)
		}
		return append(out, "not")
	}
	if full, ok := clitics[tok[i:]]; ok {
		out = append(out, tok[:i])
		if full != "" {
			out = append(out, full)
		}
		return out
	}
	// Names such as o'neill: the vocabulary has no apostrophe tokens, so the
	// parts are the best match.
	for _, p := range strings.Split(tok, "'") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
