// Package signature turns agent errors and actions into stable, comparable
// text: an error becomes a signature (tool, error class, message template
// with instance literals masked, and a short hash id), and a tool call
// becomes canonical action text. Failure clustering, mistake notes and the
// adapter's action embeddings all key on these, so the output of this
// package must stay stable across releases: changing a rule re-keys every
// stored signature.
package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/admem/admem"
)

// GenericClass is the class of an error whose text names no class.
const GenericClass = "Error"

// maxClassLen and maxToolLen bound the other two signature fields.
const (
	maxClassLen = 120
	maxToolLen  = 120
)

// Signature identifies a kind of failure: the same tool failing with the
// same class and message template, whatever ids, amounts or dates the
// individual failures carried.
type Signature struct {
	Tool     string // tool or action name, trimmed
	Class    string // exception type, SQLSTATE, HTTP status, errno name, or GenericClass
	Template string // message with literals masked; see Mask
}

// ID returns a stable 16-hex-digit hash of the signature, short enough for
// logs and URLs and, at 64 bits, collision-free for any one tenant's set.
func (s Signature) ID() string {
	h := sha256.New()
	h.Write([]byte(s.Tool))
	h.Write([]byte{0})
	h.Write([]byte(s.Class))
	h.Write([]byte{0})
	h.Write([]byte(s.Template))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// String renders the signature as "tool: Class: template".
func (s Signature) String() string {
	var b strings.Builder
	if s.Tool != "" {
		b.WriteString(s.Tool)
		b.WriteString(": ")
	}
	b.WriteString(s.Class)
	if s.Template != "" {
		b.WriteString(": ")
		b.WriteString(s.Template)
	}
	return b.String()
}

// FromStep returns the signature of a failed step, reading the error text
// from Error, or from Observation when the agent put it there.
func FromStep(s admem.Step) Signature {
	msg := s.Error
	if strings.TrimSpace(msg) == "" {
		msg = s.Observation
	}
	return Normalize(s.Action, s.ErrorType, msg)
}

// Normalize returns the signature of an error raised by tool. errType is the
// exception or error type when the caller knows it (it wins over what the
// message says); message is the error text, possibly a whole stack trace.
func Normalize(tool, errType, message string) Signature {
	tool = truncate(sanitize(tool), maxToolLen)
	if class, msg, ok := jsonError(message); ok {
		if t := cleanType(errType); t != "" {
			class = t
		}
		return Signature{Tool: tool, Class: truncate(class, maxClassLen), Template: Mask(msg)}
	}
	head := headline(message)
	class, rest := classify(cleanType(errType), head)
	return Signature{Tool: tool, Class: class, Template: Mask(rest)}
}

// jsonError reads an HTTP API's JSON error body ({"status": 422, "error":
// {"code": "INVALID_FORMAT", "message": "…"}} and its many variants): the
// error code (or the status) is the class, the human message the text.
// Masking the body as a whole would make every error of a status one
// signature, since its code and message are quoted literals.
func jsonError(message string) (class, msg string, ok bool) {
	body := strings.TrimSpace(message)
	if len(body) < 2 || body[0] != '{' || len(body) > 64<<10 {
		return "", "", false
	}
	var top map[string]any
	if json.Unmarshal([]byte(body), &top) != nil {
		return "", "", false
	}
	obj := top
	if e, isObj := top["error"].(map[string]any); isObj {
		obj = e
	}
	str := func(m map[string]any, keys ...string) string {
		for _, k := range keys {
			for mk, v := range m {
				if strings.EqualFold(mk, k) {
					switch x := v.(type) {
					case string:
						if strings.TrimSpace(x) != "" {
							return x
						}
					case float64:
						return strconv.FormatFloat(x, 'f', -1, 64)
					}
				}
			}
		}
		return ""
	}
	msgKeys := []string{"message", "detail", "details", "description", "error_description", "errorMessage", "error_message", "msg", "reason", "title"}
	codeKeys := []string{"code", "error_code", "errorCode", "type", "name", "error"}
	msg = str(obj, msgKeys...)
	if msg == "" {
		msg = str(top, msgKeys...)
	}
	class = str(obj, codeKeys...)
	if class == "" || class == msg {
		if st := str(top, "status", "statusCode", "status_code", "http_status"); st != "" {
			class = "HTTP " + st
		} else if st := str(obj, "status", "statusCode", "status_code"); st != "" {
			class = "HTTP " + st
		}
	}
	if msg == "" || class == "" {
		return "", "", false
	}
	if len(class) == 3 && class[0] >= '1' && class[0] <= '5' && strings.Trim(class, "0123456789") == "" {
		class = "HTTP " + class // a numeric code is the status
	}
	return sanitize(class), headline(msg), true
}

var pyClassRepr = regexp.MustCompile(`^<class '([^']*)'>$`)

// cleanType turns the many spellings of a type name ("*json.SyntaxError",
// "<class 'KeyError'>") into one.
func cleanType(t string) string {
	t = sanitize(t)
	if m := pyClassRepr.FindStringSubmatch(t); m != nil {
		t = m[1]
	}
	t = strings.TrimLeft(t, "*&")
	return truncate(t, maxClassLen)
}

// Stack-frame lines carry paths and line numbers, not the error.
var frameLine = regexp.MustCompile(`^(?:\s+at |\s+File "|\s*\.\.\. \d+ more|goroutine \d+ \[|\s+\S+\.go:\d+|\s+/|\t)`)

// headline picks the line that states the error out of a possibly
// multi-line message: the exception line of a Python traceback (the last
// one), the first line of a Java or Go panic dump, or the non-frame lines of
// anything else.
func headline(msg string) string {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	if !strings.Contains(msg, "\n") {
		return msg
	}
	lines := strings.Split(msg, "\n")
	if strings.Contains(msg, "Traceback (most recent call last)") {
		for i := len(lines) - 1; i >= 0; i-- {
			l := lines[i]
			if strings.TrimSpace(l) != "" && l[0] != ' ' && l[0] != '\t' && !strings.HasPrefix(l, "Traceback") {
				return l
			}
		}
	}
	var keep []string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if strings.HasPrefix(l, "goroutine ") {
			// Everything after the first goroutine header of a Go dump is
			// stacks.
			break
		}
		if frameLine.MatchString(l) || strings.HasPrefix(l, "Caused by:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, " ")
}

var (
	// A class-like prefix: dotted name ending in a well-known suffix,
	// followed by ':' or the end of the text.
	classPrefix = regexp.MustCompile(`^((?:[A-Za-z_$][\w$]*\.)*[\w$]*(?:Error|Exception|Exit|Interrupt|Warning|Fault|Failure|Timeout|Abort))(?:\s*:\s*|\s*$)`)
	// Severity words that say "this is an error" without saying which.
	genericPrefix = regexp.MustCompile(`^(?i:error|err|fatal|panic|exception|failure|failed)(?:\s*\[[^\]]*\])?\s*:\s*`)
	javaThread    = regexp.MustCompile(`^Exception in thread "[^"]*"\s+`)
	sqlState      = regexp.MustCompile(`\bSQLSTATE[ =:]*([0-9A-Z]{5})\b`)
	exitCode      = regexp.MustCompile(`\b(?:exit (?:status|code)|exited with (?:status|code)|non-zero exit status) (-?\d{1,3})\b`)
	mysqlCode     = regexp.MustCompile(`^ERROR (\d{4}) \(([0-9A-Z]{5})\):\s*`)
	httpStatus    = regexp.MustCompile(`\b(?:HTTP(?:/\d(?:\.\d)?)?|[Ss]tatus(?: [Cc]ode)?:?|status_code[=:])\s?([1-5]\d\d)\b|\b([1-5]\d\d) (?:Client Error|Server Error|Not Found|Bad Request|Unauthorized|Forbidden|Internal Server Error|Service Unavailable|Bad Gateway|Gateway Timeout|Too Many Requests|Conflict|Unprocessable Entity|Method Not Allowed|Request Timeout)\b`)
)

// errnoPhrases name the class of errors that carry no type, as Go and shell
// errors usually do, by the OS condition they report. Order matters: the
// first phrase found wins.
var errnoPhrases = []struct{ phrase, class string }{
	{"no such file or directory", "ENOENT"},
	{"permission denied", "EACCES"},
	{"operation not permitted", "EPERM"},
	{"connection refused", "ECONNREFUSED"},
	{"connection reset", "ECONNRESET"},
	{"broken pipe", "EPIPE"},
	{"no such host", "EHOSTNOTFOUND"},
	{"context deadline exceeded", "DeadlineExceeded"},
	{"context canceled", "Canceled"},
	{"i/o timeout", "ETIMEDOUT"},
	{"timed out", "ETIMEDOUT"},
	{"file exists", "EEXIST"},
	{"is a directory", "EISDIR"},
	{"not a directory", "ENOTDIR"},
	{"no space left on device", "ENOSPC"},
	{"too many open files", "EMFILE"},
	{"out of memory", "ENOMEM"},
	{"command not found", "CommandNotFound"},
	{"segmentation fault", "SIGSEGV"},
	{"signal: killed", "SIGKILL"},
}

// classify returns the error class and the headline without the part that
// named the class.
func classify(errType, head string) (class, rest string) {
	head = sanitize(head)
	head = javaThread.ReplaceAllString(head, "")
	if errType != "" {
		return errType, stripType(head, errType)
	}
	rest = head
	generic := ""
	// Two rounds: "Error: ValueError: x" and "panic: runtime error: x" carry
	// a generic word before the specific class.
	for round := 0; round < 2; round++ {
		if m := classPrefix.FindStringSubmatch(rest); m != nil {
			c := m[1]
			rest = rest[len(m[0]):]
			if !isGenericClass(c) {
				return truncate(c, maxClassLen), rest
			}
			if generic == "" {
				generic = c
			}
			continue
		}
		if m := genericPrefix.FindString(rest); m != "" {
			if generic == "" {
				generic = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m), ":"))
			}
			rest = rest[len(m):]
			continue
		}
		break
	}
	if m := mysqlCode.FindStringSubmatch(rest); m != nil {
		return "MySQL " + m[1], rest[len(m[0]):]
	}
	if m := sqlState.FindStringSubmatch(rest); m != nil {
		return "SQLSTATE " + m[1], rest
	}
	if m := exitCode.FindStringSubmatch(rest); m != nil {
		return "exit " + m[1], rest
	}
	if m := httpStatus.FindStringSubmatch(rest); m != nil {
		code := m[1]
		if code == "" {
			code = m[2]
		}
		return "HTTP " + code, rest
	}
	lower := strings.ToLower(rest)
	for _, p := range errnoPhrases {
		if strings.Contains(lower, p.phrase) {
			return p.class, rest
		}
	}
	if generic != "" && strings.EqualFold(generic, "panic") {
		return "panic", rest
	}
	return GenericClass, rest
}

// isGenericClass reports whether a class-looking word says only "error".
func isGenericClass(c string) bool {
	switch strings.ToLower(c) {
	case "error", "exception", "failure", "fault", "timeout", "abort", "warning":
		return true
	}
	return false
}

// stripType removes a leading "Type: " from head when the caller also gave
// the type, so the template does not repeat the class.
func stripType(head, errType string) string {
	short := errType
	if i := strings.LastIndexAny(short, "./"); i >= 0 {
		short = short[i+1:]
	}
	if m := classPrefix.FindStringSubmatch(head); m != nil {
		c := m[1]
		if c == errType || c == short || strings.HasSuffix(c, "."+short) {
			return head[len(m[0]):]
		}
	}
	if m := genericPrefix.FindString(head); m != "" {
		return head[len(m):]
	}
	return head
}
