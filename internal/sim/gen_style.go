package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// errCat is what went wrong with a call, before a world's style words it.
type errCat int

const (
	catInvalid errCat = iota
	catNotFound
	catGone
	catPrecondition
	catConflict
	catQuota
	catPermission
	catLimit
	catUnavailable // transient: a 5xx
	catTimeout     // transient
	catRateLimit   // transient: retry after a while
	nCats
)

// The three ways tools report errors.
const (
	formJSON  = iota // an HTTP JSON body
	formSDK          // an exception class and its message
	formPlain        // a line of text
)

// errStyle is how one group of tools reports errors: the form, the status
// codes, error codes and exception names per category, and where the trace
// number goes. Worlds draw one to three styles and give each entity's tools
// one of them.
type errStyle struct {
	form      int
	jsonClass string // the error type a JSON error carries ("" for none)
	jsonFlat  bool   // {"code":…,"message":…} instead of {"error":{…}}
	msgKey    string
	traceKey  string
	plainCode bool // plain text starts with the code
	status    [nCats]int
	code      [nCats]string
	exc       [nCats]string
}

var (
	catCodes = [nCats][]string{
		{"INVALID_ARGUMENT", "VALIDATION_FAILED", "BAD_REQUEST", "INVALID_PARAMETER"},
		{"NOT_FOUND", "RESOURCE_NOT_FOUND", "NO_SUCH_ENTITY"},
		{"GONE", "ENDPOINT_RETIRED", "OPERATION_REMOVED"},
		{"FAILED_PRECONDITION", "PRECONDITION_FAILED", "INVALID_STATE"},
		{"CONFLICT", "STATE_CONFLICT", "RESOURCE_CONFLICT"},
		{"QUOTA_EXCEEDED", "LIMIT_REACHED", "RESOURCE_EXHAUSTED"},
		{"PERMISSION_DENIED", "FORBIDDEN", "NOT_AUTHORIZED"},
		{"LIMIT_EXCEEDED", "VALUE_TOO_LARGE", "OUT_OF_RANGE"},
		{"SERVICE_UNAVAILABLE", "INTERNAL", "BACKEND_ERROR"},
		{"GATEWAY_TIMEOUT", "DEADLINE_EXCEEDED", "TIMEOUT"},
		{"RATE_LIMITED", "TOO_MANY_REQUESTS", "THROTTLED"},
	}
	catExceptions = [nCats][]string{
		{"ValidationError", "InvalidRequestError", "BadRequestException", "InvalidParameterException"},
		{"NotFoundError", "ResourceNotFoundException", "NoSuchEntityException"},
		{"GoneError", "EndpointRetiredError", "DeprecatedOperationException"},
		{"PreconditionFailedError", "FailedPreconditionException", "InvalidStateError"},
		{"ConflictError", "ConflictException", "StateConflictError"},
		{"QuotaExceededError", "LimitExceededException", "ServiceQuotaExceededException"},
		{"PermissionDeniedError", "ForbiddenException", "AccessDeniedException"},
		{"ValueOutOfRangeError", "LimitExceededError", "RangeException"},
		{"ServiceUnavailableError", "InternalServerError", "BackendUnavailableException"},
		{"TimeoutError", "GatewayTimeoutException", "DeadlineExceededError"},
		{"RateLimitError", "ThrottlingException", "TooManyRequestsError"},
	}
	catStatus = [nCats][]int{
		{400, 422}, {404}, {410, 404}, {409, 412, 428}, {409}, {429, 403}, {403}, {400, 422},
		{500, 502, 503}, {504, 408}, {429},
	}
)

// newErrStyle draws a style.
func newErrStyle(rng *rand.Rand) *errStyle {
	s := &errStyle{
		form:      rng.IntN(3),
		jsonClass: pick(rng, []string{"", "", "HTTPError", "APIError"}),
		jsonFlat:  rng.IntN(2) == 0,
		msgKey:    pick(rng, []string{"message", "detail", "description"}),
		traceKey:  pick(rng, []string{"trace_id", "request_id", "correlation_id"}),
		plainCode: rng.IntN(2) == 0,
	}
	codeCase := rng.IntN(4)
	for c := range nCats {
		s.status[c] = pick(rng, catStatus[c])
		code := pick(rng, catCodes[c])
		switch codeCase {
		case 1:
			code = strings.ToLower(code)
		case 2:
			code = strings.ToLower(strings.Replace(code, "_", ".", 1))
		case 3:
			code = fmt.Sprintf("E%d%02d", 1+int(c), rng.IntN(100))
		}
		s.code[c] = code
		s.exc[c] = pick(rng, catExceptions[c])
	}
	return s
}

