package sim

import "strings"

// Kinds only generated worlds use; the hand-written world never names them.
const (
	// KindToken is an opaque value a read reveals (an etag, a version
	// token) that a later write must copy.
	KindToken = "token"
	// KindMemo is a short free text; its long form is the same note with
	// details appended, which a max-length rule refuses.
	KindMemo = "memo"
	// KindLabel is an enum some APIs compare case-sensitively.
	KindLabel = "label"
)

// memoDetails is appended to a memo to write it long.
const memoDetails = "; details were discussed with the requester and are recorded in the case history"

func init() {
	kinds[KindToken] = &Kind{KindToken, []Format{format("token", `^[a-z]{2,3}_\d{6}$`, same)}}
	kinds[KindMemo] = &Kind{KindMemo, []Format{
		format("short", `^.{1,36}$`, same),
		format("long", `^.{37,}$`, func(s string) string { return s + memoDetails }),
	}}
	kinds[KindLabel] = &Kind{KindLabel, []Format{
		format("lower", `^[a-z][a-z_]*$`, same),
		format("title", `^[A-Z][a-z_]*$`, func(s string) string {
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		}),
		format("upper", `^[A-Z][A-Z_]*$`, strings.ToUpper),
	}}
}

// instanceKinds are the kinds whose values belong to one task or user (ids,
// e-mails, amounts, dates, tokens, notes), as opposed to vocabulary that
// every task shares (enums, currencies, small counts). A suggestion that
// carries another task's value of one of these kinds leaks it.
var instanceKinds = map[string]bool{
	KindID: true, KindEmail: true, KindMoney: true, KindDate: true, KindTimestamp: true,
	KindToken: true, KindMemo: true, KindWeight: true, KindVersion: true, KindPartition: true,
}

// formatHint describes a kind's format i the way API errors say what they
// expected.
func formatHint(kind string, i int) string {
	k := kinds[kind]
	if k == nil || i < 0 || i >= len(k.Formats) {
		return "a valid value"
	}
	switch kind + "/" + k.Formats[i].Name {
	case "date/iso":
		return "YYYY-MM-DD"
	case "date/us":
		return "MM/DD/YYYY"
	case "date/eu":
		return "DD.MM.YYYY"
	case "date/compact":
		return "YYYYMMDD"
	case "money/decimal":
		return "a decimal amount like 12.50"
	case "money/cents":
		return "an integer number of cents"
	case "money/symbol":
		return "an amount with a currency symbol"
	case "timestamp/rfc3339":
		return "an RFC 3339 timestamp"
	case "timestamp/epoch":
		return "seconds since the epoch"
	case "timestamp/space":
		return "YYYY-MM-DD hh:mm:ss"
	case "id/prefixed":
		return "a prefixed id like ABC-123"
	case "id/bare":
		return "a numeric id"
	case "id/lower":
		return "a lower-case prefixed id"
	case "weight/kg":
		return "kilograms with two decimals"
	case "weight/grams":
		return "grams like 1500g"
	case "weight/pounds":
		return "pounds like 3.31 lb"
	case "duration/short":
		return "a duration like 30m or 2h"
	case "duration/seconds":
		return "a number of seconds"
	case "duration/words":
		return "a duration in words"
	case "percent/number":
		return "a plain number"
	case "percent/percent":
		return "a percentage like 15%"
	case "version/semver":
		return "MAJOR.MINOR.PATCH"
	case "version/v-prefixed":
		return "vMAJOR.MINOR.PATCH"
	case "version/short":
		return "MAJOR.MINOR"
	case "email/lower":
		return "a lower-case address"
	case "code/upper":
		return "an upper-case code"
	case "enum/lower", "label/lower":
		return "a lower-case value"
	case "enum/upper", "label/upper":
		return "an upper-case value"
	}
	return k.Formats[i].Name
}

// dateISO reads a date written in any format of KindDate.
func dateISO(v string) (string, bool) {
	switch kinds[KindDate].Detect(v) {
	case 0:
		return v, true
	case 1:
		return v[6:10] + "-" + v[0:2] + "-" + v[3:5], true
	case 2:
		return v[6:10] + "-" + v[3:5] + "-" + v[0:2], true
	case 3:
		return v[0:4] + "-" + v[4:6] + "-" + v[6:8], true
	}
	return "", false
}
