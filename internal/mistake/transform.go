package mistake

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/admem/admem"
)

// Op says where a transform takes a value from.
type Op string

// Ops, in the order a recovery's value is explained: the safer first.
const (
	OpCopy   Op = "copy"   // the source value, as it is
	OpFormat Op = "format" // the source value rewritten by a program (2026-01-05 → 05/01/2026)
	OpTask   Op = "task"   // the value after a word of the task text ("currency EUR")
	OpResult Op = "result" // the value after a key in an earlier result of a tool
	OpConst  Op = "const"  // a word of the tool's vocabulary ("invoice")
)

// Transform makes one argument value of a corrected call, from the
// candidate's own values or the request's situation. It never holds a
// value of the trajectory it was learnt from, except vocabulary and format
// pieces every example agreed on.
type Transform struct {
	Op      Op
	Program *Program `json:",omitempty"` // OpFormat
	Anchor  string   `json:",omitempty"` // OpTask, OpResult: the word or key before the value
	Tool    string   `json:",omitempty"` // OpResult: the tool whose result holds it
	Shape   string   `json:",omitempty"` // OpTask, OpResult: how the value is written
	Const   string   `json:",omitempty"` // OpConst
}

// Program rewrites a value token by token: each piece is a literal or (a
// part of) an input token, possibly re-cased or zero-padded. It applies to
// values whose tokens are of the kinds its examples had (In).
type Program struct {
	In     string  // the kinds of the input's tokens: 9 digits, a letters, other characters as themselves
	Pieces []Piece // the output
	// Literal: some piece is an alphanumeric literal, which one example
	// cannot tell from data; such a program is used only once a second
	// example agreed (Agreed).
	Literal bool `json:",omitempty"`
	// Ambiguous: an output piece equals several input tokens ("03" of
	// 03/03/2025), so one example cannot tell which it came from; such a
	// program too waits for a second example to agree.
	Ambiguous bool `json:",omitempty"`
	Agreed    bool `json:",omitempty"`
}

// unvouched reports whether one example cannot vouch for the program: it
// writes literals or reads ambiguously.
func (p *Program) unvouched() bool { return p.Literal || p.Ambiguous }

// Piece is one piece of a program's output.
type Piece struct {
	Lit  string `json:",omitempty"`
	Tok  int    `json:",omitempty"` // input token, when Ref
	Ref  bool   `json:",omitempty"`
	Case byte   `json:",omitempty"` // 'U', 'L', 'T' (title) or 0: as is
	Lo   int    `json:",omitempty"` // substring [start, end) of the token: Lo ≥ 0 from the start, < 0 from the end
	Hi   int    `json:",omitempty"` // Hi > 0 from the start, ≤ 0 from the end (0: to the end)
	Pad  int    `json:",omitempty"` // zero-pad digits to this width
}

type tok struct {
	text string
	kind byte // '9', 'a', or the character itself
}

// splitTokens splits a value into runs of digits, runs of letters, and
// single other characters.
func splitTokens(s string) []tok {
	var out []tok
	for _, r := range s {
		k := byte(0)
		switch {
		case unicode.IsDigit(r):
			k = '9'
		case unicode.IsLetter(r):
			k = 'a'
		}
		if k != 0 && len(out) > 0 && out[len(out)-1].kind == k {
			out[len(out)-1].text += string(r)
			continue
		}
		if k == 0 {
			if r >= 128 || r < 32 {
				k = '?'
			} else {
				k = byte(r)
			}
		}
		out = append(out, tok{text: string(r), kind: k})
	}
	return out
}

func kindsOf(ts []tok) string {
	b := make([]byte, len(ts))
	for i, t := range ts {
		b[i] = t.kind
	}
	return string(b)
}

// learnProgram returns the program that rewrites from into to.
func learnProgram(from, to string) *Program {
	in, out := splitTokens(from), splitTokens(to)
	if len(in) == 0 || len(out) == 0 || len(in) > 32 || len(out) > 32 {
		return nil
	}
	p := &Program{In: kindsOf(in)}
	used := make([]int, len(in)) // how much of each digit token parts already took
	for _, o := range out {
		if o.kind != '9' && o.kind != 'a' {
			p.Pieces = append(p.Pieces, Piece{Lit: o.text})
			continue
		}
		if ps, ok := derive(in, o, used); ok {
			p.Pieces = append(p.Pieces, ps...)
			p.Ambiguous = p.Ambiguous || ambiguous(in, o)
			continue
		}
		p.Pieces = append(p.Pieces, Piece{Lit: o.text})
		p.Literal = true
	}
	if !p.safe(to) || !p.partitions(in) {
		return nil
	}
	return p
}

