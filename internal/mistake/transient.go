package mistake

import (
	"regexp"
	"strings"

	"github.com/admem/admem/internal/signature"
)

// transientWords are how services say a fault is not the call's: server
// errors, timeouts, overload and rate limiting, "try again".
var transientWords = regexp.MustCompile(`\b(5(0[0-9]|2[0-9])|timeout|timed out|time out|deadline exceeded|temporar(y|ily)|transient|unavailable|try again|retry|retry-after|rate.?limit(ed)?|too many requests|throttl(e|ed|ing)|overload(ed)?|busy|connection (reset|refused|closed|aborted)|reset by peer|econnreset|service unavailable|bad gateway|gateway timeout|internal server error|internalerror|serviceunavailable|throttlingexception|timeoutexception|toomanyrequests)\b`)

// deterministicWords say the opposite: the call itself is wrong, or used up
// something that retrying will not give back.
var deterministicWords = regexp.MustCompile(`\b(quota|exhausted|already|not allowed|forbidden|permission|invalid|not found|unknown|required|must|cannot|can't|exceed(s|ed)?|denied|gone|deprecated|removed|retired)\b`)

// transientCue reports whether an error reads as a transient fault: a
// server error, timeout, overload or rate limit, and nothing saying the
// call is wrong or used something up. It is only a prior: retries of the
// identical call decide (see Mistake.transient).
func transientCue(sig signature.Signature, message string) bool {
	text := strings.ToLower(sig.Class + " " + sig.Template + " " + clip(message, 2048))
	return transientWords.MatchString(text) && !deterministicWords.MatchString(text)
}