// render words an error: its class (the error type a tool wrapper reports)
// and its text.
func (s *errStyle) render(c errCat, msg string, trace int) (class, text string) {
	switch s.form {
	case formJSON:
		if s.jsonFlat {
			return s.jsonClass, fmt.Sprintf(`{"status":%d,"code":%q,%q:%q,%q:"%d"}`, s.status[c], s.code[c], s.msgKey, msg, s.traceKey, trace)
		}
		return s.jsonClass, fmt.Sprintf(`{"status":%d,"error":{"code":%q,%q:%q,%q:"%d"}}`, s.status[c], s.code[c], s.msgKey, msg, s.traceKey, trace)
	case formSDK:
		return s.exc[c], fmt.Sprintf("%s (%s %d)", msg, strings.ReplaceAll(s.traceKey, "_", " "), trace)
	}
	if s.plainCode {
		return "", fmt.Sprintf("Error %d %s: %s [%s=%d]", s.status[c], s.code[c], msg, s.traceKey, trace)
	}
	return "", fmt.Sprintf("Error: %s (%s %d)", msg, strings.ReplaceAll(s.traceKey, "_", " "), trace)
}

// phrasebook words the documented validation errors, drawn per world.
type phrasebook struct{ v [6]int }

func newPhrasebook(rng *rand.Rand) phrasebook {
	var p phrasebook
	for i := range p.v {
		p.v[i] = rng.IntN(3)
	}
	return p
}

func (p phrasebook) unknownTool(tool string) string {
	return [3]string{
		fmt.Sprintf("unknown operation %q", tool),
		fmt.Sprintf("no such endpoint: %s", tool),
		fmt.Sprintf("%s is not a recognised method", tool),
	}[p.v[0]]
}

func (p phrasebook) unknownArg(arg string) string {
	return [3]string{
		fmt.Sprintf("unknown argument %q", arg),
		fmt.Sprintf("unexpected field '%s' in request body", arg),
		fmt.Sprintf("%s is not a valid parameter", arg),
	}[p.v[1]]
}

func (p phrasebook) missingArg(arg string) string {
	return [3]string{
		fmt.Sprintf("missing required argument %q", arg),
		fmt.Sprintf("field '%s' is required", arg),
		fmt.Sprintf("%s must be provided", arg),
	}[p.v[2]]
}

func (p phrasebook) unparsable(arg, v, kind string) string {
	return [3]string{
		fmt.Sprintf("cannot parse %q as %s for %s", v, kind, arg),
		fmt.Sprintf("field '%s': malformed value '%s'", arg, v),
		fmt.Sprintf("%s has an invalid %s: %s", arg, kind, v),
	}[p.v[3]]
}

func (p phrasebook) notFound(noun, v string) string {
	return [3]string{
		fmt.Sprintf("%s %s not found", noun, v),
		fmt.Sprintf("no %s with id '%s'", noun, v),
		fmt.Sprintf("%s '%s' does not exist", noun, v),
	}[p.v[4]]
}

// transientText words a transient fault; n varies the numbers in it.
func transientText(c errCat, n uint64) string {
	secs := 1 + int(n%9)
	switch c {
	case catTimeout:
		return [3]string{
			fmt.Sprintf("request timed out after %ds", 10*secs),
			fmt.Sprintf("upstream did not respond within %d ms", 1000*secs),
			fmt.Sprintf("deadline of %ds exceeded, the request may be retried", 5*secs),
		}[(n>>8)%3]
	case catRateLimit:
		return [3]string{
			fmt.Sprintf("rate limit exceeded, retry after %d seconds", secs),
			fmt.Sprintf("too many requests: try again in %ds", secs),
			fmt.Sprintf("request throttled (%d req/s allowed), back off and retry", 5*secs),
		}[(n>>8)%3]
	}
	return [3]string{
		"service temporarily unavailable, please retry",
		fmt.Sprintf("upstream connection reset (node %d)", secs),
		"internal error, the operation was not applied; try again",
	}[(n>>8)%3]
}

// genInfo is what a generated world has that the hand-written one has not.
type genInfo struct {
	domain    string
	transient float64
	styles    []*errStyle
	toolStyle map[string]*errStyle
	phrase    phrasebook
	// entityArg maps an id argument to the noun of the entity it names.
	entityArg map[string]string
	obsForm   int
}

func (g *genInfo) styleOf(tool string) *errStyle {
	if s, ok := g.toolStyle[tool]; ok {
		return s
	}
	return g.styles[0]
}