// ambiguous reports whether output token o equals more than one input
// token (a part of a token is no rival: partitions rules those out).
func ambiguous(in []tok, o tok) bool {
	n := 0
	for _, t := range in {
		if t.text == o.text {
			n++
		}
	}
	return n > 1
}

// partitions reports whether every input token the program takes parts of
// is cut into those parts whole (20250223 → 2025-02-23), and not also
// taken whole: a part of a token is structure only when the rest of it is
// used the same way. A "20" cut out of the year 2025 while the year is
// also written is a coincidence of digits, not where the value came from.
func (p *Program) partitions(in []tok) bool {
	parts := make([]int, len(in))
	whole := make([]bool, len(in))
	for _, pc := range p.Pieces {
		if !pc.Ref || pc.Tok < 0 || pc.Tok >= len(in) {
			continue
		}
		if pc.Lo == 0 && pc.Hi == 0 {
			whole[pc.Tok] = true
			continue
		}
		n := len(in[pc.Tok].text)
		lo, hi := pc.Lo, pc.Hi
		if lo < 0 {
			lo += n
		}
		if hi <= 0 {
			hi += n
		}
		parts[pc.Tok] += hi - lo
	}
	for k := range in {
		if parts[k] > 0 && (whole[k] || parts[k] != len(in[k].text)) {
			return false
		}
	}
	return true
}

// safe reports whether a program's literals can only be format: when the
// value it writes is an instance (an id, an e-mail, a number), every
// alphanumeric literal is a short word (a prefix such as JOB or dt) and
// some digits of the input are carried over. Otherwise its literals might
// be another entity's data, which a suggestion must never carry.
func (p *Program) safe(out string) bool {
	if !p.Literal || !instance(out) {
		return true
	}
	digits := false
	for _, pc := range p.Pieces {
		switch {
		case pc.Ref:
			digits = digits || pc.Lo != 0 || pc.Hi != 0 || pc.Pad > 0 || strings.IndexByte(p.In, '9') >= 0 && p.In[pc.Tok] == '9'
		case len(pc.Lit) > 4 || instance(pc.Lit):
			return false
		}
	}
	return digits
}

// derive explains one output token from the input tokens. Parts of a digit
// token are taken in order (used: how much of each was taken already), so
// 20250223 → 2025-02-23 reads the month after the year, not the first 02.
func derive(in []tok, o tok, used []int) ([]Piece, bool) {
	// A token not taken yet first: 03/03/2025 → 2025-03-03 takes each 03 once.
	for _, fresh := range []bool{true, false} {
		for k, t := range in {
			if t.text == o.text && (!fresh || used[k] == 0) {
				used[k] = len(t.text)
				return []Piece{{Ref: true, Tok: k}}, true
			}
		}
	}
	if o.kind == 'a' {
		for k, t := range in {
			if t.kind == 'a' && strings.EqualFold(t.text, o.text) {
				return []Piece{{Ref: true, Tok: k, Case: caseOf(o.text)}}, true
			}
		}
		return nil, false
	}
	// Digits: zero-padded, a run of consecutive digit tokens, or a part of one.
	for k, t := range in {
		if t.kind == '9' && len(t.text) < len(o.text) && strings.TrimLeft(o.text, "0") == strings.TrimLeft(t.text, "0") {
			return []Piece{{Ref: true, Tok: k, Pad: len(o.text)}}, true
		}
	}
	for k := range in {
		var ps []Piece
		acc := ""
		for j := k; j < len(in) && len(acc) < len(o.text); j++ {
			if in[j].kind != '9' {
				continue
			}
			acc += in[j].text
			ps = append(ps, Piece{Ref: true, Tok: j})
			if acc == o.text && len(ps) > 1 {
				return ps, true
			}
		}
	}
	for k, t := range in {
		if t.kind != '9' || used[k] >= len(t.text) {
			continue
		}
		if i := strings.Index(t.text[used[k]:], o.text); i >= 0 {
			i += used[k]
			used[k] = i + len(o.text)
			// Numbers grow at the front: a part is placed from the end.
			lo, hi := i-len(t.text), i+len(o.text)-len(t.text)
			return []Piece{{Ref: true, Tok: k, Lo: lo, Hi: hi}}, true
		}
	}
	return nil, false
}

func caseOf(s string) byte {
	switch {
	case strings.ToUpper(s) == s:
		return 'U'
	case strings.ToLower(s) == s:
		return 'L'
	case len(s) > 1 && strings.ToUpper(s[:1])+strings.ToLower(s[1:]) == s:
		return 'T'
	}
	return 0
}

