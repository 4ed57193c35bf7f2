package judge

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Folding: the text an attacker writes to hide an instruction is brought
// back to the words a reader (or a model) would see, before any rule looks
// at it. What the folding had to undo is itself evidence (hidden
// characters, letters of two scripts in one word).

// folded is one text ready for the instruction rules.
type folded struct {
	// words of the Latin-folded text: lower case, homoglyphs and styled
	// letters mapped to ASCII, leetspeak digits inside words mapped back.
	words []string
	// native is the lower-cased text with invisible characters removed but
	// scripts kept (for the rules of other languages).
	native string
	// lines of the folded text, for line-initial role markers.
	lines []string
	// hidden counts invisible characters inside words (zero-width, bidi,
	// tag characters); tags counts Unicode tag characters (ASCII smuggling).
	hidden, tags int
	// mixed counts words that mix Latin with Cyrillic or Greek letters.
	mixed int
}

// confusables maps Cyrillic and Greek letters that look like Latin ones.
var confusables = map[rune]rune{
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ɡ': 'g',
	'ո': 'n', 'ս': 'u', 'ɩ': 'i', 'ı': 'i', 'ℓ': 'l',
	'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u',
	'χ': 'x', 'γ': 'y', 'η': 'n', 'ω': 'w',
}

// invisible reports runes a reader does not see: format characters
// (zero-width space and joiners, bidi controls, soft hyphen, BOM) and tag
// characters.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || (r >= 0xE0000 && r <= 0xE007F)
}

// styled maps fullwidth, circled and mathematical letters and digits to
// ASCII; other runes are returned as they are.
func styled(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // fullwidth ASCII
		return r - 0xFEE0
	case r >= 0x24B6 && r <= 0x24CF: // circled capitals
		return 'a' + (r - 0x24B6)
	case r >= 0x24D0 && r <= 0x24E9: // circled small letters
		return 'a' + (r - 0x24D0)
	case r >= 0x1D400 && r <= 0x1D6A3: // mathematical alphanumeric letters
		off := (r - 0x1D400) % 52
		if off < 26 {
			return 'a' + off
		}
		return 'a' + off - 26
	case r >= 0x1D7CE && r <= 0x1D7FF: // mathematical digits
		return '0' + (r-0x1D7CE)%10
	}
	return r
}

func isLatin(r rune) bool { return r < 0x250 && unicode.IsLetter(r) }
func isCyrGreek(r rune) bool {
	return unicode.Is(unicode.Cyrillic, r) || unicode.Is(unicode.Greek, r)
}

// leet maps digits used as letters, applied only inside words that also hold
// letters ("1gn0re"), never to numbers.
var leet = map[rune]rune{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's'}

// fold prepares text for the rules. JSON documents are read as the strings
// they hold (an instruction in a field value is still an instruction), and
// \uXXXX escapes are decoded.
func fold(text string) folded {
	var f folded
	text = unescapeJSON(text)
	// Tag characters carry invisible ASCII: decode them into the text.
	var b strings.Builder
	runes := []rune(text)
	for i, r := range runes {
		if r >= 0xE0020 && r <= 0xE007E {
			f.tags++
			b.WriteRune(r - 0xE0000)
			continue
		}
		r = styled(r)
		if invisible(r) {
			// Between two letters it splits a word a reader sees whole; a
			// zero-width joiner between emoji is ordinary.
			if i > 0 && i+1 < len(runes) && unicode.IsLetter(runes[i-1]) && unicode.IsLetter(runes[i+1]) {
				f.hidden++
			}
			continue
		}
		b.WriteRune(r)
	}
	if f.tags > 0 {
		f.hidden += f.tags
	}
	native := despace(strings.ToLower(b.String()))
	f.native = native

	// The Latin form, word by word.
	var lat strings.Builder
	word := []rune{}
	flush := func() {
		if len(word) == 0 {
			return
		}
		hasLat, hasCyr, hasLetter := false, false, false
		for _, r := range word {
			hasLat = hasLat || isLatin(r)
			hasCyr = hasCyr || isCyrGreek(r)
			hasLetter = hasLetter || unicode.IsLetter(r)
		}
		if hasLat && hasCyr {
			f.mixed++
		}
		for _, r := range word {
			if m, ok := confusables[r]; ok {
				r = m
			} else if m, ok := leet[r]; ok && hasLetter {
				r = m
			}
			lat.WriteRune(r)
		}
		word = word[:0]
	}
	for _, r := range native {
		r = unicode.ToLower(r)
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '@' || r == '$' {
			word = append(word, r)
			continue
		}
		flush()
		lat.WriteRune(r)
	}
	flush()
	latin := lat.String()
	f.lines = strings.Split(latin, "\n")
	f.words = joinSpelled(splitWords(latin))
	return f
}

