package signature

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Placeholders that replace variable parts of a message. They are letters in
// angle brackets so that no masking rule matches them again, which keeps Mask
// idempotent.
const (
	PlaceholderNumber = "<NUM>"
	PlaceholderID     = "<ID>"
	PlaceholderHex    = "<HEX>"
	PlaceholderUUID   = "<UUID>"
	PlaceholderString = "<STR>"
	PlaceholderPath   = "<PATH>"
	PlaceholderURL    = "<URL>"
	PlaceholderEmail  = "<EMAIL>"
	PlaceholderDate   = "<DATE>"
	PlaceholderTime   = "<TIME>"
	PlaceholderStamp  = "<TS>"
	PlaceholderIP     = "<IP>"
)

// MaxTemplateLen bounds a template in bytes: templates are stored, hashed and
// injected into prompts, and a stack dump must not become a signature.
const MaxTemplateLen = 240

// ellipsis marks a cut template.
const ellipsis = "…"

type rule struct {
	re   *regexp.Regexp
	repl func(string) string
}

func fixed(s string) func(string) string { return func(string) string { return s } }

// Rules run in order: the wide, structured literals first (URLs contain
// paths and numbers, timestamps contain numbers), the generic token rule last.
var rules = []rule{
	{regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>]*[^\s'"<>.,;:)\]]`), fixed(PlaceholderURL)},
	{regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b`), fixed(PlaceholderEmail)},
	{regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`), fixed(PlaceholderUUID)},
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|\s?[+\-]\d{2}:?\d{2}\b|\s?UTC\b)?`), fixed(PlaceholderStamp)},
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}/\d{2}/\d{2}\b`), fixed(PlaceholderDate)},
	{regexp.MustCompile(`\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]{0,6}\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?\b`), fixed(PlaceholderDate)},
	{regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b`), fixed(PlaceholderIP)},
	{regexp.MustCompile(`\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b(?:\s?[AaPp][Mm]\b)?`), fixed(PlaceholderTime)},
	{regexp.MustCompile(`\b0[xX][0-9a-fA-F]+\b`), fixed(PlaceholderHex)},
	// Paths: absolute or explicitly relative ones must start a token; bare
	// relative ones need a file extension, or "and/or" would be a path.
	{regexp.MustCompile(`(^|[\s(\[=,:])(?:~|\.{1,2})?/[^\s'"()\[\]{},;:<>]+`), func(m string) string {
		if c := m[0]; c != '/' && c != '~' && c != '.' {
			return m[:1] + PlaceholderPath
		}
		return PlaceholderPath
	}},
	{regexp.MustCompile(`\b[A-Za-z]:\\[^\s'"<>]+`), fixed(PlaceholderPath)},
	{regexp.MustCompile(`\b[\w.\-]+(?:/[\w.\-]+)+\.[A-Za-z][A-Za-z0-9]{0,4}\b`), fixed(PlaceholderPath)},
	{regexp.MustCompile(`\b\d+(?:\.\d+)+\b`), fixed(PlaceholderNumber)},
	{regexp.MustCompile(`[A-Za-z0-9]+(?:[_\-][A-Za-z0-9]+)*_*`), maskToken},
}

// maskToken decides, for one word-like token, whether it is an instance
// literal (an id, a code, a number) or part of the message's vocabulary.
func maskToken(tok string) string {
	var digits, upper, lower, hexLetters, seps int
	for _, r := range tok {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r >= 'A' && r <= 'Z':
			upper++
			if r <= 'F' {
				hexLetters++
			}
		case r >= 'a' && r <= 'z':
			lower++
			if r <= 'f' {
				hexLetters++
			}
		default:
			seps++
		}
	}
	letters := upper + lower
	switch {
	case digits == 0:
		return tok
	case letters == 0:
		// 123, 555-0100, 1_000_000
		return PlaceholderNumber
	case strings.Contains(tok, "_") || seps > 0 && digits >= 2:
		// mia_li_3668, gift_card_1, user-42: a readable prefix names the
		// kind of id; the digits make it an instance. A dash with a single
		// digit is usually vocabulary (utf-8, us-east-1).
		return PlaceholderID
	case len(tok) >= 8 && hexLetters == letters && (upper == 0 || lower == 0):
		return PlaceholderHex
	case upper > 0 && lower == 0 && len(tok) >= 5:
		// HAT001, NO6JO3, ABC123: booking, flight and order codes.
		return PlaceholderID
	case len(tok) >= 8 && digits >= 2:
		return PlaceholderID
	case tok[0] >= '0' && tok[0] <= '9':
		// 100ms, 3rd, 2m30s: keep the unit, mask the amount.
		return digitRuns.ReplaceAllString(tok, PlaceholderNumber)
	default:
		// int64, utf8, base64, v2: vocabulary, not instances.
		return tok
	}
}