// apply runs the program on a value of the kinds it was learnt on.
func (p *Program) apply(v string) (string, bool) {
	in := splitTokens(v)
	if kindsOf(in) != p.In {
		return "", false
	}
	var b strings.Builder
	for _, pc := range p.Pieces {
		if !pc.Ref {
			b.WriteString(pc.Lit)
			continue
		}
		if pc.Tok < 0 || pc.Tok >= len(in) {
			return "", false
		}
		t := in[pc.Tok].text
		if pc.Lo != 0 || pc.Hi != 0 {
			lo, hi := pc.Lo, pc.Hi
			if lo < 0 {
				lo += len(t)
			}
			if hi <= 0 {
				hi += len(t)
			}
			if lo < 0 || hi > len(t) || lo >= hi {
				return "", false
			}
			t = t[lo:hi]
		}
		switch pc.Case {
		case 'U':
			t = strings.ToUpper(t)
		case 'L':
			t = strings.ToLower(t)
		case 'T':
			t = strings.ToUpper(t[:1]) + strings.ToLower(t[1:])
		}
		if pc.Pad > len(t) && pc.Pad <= 32 {
			t = strings.Repeat("0", pc.Pad-len(t)) + t
		}
		b.WriteString(t)
	}
	return b.String(), true
}

// learnTransform explains how a recovery wrote a value: from the source
// value (the failing call's own, "" when the argument was added), or from
// the situation the recovery was made in.
func learnTransform(source, target string, sit *Situation) (Transform, bool) {
	if source != "" && source == target {
		return Transform{Op: OpCopy}, true
	}
	// One word of a vocabulary for another (cabin basic_economy → economy)
	// is a choice of value, not a writing of the same one: where the task
	// or a result says it, read it there; else it is that word.
	if source != "" && vocabulary(strings.ToLower(source)) && vocabulary(target) {
		if a := anchorBefore(sit.Task, target); a != "" {
			return Transform{Op: OpTask, Anchor: a, Shape: Shape(target)}, true
		}
		if tool, key, ok := resultAnchor(sit, target); ok {
			return Transform{Op: OpResult, Tool: tool, Anchor: key, Shape: Shape(target)}, true
		}
		return Transform{Op: OpConst, Const: target}, true
	}
	var literal *Program
	if source != "" {
		if p := learnProgram(source, target); p != nil {
			if !p.unvouched() {
				return Transform{Op: OpFormat, Program: p}, true
			}
			literal = p
		}
	}
	if a := anchorBefore(sit.Task, target); a != "" {
		return Transform{Op: OpTask, Anchor: a, Shape: Shape(target)}, true
	}
	if tool, key, ok := resultAnchor(sit, target); ok {
		return Transform{Op: OpResult, Tool: tool, Anchor: key, Shape: Shape(target)}, true
	}
	if vocabulary(target) {
		return Transform{Op: OpConst, Const: target}, true
	}
	if literal != nil {
		return Transform{Op: OpFormat, Program: literal}, true
	}
	return Transform{}, false
}

// agrees reports whether another recovery's value is explained by the
// transform too; a format program with literals that agrees is confirmed.
func (t *Transform) agrees(source, target string, sit *Situation) bool {
	v, ok := t.apply(source, sit, true)
	if !ok || v != target {
		return false
	}
	if t.Op == OpFormat && t.Program.unvouched() {
		t.Program.Agreed = true
	}
	return true
}

// apply makes the value for a request: from the candidate's source value
// and the request's situation. A format program with literals one example
// cannot vouch for is refused unless learning.
func (t *Transform) apply(source string, sit *Situation, learning bool) (string, bool) {
	switch t.Op {
	case OpCopy:
		return source, source != ""
	case OpFormat:
		if t.Program == nil || source == "" || (t.Program.unvouched() && !t.Program.Agreed && !learning) {
			return "", false
		}
		return t.Program.apply(source)
	case OpTask:
		return valueAfter(sit.Task, t.Anchor, t.Shape)
	case OpResult:
		steps := sit.steps()
		for i := len(steps) - 1; i >= 0; i-- {
			if st := steps[i]; st.Action == t.Tool {
				if v, ok := valueAfter(clip(said(st), maxObservation), t.Anchor, t.Shape); ok {
					return v, true
				}
			}
		}
	case OpConst:
		return t.Const, vocabulary(t.Const)
	}
	return "", false
}

