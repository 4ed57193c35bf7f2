package sim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Format is one way to write a value of a kind. Lenient tools accept every
// format of an argument's kind; a hidden format rule makes a tool accept only
// one, which is exactly the mistake agents make when they copy the format
// they saw elsewhere.
type Format struct {
	Name string
	re   *regexp.Regexp
	from func(natural string) string
}

// Kind is an argument type: its formats, the first of which is the natural
// form that task parameters and placeholders use.
type Kind struct {
	Name    string
	Formats []Format
}

// Render writes the natural value in format i.
func (k *Kind) Render(i int, natural string) string {
	if i < 0 || i >= len(k.Formats) {
		return natural
	}
	return k.Formats[i].from(natural)
}

// Detect returns the index of the first format v is written in, or -1.
func (k *Kind) Detect(v string) int {
	for i, f := range k.Formats {
		if f.re.MatchString(v) {
			return i
		}
	}
	return -1
}

// Equivalent reports whether v writes natural in any of the kind's formats.
func (k *Kind) Equivalent(v, natural string) bool {
	for i := range k.Formats {
		if k.Render(i, natural) == v {
			return true
		}
	}
	return false
}

func format(name, re string, from func(string) string) Format {
	return Format{Name: name, re: regexp.MustCompile(re), from: from}
}

func same(s string) string { return s }

// Kind names used by tool argument specs.
const (
	KindID        = "id"
	KindName      = "name"
	KindCode      = "code"
	KindEnum      = "enum"
	KindText      = "text"
	KindInt       = "int"
	KindPercent   = "percent"
	KindDate      = "date"
	KindTimestamp = "timestamp"
	KindMoney     = "money"
	KindEmail     = "email"
	KindDuration  = "duration"
	KindVersion   = "version"
	KindWeight    = "weight"
	KindPartition = "partition"
	KindSeat      = "seat"
	KindReason    = "reason"
)

// reasonCodes maps refund reasons to the codes refund policy v7 uses.
var reasonCodes = map[string]string{
	"damaged": "R01", "not_received": "R02", "wrong_item": "R03",
	"late_delivery": "R04", "changed_mind": "R05",
}