var digitRuns = regexp.MustCompile(`\d+`)

// Protected spans keep their digits: an HTTP status, an SQLSTATE or an exit
// code is the error class, not an instance literal.
var protected = []*regexp.Regexp{
	regexp.MustCompile(`\bHTTP/\d(?:\.\d)?(?: [1-5]\d\d\b)?`),
	regexp.MustCompile(`\b(?:HTTP|[Ss]tatus(?: [Cc]ode)?:?|status_code[=:]|[Cc]ode:?|returned)\s?[1-5]\d\d\b`),
	regexp.MustCompile(`\b[1-5]\d\d (?:Client Error|Server Error|Not Found|Bad Request|Unauthorized|Forbidden|Internal Server Error|Service Unavailable|Bad Gateway|Gateway Timeout|Too Many Requests|Conflict|Unprocessable Entity|Unprocessable Content|Method Not Allowed|Request Timeout|Payload Too Large|Not Implemented|Precondition Failed|Gone|Not Acceptable|Moved Permanently|Not Modified|Temporary Redirect)\b`),
	regexp.MustCompile(`\bSQLSTATE[ =:]*[0-9A-Z]{5}\b`),
	regexp.MustCompile(`\bERROR \d{4} \([0-9A-Z]{5}\)`),
	regexp.MustCompile(`\b(?:exit (?:status|code)|exited with (?:status|code)|non-zero exit status|errno) -?\d{1,3}\b`),
}

// Sentinel delimiters for protected spans; sanitize removes both from input,
// so no input can forge one.
const (
	sentOpen  = '\x01'
	sentClose = '\x02'
)

// Mask returns the message template of s: one line, whitespace collapsed,
// valid UTF-8, at most MaxTemplateLen bytes, with numbers, ids, uuids, hex,
// quoted literals, paths, URLs, emails, dates and times replaced by
// placeholders. Mask(Mask(s)) == Mask(s).
func Mask(s string) string {
	if len(s) > maxMemoLen {
		return mask(s)
	}
	memo.Lock()
	t, ok := memo.m[s]
	memo.Unlock()
	if ok {
		return t
	}
	t = mask(s)
	memo.Lock()
	if len(memo.m) >= maxMemo {
		clear(memo.m)
	}
	memo.m[s] = t
	memo.Unlock()
	return t
}

// memo keeps recent masks: learning masks the same error texts many times
// (each step's signature, the contexts of the steps after it, the
// canonical calls), and masking is most of its CPU time.
var memo = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

const (
	maxMemo    = 1 << 15 // entries before the memo starts afresh
	maxMemoLen = 2048    // longer texts are masked every time
)

func mask(s string) string {
	// Only the first MaxTemplateLen bytes survive; a prefix several times
	// that long masks to the same start in practice, and cutting first
	// bounds the work on multi-megabyte dumps.
	t := truncate(maskOnce(truncate(sanitize(s), 8*MaxTemplateLen)), MaxTemplateLen)
	// A cut can split a protected span ("404 Not Found" → "404 Not"), whose
	// digits a second pass would then mask; iterate to the fixed point so
	// the result is stable.
	for i := 0; i < 4; i++ {
		n := truncate(maskOnce(t), MaxTemplateLen)
		if n == t {
			break
		}
		t = n
	}
	return t
}

func maskOnce(s string) string {
	s, kept := protect(s)
	s = maskQuoted(s)
	for _, r := range rules {
		s = r.re.ReplaceAllStringFunc(s, r.repl)
	}
	s = collapseRuns(s)
	return restore(s, kept)
}

// sanitize makes s valid UTF-8 on one line with single spaces and no
// control characters.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			// Format characters (zero-width joiners, BOMs, bidi marks)
			// make templates differ invisibly.
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func protect(s string) (string, []string) {
	var kept []string
	for _, re := range protected {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			kept = append(kept, m)
			return string(sentOpen) + letterIndex(len(kept)-1) + string(sentClose)
		})
	}
	return s, kept
}