// anchorBefore returns the word right before value in text ("currency"
// in "... currency EUR]"), "" when value is not there as a whole or no
// word of vocabulary precedes it.
func anchorBefore(text, value string) string {
	if len(value) < 2 {
		return ""
	}
	i := indexWord(text, value)
	if i < 0 {
		return ""
	}
	j := i
	for j > 0 && strings.ContainsRune(" \t:=\"'", rune(text[j-1])) {
		j--
	}
	k := j
	for k > 0 && (wordByte(text[k-1]) && !(text[k-1] >= '0' && text[k-1] <= '9')) {
		k--
	}
	w := strings.ToLower(text[k:j])
	if len(w) < 3 || !vocabulary(w) || stopWords[w] {
		return ""
	}
	return w
}

// stopWords say nothing about which value follows them.
var stopWords = map[string]bool{
	"the": true, "and": true, "for": true, "with": true, "from": true, "into": true, "via": true, "per": true,
	"are": true, "was": true, "has": true, "have": true, "this": true, "that": true, "use": true, "using": true,
	"not": true, "but": true, "all": true, "any": true, "its": true, "their": true, "our": true, "your": true,
}

// indexWord finds value in text at word boundaries.
func indexWord(text, value string) int {
	for i := 0; i+len(value) <= len(text); {
		j := strings.Index(text[i:], value)
		if j < 0 {
			return -1
		}
		j += i
		if (j == 0 || !wordByte(text[j-1])) && (j+len(value) == len(text) || !wordByte(text[j+len(value)])) {
			return j
		}
		i = j + 1
	}
	return -1
}

// valueAfter reads the value written right after the anchor word in text,
// in the given shape.
func valueAfter(text, anchor, shape string) (string, bool) {
	low := strings.ToLower(text)
	for i := 0; i < len(low); {
		j := indexWord(low[i:], anchor)
		if j < 0 {
			return "", false
		}
		k := i + j + len(anchor)
		for k < len(text) && strings.ContainsRune(" \t:=\"'", rune(text[k])) {
			k++
		}
		e := k
		for e < len(text) && !strings.ContainsRune(" \t,;)]}\"'\n", rune(text[e])) {
			e++
		}
		v := strings.TrimRight(text[k:e], ".")
		if v != "" && Shape(v) == shape {
			return v, true
		}
		i += j + 1
	}
	return "", false
}

var resultKey = regexp.MustCompile(`"?([A-Za-z_][A-Za-z0-9_]{0,40})"?\s*[:=]\s*"?$`)

// resultAnchor finds value in what an earlier step said (a result, or an
// error: "amount 500 exceeds the paid total 120") and returns that step's
// tool and the key or word written before it.
func resultAnchor(sit *Situation, value string) (string, string, bool) {
	if len(value) < 2 {
		return "", "", false
	}
	steps := sit.steps()
	for i := len(steps) - 1; i >= 0; i-- {
		st := steps[i]
		text := clip(said(st), maxObservation)
		at := indexWord(text, value)
		if at < 0 {
			continue
		}
		if m := resultKey.FindStringSubmatch(text[max(0, at-48):at]); m != nil {
			return st.Action, strings.ToLower(m[1]), true
		}
		// In prose ("exceeds the paid total 120") only a number or an id
		// is read after a word: a word of vocabulary there is prose.
		if a := anchorBefore(text, value); a != "" && instance(value) {
			return st.Action, a, true
		}
	}
	return "", "", false
}

// said is what a step told the agent: its result, or its error.
func said(st admem.Step) string {
	if st.Failed() {
		return st.Error
	}
	return st.Observation
}

// typed returns the value as the argument was typed in the example: a JSON
// number stays a number.
func typed(v string, num bool) any {
	if num {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

// isNum reports whether a top-level argument value is a JSON number.
func isNum(v any) bool {
	switch v.(type) {
	case float64, float32, int, int64:
		return true
	}
	return false
}

// scalar returns a top-level argument's text, if it is a scalar.
func scalar(args map[string]any, k string) (string, bool) {
	v, ok := args[k]
	if !ok {
		return "", false
	}
	s, _ := scalarText(v)
	if _, isStr := v.(string); !isStr && !isNum(v) {
		return "", false
	}
	return s, true
}

// stepsBefore returns a situation made of t's task and its steps before i.
func stepsBefore(t admem.Trajectory, i int) *Situation {
	return &Situation{Task: t.Task, Steps: t.Steps[:i]}
}

// sameTransform reports whether two transforms make values the same way.
func sameTransform(a, b Transform) bool {
	if a.Op != b.Op || a.Anchor != b.Anchor || a.Tool != b.Tool || a.Const != b.Const || a.Shape != b.Shape {
		return false
	}
	if (a.Program == nil) != (b.Program == nil) {
		return false
	}
	return a.Program == nil || a.Program.In == b.Program.In && slices.Equal(a.Program.Pieces, b.Program.Pieces)
}