var kinds = map[string]*Kind{
	KindID: {KindID, []Format{
		format("prefixed", `^[A-Z]{2,4}-\d+$`, same),
		format("bare", `^\d+$`, func(s string) string { _, n, _ := strings.Cut(s, "-"); return n }),
		format("lower", `^[a-z]{2,4}-\d+$`, strings.ToLower),
	}},
	KindName: {KindName, []Format{
		format("lower", `^[a-z][a-z0-9_.-]*$`, same),
		format("upper", `^[A-Z][A-Z0-9_.-]*$`, strings.ToUpper),
	}},
	KindCode: {KindCode, []Format{
		format("upper", `^[A-Z]{3}$`, same),
		format("lower", `^[a-z]{3}$`, strings.ToLower),
	}},
	KindEnum: {KindEnum, []Format{
		format("lower", `^[a-z][a-z0-9_]*$`, same),
		format("upper", `^[A-Z][A-Z0-9_]*$`, strings.ToUpper),
	}},
	KindText: {KindText, []Format{format("text", `^.+$`, same)}},
	KindInt:  {KindInt, []Format{format("int", `^\d+$`, same)}},
	KindPercent: {KindPercent, []Format{
		format("number", `^\d+$`, same),
		format("percent", `^\d+%$`, func(s string) string { return s + "%" }),
	}},
	KindDate: {KindDate, []Format{
		format("iso", `^\d{4}-\d{2}-\d{2}$`, same),
		format("us", `^\d{2}/\d{2}/\d{4}$`, func(s string) string { return s[5:7] + "/" + s[8:10] + "/" + s[:4] }),
		format("eu", `^\d{2}\.\d{2}\.\d{4}$`, func(s string) string { return s[8:10] + "." + s[5:7] + "." + s[:4] }),
		format("compact", `^\d{8}$`, func(s string) string { return strings.ReplaceAll(s, "-", "") }),
	}},
	KindTimestamp: {KindTimestamp, []Format{
		format("rfc3339", `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`, same),
		format("epoch", `^\d{9,11}$`, func(s string) string {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return s
			}
			return strconv.FormatInt(t.Unix(), 10)
		}),
		format("space", `^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`, func(s string) string {
			return strings.TrimSuffix(strings.Replace(s, "T", " ", 1), "Z")
		}),
	}},
	KindMoney: {KindMoney, []Format{
		format("decimal", `^\d+\.\d{2}$`, same),
		format("cents", `^\d+$`, func(s string) string { return strings.TrimLeft(strings.ReplaceAll(s, ".", ""), "0") }),
		format("symbol", `^\$\d+(\.\d{2})?$`, func(s string) string { return "$" + strings.TrimSuffix(s, ".00") }),
	}},
	KindEmail: {KindEmail, []Format{
		format("lower", `^[a-z0-9.]+@[a-z0-9.]+$`, same),
		format("title", `^[A-Za-z0-9.]*[A-Z][A-Za-z0-9.]*@[A-Za-z0-9.]+$`, titleEmail),
	}},
	KindDuration: {KindDuration, []Format{
		format("short", `^\d+[mh]$`, same),
		format("seconds", `^\d+$`, durationSeconds),
		format("words", `^\d+ (minute|hour)s?$`, func(s string) string {
			if strings.HasSuffix(s, "h") {
				return strings.TrimSuffix(s, "h") + " hours"
			}
			return strings.TrimSuffix(s, "m") + " minutes"
		}),
	}},
	KindVersion: {KindVersion, []Format{
		format("semver", `^\d+\.\d+\.\d+$`, same),
		format("v-prefixed", `^v\d+\.\d+\.\d+$`, func(s string) string { return "v" + s }),
		format("short", `^\d+\.\d+$`, func(s string) string { return s[:strings.LastIndex(s, ".")] }),
	}},
	KindWeight: {KindWeight, []Format{
		format("kg", `^\d+\.\d{2}$`, same),
		format("grams", `^\d+g$`, func(s string) string {
			f, _ := strconv.ParseFloat(s, 64)
			return strconv.Itoa(int(f*1000+0.5)) + "g"
		}),
		format("pounds", `^\d+\.\d{2} lb$`, func(s string) string {
			f, _ := strconv.ParseFloat(s, 64)
			return fmt.Sprintf("%.2f lb", f*2.20462)
		}),
	}},
	KindPartition: {KindPartition, []Format{
		format("hive", `^dt=\d{4}-\d{2}-\d{2}$`, same),
		format("iso", `^\d{4}-\d{2}-\d{2}$`, func(s string) string { return strings.TrimPrefix(s, "dt=") }),
		format("compact", `^\d{8}$`, func(s string) string { return strings.ReplaceAll(strings.TrimPrefix(s, "dt="), "-", "") }),
	}},
	KindSeat: {KindSeat, []Format{
		format("upper", `^\d{1,2}[A-F]$`, same),
		format("lower", `^\d{1,2}[a-f]$`, strings.ToLower),
	}},
	KindReason: {KindReason, []Format{
		format("name", `^[a-z_]+$`, same),
		format("code", `^R\d{2}$`, func(s string) string { return reasonCodes[s] }),
		format("upper", `^[A-Z_]+$`, strings.ToUpper),
	}},
}

// KindOf returns the kind with the name, or nil.
func KindOf(name string) *Kind { return kinds[name] }

func titleEmail(s string) string {
	local, domain, _ := strings.Cut(s, "@")
	parts := strings.Split(local, ".")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	if domain != "" {
		domain = strings.ToUpper(domain[:1]) + domain[1:]
	}
	return strings.Join(parts, ".") + "@" + domain
}

func durationSeconds(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil {
		return s
	}
	return strconv.Itoa(int(d.Seconds()))
}