// spelledRE matches three or more single letters written apart.
var spelledRE = regexp.MustCompile(`(?:\b\pL[ .\-]){2,}\pL\b`)

// despace joins letters written apart ("s y s t e m" → "system").
func despace(s string) string {
	return spelledRE.ReplaceAllStringFunc(s, func(m string) string {
		return strings.NewReplacer(" ", "", ".", "", "-", "").Replace(m)
	})
}

// splitWords cuts text into words of letters, digits and underscores; a
// sentence end is kept as the word "." so that rules do not reach across.
func splitWords(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		w := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
		if w && start < 0 {
			start = i
		}
		if !w && start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
		if r == '.' || r == '!' || r == '?' || r == '\n' || r == ';' {
			if len(out) > 0 && out[len(out)-1] != "." {
				out = append(out, ".")
			}
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// joinSpelled joins letters written apart ("i g n o r e", "n o w") into
// one word: a run of three or more single letters, or two of which one is
// not a word on its own ("a", "i").
func joinSpelled(ws []string) []string {
	single := func(w string) bool {
		if utf8.RuneCountInString(w) != 1 || w == "." {
			return false
		}
		r := []rune(w)[0]
		return unicode.IsLetter(r) || r == '_'
	}
	var out []string
	for i := 0; i < len(ws); {
		j := i
		for j < len(ws) && single(ws[j]) {
			j++
		}
		if j-i >= 3 || j-i == 2 && !(strings.Contains("ai", ws[i]) && strings.Contains("ai", ws[i+1])) {
			out = append(out, strings.Join(ws[i:j], ""))
			i = j
			continue
		}
		out = append(out, ws[i])
		i++
	}
	return out
}

// unescapeJSON returns the text with, when it is a JSON document, the
// strings it holds appended, and \uXXXX escapes decoded.
func unescapeJSON(text string) string {
	t := strings.TrimSpace(text)
	if len(t) > 1 && (t[0] == '{' || t[0] == '[' || t[0] == '"') {
		var v any
		if json.Unmarshal([]byte(t), &v) == nil {
			var parts []string
			collectStrings(v, &parts, 0)
			if len(parts) > 0 {
				return text + "\n" + strings.Join(parts, "\n")
			}
		}
	}
	if strings.Contains(text, `\u`) {
		var q string
		if json.Unmarshal([]byte(`"`+strings.ReplaceAll(strings.ReplaceAll(text, `"`, `\"`), "\n", `\n`)+`"`), &q) == nil {
			return text + "\n" + q
		}
	}
	return text
}

func collectStrings(v any, out *[]string, depth int) {
	if depth > 32 {
		return
	}
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
		// A string holding JSON (a tool result inside a tool result).
		if t := strings.TrimSpace(x); len(t) > 1 && (t[0] == '{' || t[0] == '[') {
			var inner any
			if json.Unmarshal([]byte(t), &inner) == nil {
				collectStrings(inner, out, depth+1)
			}
		}
	case []any:
		for _, e := range x {
			collectStrings(e, out, depth+1)
		}
	case map[string]any:
		for k, e := range x {
			*out = append(*out, k)
			collectStrings(e, out, depth+1)
		}
	}
}
