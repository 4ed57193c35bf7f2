package mistake

import (
	"regexp"
	"strings"

	"github.com/admem/admem/internal/signature"
)

// transientWords are how services say a fault is not the call's: server
// errors, timeouts, overload and rate limiting, "try again".
var transientWords = regexp.MustCompile(`\b((status|error|http|code)\W{0,3}5[0-9][0-9]|timeout|timed out|time out|deadline|temporar(y|ily)|transient|unavailable|try again|retry|retried|retrying|retry after|rate limit(ed)?|ratelimit(ed)?|too many requests|throttl(e|ed|ing)|overload(ed)?|busy|connection (reset|refused|closed|aborted)|reset by peer|econnreset|did not respond|not respond(ing)?|no response|backend error|bad gateway|internal error|internal server error|backoff|back off)\b`)

// deterministicWords say the opposite: the call itself is wrong, or used up
// something that retrying will not give back.
var deterministicWords = regexp.MustCompile(`\b(quota|exhausted|already|not allowed|forbidden|permission|invalid|not found|no such|does not exist|unknown|required|must|cannot|can't|denied|gone|deprecated|removed|retired|not supported|malformed|out of range|too large|limit reached)\b`)

// transientCue reports whether an error reads as a transient fault: a
// server error, timeout, overload or rate limit, and nothing saying the
// call is wrong or used something up. It is only a prior: retries of the
// identical call decide (see Mistake.transient).
func transientCue(sig signature.Signature, message string) bool {
	text := strings.ToLower(sig.Class + " " + sig.Template + " " + clip(message, 2048))
	text = strings.NewReplacer("_", " ", ".", " ", "-", " ").Replace(text)
	return transientWords.MatchString(text) && !deterministicWords.MatchString(text)
}