func (g *genInfo) entityWord(arg string) string {
	if n, ok := g.entityArg[arg]; ok {
		return strings.ReplaceAll(n, "_", " ")
	}
	return "entity"
}

// errorf words a documented validation error of a call to tool.
func (g *genInfo) errorf(e *Env, tool string, c errCat, msg string) *StepError {
	class, text := g.styleOf(tool).render(c, msg, e.trace())
	return &StepError{Class: class, Message: text}
}

// ruleError words rule r's error.
func (g *genInfo) ruleError(e *Env, r *Rule, tool string, c errCat, msg string) *StepError {
	err := g.errorf(e, tool, c, msg)
	err.Rule, err.Fatal = r.ID, r.Fatal
	return err
}

// transientError is a transient fault of a call to tool; n picks its kind
// and numbers.
func (g *genInfo) transientError(tool string, n uint64) *StepError {
	c := []errCat{catUnavailable, catUnavailable, catTimeout, catRateLimit}[n%4]
	class, text := g.styleOf(tool).render(c, transientText(c, n>>2), 10000+int((n>>20)%90000))
	return &StepError{Class: class, Message: text, Transient: true}
}

// observation is a successful call's answer: the confirmation, the keys
// and what the step reveals.
func (g *genInfo) observation(a Action, st *PlanStep, what int) string {
	var kv [][2]string
	if st != nil {
		for _, k := range sortedKeys(st.Action.Args) {
			if g.entityArg[k] != "" {
				kv = append(kv, [2]string{k, st.Action.Args[k]})
			}
		}
		for _, k := range sortedKeys(st.Reveal) {
			kv = append(kv, [2]string{k, st.Reveal[k]})
		}
	}
	status := [3]string{"no changes", "nothing changed (already done)", "done"}[what]
	switch g.obsForm {
	case formJSON:
		var b strings.Builder
		fmt.Fprintf(&b, `{"ok":true,"result":%q`, status)
		for _, p := range kv {
			fmt.Fprintf(&b, ",%q:%q", p[0], p[1])
		}
		b.WriteByte('}')
		return b.String()
	case formSDK:
		parts := []string{"OK " + a.Tool + ": " + status}
		for _, p := range kv {
			parts = append(parts, p[0]+"="+p[1])
		}
		return strings.Join(parts, " ")
	}
	parts := make([]string, 0, len(kv))
	for _, p := range kv {
		parts = append(parts, p[0]+": "+p[1])
	}
	if len(parts) == 0 {
		return "ok, " + status
	}
	return "ok, " + status + "; " + strings.Join(parts, "; ")
}

// naming is how a world spells tool and argument names.
type naming struct {
	tool  int // 0 snake verb_noun, 1 camel verbNoun, 2 dotted nouns.verb, 3 kebab verb-noun
	camel bool
	idSfx string
}

func newNaming(rng *rand.Rand) naming {
	return naming{tool: rng.IntN(4), camel: rng.IntN(3) == 0, idSfx: pick(rng, []string{"id", "id", "ref", "no", "key"})}
}

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func plural(s string) string {
	switch {
	case strings.HasSuffix(s, "y") && !strings.HasSuffix(s, "ay") && !strings.HasSuffix(s, "ey"):
		return s[:len(s)-1] + "ies"
	case strings.HasSuffix(s, "s") || strings.HasSuffix(s, "x") || strings.HasSuffix(s, "ch"):
		return s + "es"
	}
	return s + "s"
}

// toolName spells verb and noun in the world's style.
func (n naming) toolName(verb, noun string) string {
	switch n.tool {
	case 1:
		return camel(verb + "_" + noun)
	case 2:
		return plural(noun) + "." + verb
	case 3:
		return strings.ReplaceAll(verb+"_"+noun, "_", "-")
	}
	return verb + "_" + noun
}

// argName spells a snake_case argument name in the world's style.
func (n naming) argName(s string) string {
	if n.camel {
		return camel(s)
	}
	return s
}

func (n naming) idArg(noun string) string { return n.argName(noun + "_" + n.idSfx) }

// distinctPrefix returns an id prefix not yet used in the world.
func distinctPrefix(rng *rand.Rand, options []string, used map[string]bool) string {
	for _, i := range rng.Perm(len(options)) {
		if !used[options[i]] {
			used[options[i]] = true
			return options[i]
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		p := options[0][:min(3, len(options[0]))] + string(c)
		if !used[p] {
			used[p] = true
			return p
		}
	}
	return options[0]
}

// money renders cents as a decimal.
func centsText(c int) string { return strconv.Itoa(c/100) + "." + fmt.Sprintf("%02d", c%100) }