// letterIndex spells i in letters, because digits in a sentinel would be
// masked as a number.
func letterIndex(i int) string {
	var b []byte
	for {
		b = append(b, byte('a'+i%26))
		i /= 26
		if i == 0 {
			return string(b)
		}
	}
}

func restore(s string, kept []string) string {
	if len(kept) == 0 {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, sentOpen)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], sentClose)
		if j < 0 {
			b.WriteString(s[:i])
			return b.String()
		}
		b.WriteString(s[:i])
		idx, ok := parseLetterIndex(s[i+1 : i+j])
		if ok && idx < len(kept) {
			b.WriteString(kept[idx])
		}
		s = s[i+j+1:]
	}
}

func parseLetterIndex(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n, mul := 0, 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 'a' || c > 'z' {
			return 0, false
		}
		n += int(c-'a') * mul
		mul *= 26
		if mul > 1<<20 {
			return 0, false
		}
	}
	return n, true
}

// Quote pairs: ASCII quotes close with themselves, typographic ones with
// their partner.
var quoteClose = map[rune]rune{'"': '"', '\'': '\'', '`': '`', '“': '”', '‘': '’'}

// maskQuoted replaces quoted literals by PlaceholderString. A quote opens a
// literal only at a word start and closes it only at a word end, so
// apostrophes ("can't", "user's") are left alone. '>' and '<' count as word
// characters because placeholders end and start with them: a second pass
// must not see a literal that the first pass did not.
func maskQuoted(s string) string {
	if !strings.ContainsAny(s, "\"'`“‘") {
		return s
	}
	rs := []rune(s)
	// Positions of every quote that may close a literal, per quote rune, so
	// finding the closer is a search rather than a rescan (linear overall).
	closers := map[rune][]int{}
	for j, r := range rs {
		if _, ok := quoteClose[r]; ok || r == '”' || r == '’' {
			if j+1 == len(rs) || !wordish(rs[j+1]) {
				closers[r] = append(closers[r], j)
			}
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		cl, isQuote := quoteClose[r]
		if !isQuote || (i > 0 && wordish(rs[i-1])) {
			b.WriteRune(r)
			continue
		}
		end := -1
		pos := closers[cl]
		if k := sort.SearchInts(pos, i+1); k < len(pos) {
			end = pos[k]
		}
		if end < 0 {
			b.WriteRune(r)
			continue
		}
		if isKey(rs, i, end) {
			// A JSON or dict key names a field; it is vocabulary, not data.
			b.WriteString(string(rs[i : end+1]))
			i = end
			continue
		}
		b.WriteString(PlaceholderString)
		i = end
	}
	return b.String()
}

// isKey reports whether the literal quoted by rs[open] and rs[close] is a
// short identifier followed by a colon, as keys in JSON bodies and Python
// dicts are. Angle brackets are allowed so that a key whose digits were
// masked ('<ID>') stays a key on the next pass.
func isKey(rs []rune, open, close int) bool {
	n := close - open - 1
	if n < 1 || n > 40 {
		return false
	}
	for _, r := range rs[open+1 : close] {
		if !(r == '_' || r == '-' || r == '.' || r == '<' || r == '>' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	j := close + 1
	for j < len(rs) && rs[j] == ' ' {
		j++
	}
	return j < len(rs) && rs[j] == ':'
}

func wordish(r rune) bool {
	return r == '<' || r == '>' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

var placeholderNames = []string{"NUM", "ID", "HEX", "UUID", "STR", "PATH", "URL", "EMAIL", "DATE", "TIME", "TS", "IP"}

var runRes = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(placeholderNames))
	for i, n := range placeholderNames {
		out[i] = regexp.MustCompile(`<` + n + `>(?:(?:, ?| |,)<` + n + `>)+`)
	}
	return out
}()

// collapseRuns folds lists of one placeholder ("ids 1, 2, 3" and "ids 4, 5")
// into one form, so list length does not split a signature.
func collapseRuns(s string) string {
	if !strings.Contains(s, "><") && !strings.Contains(s, "> <") && !strings.Contains(s, ">,") {
		return s
	}
	for i, re := range runRes {
		s = re.ReplaceAllString(s, "<"+placeholderNames[i]+">, ...")
	}
	return s
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(ellipsis)
	if cut <= 0 {
		return ""
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + ellipsis
}
