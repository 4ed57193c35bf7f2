package judge

// Instruction-like content (in the spirit of A-MemGuard): a fact, a tool
// observation or a procedure step is data the agent reads, and data that
// tries to instruct the agent is an attack on every agent of the tenant.
// Such content is stored but quarantined: recall marks it and leaves it
// out of the prompt text unless asked.
//
// The classifier is a handful of named signals over folded text (invisible
// characters removed, homoglyphs and styled letters mapped back, JSON
// strings read, letters written apart joined). Each signal is a class of
// attack, written as word classes (override verbs × instruction nouns,
// call verbs × tool references, …) rather than as phrases, so that a
// paraphrase built from other members of the class is still caught. Strong
// signals quarantine alone; weak ones (hidden characters, mixed scripts,
// tool-call markup, addressing the model) need a second signal.

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Instruction signals, as reported in a quarantine reason.
const (
	SignalOverride    = "override of prior instructions"
	SignalRole        = "role reassignment"
	SignalRoleMarker  = "chat role marker"
	SignalToolCall    = "tool-call directive"
	SignalToolMarkup  = "tool-call markup in data"
	SignalExfiltrate  = "request to reveal instructions or secrets"
	SignalAddressAI   = "text addressed to the AI agent"
	SignalHidden      = "hidden characters"
	SignalHiddenMarks = "hidden-instruction markup"
	SignalMixed       = "mixed-script words (homoglyphs)"
	SignalForeign     = "override of prior instructions (non-English)"
)

// InstructionVerdict is what the classifier found in one text.
type InstructionVerdict struct {
	Quarantine bool
	Score      float64
	Signals    []string // names of the signals that fired, strongest first
}

// Reason is the verdict as one line ("instruction-like: …"), empty when the
// text is not quarantined.
func (v InstructionVerdict) Reason() string {
	if !v.Quarantine {
		return ""
	}
	return "instruction-like: " + strings.Join(v.Signals, "; ")
}

// Signal weights: a strong signal is 1 (quarantine alone), a weak one 0.5.
// Tool-call markup and text addressed to the model are strong: neither
// occurs in real facts or tool results (see docs/trust.md).
const (
	strong = 1.0
	weak   = 0.5
)

// MaxClassifiedBytes bounds the text the classifier reads; an instruction
// past it is still in the first part of any text an agent would be shown in
// practice, and the cost of a write stays bounded.
const MaxClassifiedBytes = 64 << 10

// ClassifyInstruction judges whether text tries to instruct the agent.
func ClassifyInstruction(text string) InstructionVerdict {
	if len(text) > MaxClassifiedBytes {
		text = text[:MaxClassifiedBytes]
	}
	f := fold(text)
	var v InstructionVerdict
	add := func(w float64, name string) {
		if !slices.Contains(v.Signals, name) {
			v.Score += w
			v.Signals = append(v.Signals, name)
		}
	}
	if override(f.words) {
		add(strong, SignalOverride)
	}
	if foreignOverride(f.native) || foreignOverride(strings.Join(f.words, " ")) {
		add(strong, SignalForeign)
	}
	if role(f.words) {
		add(strong, SignalRole)
	}
	if roleMarker(f.lines) {
		add(strong, SignalRoleMarker)
	}
	if exfiltrate(f.words) {
		add(strong, SignalExfiltrate)
	}
	if d, s := toolDirective(f.words); s {
		add(strong, SignalToolCall)
	} else if d {
		add(weak, SignalToolCall)
	}
	if hiddenMarkup(f.native) || hiddenMarkup(strings.Join(f.lines, "\n")) {
		add(strong, SignalHiddenMarks)
	}
	if toolMarkup(f.native) || toolMarkup(strings.Join(f.lines, "\n")) {
		add(strong, SignalToolMarkup)
	}
	if addressesAI(f.words) {
		add(strong, SignalAddressAI)
	}
	if f.hidden > 0 {
		w := weak
		if f.tags > 0 {
			w = strong // tag characters have no use in text but smuggling
		}
		add(w, SignalHidden)
	}
	if f.mixed > 0 {
		add(weak, SignalMixed)
	}
	v.Quarantine = v.Score >= strong
	return v
}

// set is a word class; a word is in it when it or its stem is
// ("obeying", "ignored", "instructions" are found from "obey", "ignore",
// "instruction").
type set map[string]bool

func (s set) has(w string) bool {
	if s[w] {
		return true
	}
	for _, suf := range []string{"ing", "ed", "es", "s", "d"} {
		if st, ok := strings.CutSuffix(w, suf); ok && len(st) > 2 && (s[st] || s[st+"e"]) {
			return true
		}
	}
	return false
}

func words(s string) set {
	out := set{}
	for _, w := range strings.Fields(s) {
		out[w] = true
	}
	return out
}

// Word classes of the English rules.
var (
	overrideVerbs = words("nevermind ignore ignoring ignored disregard disregarding forget forgetting override overriding bypass bypassing " +
		"discard discarding dismiss abandon skip neglect nullify void cancel erase delete drop scrap suspend circumvent evade")
	// Verbs that need a negation or "stop" before them ("do not follow").
	obeyVerbs      = words("follow obey heed respect apply honor honour observe adhere comply")
	negations      = words("not dont don t never no longer stop cease quit")
	instructionNns = words("instruction instructions directive directives rule rules guideline guidelines prompt prompts " +
		"policy policies constraint constraints guardrail guardrails restriction restrictions order orders command commands " +
		"programming training context message messages guidance task tasks system safety limitations limits filters " +
		"protocol protocols briefing setup configuration conditioning orientation mandate mandates")
	// Qualifiers that point at the agent's own instructions.
	priorQuals = words("previous prior above earlier preceding original initial existing all any every your the_above former " +
		"old older past system developer given default current these those foregoing aforementioned")
	wholeContext = words("everything anything all")
	pastContext  = words("above before earlier previously prior told said")
)

// within reports whether a word of class b appears within n words after
// position i, without crossing a sentence end.
func within(ws []string, i, n int, b set) int {
	for j := i + 1; j < len(ws) && j <= i+n; j++ {
		if ws[j] == "." {
			return -1
		}
		if b.has(ws[j]) {
			return j
		}
	}
	return -1
}

// override: an override verb whose object is the agent's instructions
// ("ignore all previous instructions", "disregard the rules above"), a
// negated obey verb with such an object ("do not follow your guidelines"),
// or an override of everything said before ("forget everything above").
func override(ws []string) bool {
	for i, w := range ws {
		verb := overrideVerbs.has(w) || w == "never" && i+1 < len(ws) && ws[i+1] == "mind" || w == "set" && i+1 < len(ws) && ws[i+1] == "aside" ||
			w == "pay" && within(ws, i, 2, words("no")) > 0 && within(ws, i, 3, words("attention heed")) > 0
		if !verb && obeyVerbs.has(w) && i > 0 && (negations[ws[i-1]] || i > 1 && negations[ws[i-2]]) {
			verb = true
		}
		if !verb {
			continue
		}
		if j := within(ws, i, 6, instructionNns); j > 0 {
			// The object must be the agent's: qualified as prior/yours/all,
			// or followed by "above" / "you were given".
			for k := i + 1; k <= j+3 && k < len(ws); k++ {
				if ws[k] == "." {
					break
				}
				if priorQuals[ws[k]] || pastContext[ws[k]] || k > j && ws[k] == "you" {
					return true
				}
			}
		}
		if j := within(ws, i, 2, wholeContext); j > 0 && within(ws, j, 4, pastContext) > 0 {
			return true
		}
		if toldYou(ws, i) {
			return true
		}
	}
	for i, w := range ws {
		// Instructions described as the agent's ("the rules you were
		// given", "the policies you have") and declared void.
		if instructionNns[w] && i+1 < len(ws) && ws[i+1] == "you" && within(ws, i+1, 6, nullifiers) > 0 {
			return true
		}
		// The concessive form: "whatever your instructions say",
		// "regardless of your guidelines", "no matter what the system
		// prompt says".
		if concessive(ws, i) {
			if j := within(ws, i, 3, agentOwn); j > 0 && within(ws, j-1, 3, instructionNns) > 0 {
				return true
			}
		}
	}
	// The passive form: the agent's instructions declared void ("all prior
	// rules are cancelled", "previous constraints no longer apply").
	for i, w := range ws {
		if !priorQuals[w] || priorQuals[w] && (w == "the" || w == "these" || w == "those") {
			continue
		}
		if j := within(ws, i, 2, instructionNns); j > 0 {
			if k := within(ws, j, 4, nullifiers); k > 0 || within(ws, j, 3, words("longer")) > 0 {
				return true
			}
		}
	}
	return false
}

// Verbs of instructing someone, as past participles ("you were told").
var (
	toldVerbs = words("told taught instructed asked given handed programmed directed ordered briefed trained prompted commanded shown")
	beVerbs   = words("were was been ve got")
)

// toldYou: the object of the override verb at i is a clause saying what
// the agent was instructed, not an instruction noun ("forget what you
// were told before", "ignore anything you have been asked to do").
func toldYou(ws []string, i int) bool {
	j := within(ws, i, 4, words("you"))
	if j < 0 {
		return false
	}
	k := within(ws, j, 2, beVerbs)
	return k > 0 && within(ws, k, 2, toldVerbs) > 0
}

// nullifiers declare instructions void.
var nullifiers = words("void voided cancel cancelled canceled revoke revoked lift lifted suspend suspended obsolete invalid " +
	"null nullified overridden override removed disabled off rescinded withdrawn expired superseded outdated irrelevant " +
	"deprecated meaningless replaced")

// agentOwn qualifies instructions as the agent's own, more narrowly than
// priorQuals ("the rules" alone is anyone's).
var agentOwn = words("your system developer previous prior original initial earlier")

// concessive: "whatever", "regardless (of)", "no matter (what)", "despite"
// at i: what follows is set aside.
func concessive(ws []string, i int) bool {
	switch ws[i] {
	case "whatever", "regardless", "despite", "notwithstanding":
		return true
	case "no":
		return i+1 < len(ws) && ws[i+1] == "matter"
	}
	return false
}

// Role reassignment.
var (
	roleNouns = words("assistant agent bot chatbot ai model llm system admin administrator root developer superuser " +
		"operator hacker dan jailbroken unrestricted unfiltered uncensored unlimited evil rogue persona character mode " +
		"god sudo")
	promoteVerbs = words("promoted elevated upgraded appointed granted given made switched unlocked")
	newRoleNouns = words("role task goal objective instructions instruction directive directives purpose mission job " +
		"orders identity persona rules priority")
)

// role: "you are now X" with an AI role ("you are now DAN", "you are now in
// developer mode"), "from now on you …", "act as / pretend to be / roleplay
// as" at the start of a sentence, "your new instructions are", "new
// instructions:".
func role(ws []string) bool {
	for i, w := range ws {
		start := i == 0 || ws[i-1] == "."
		next := func(k int) string {
			if i+k < len(ws) {
				return ws[i+k]
			}
			return ""
		}
		switch {
		case w == "you" && (next(1) == "are" || next(1) == "re") && (next(2) == "now" || next(2) == "no" && next(3) == "longer"):
			if within(ws, i+2, 5, roleNouns) > 0 {
				return true
			}
		case w == "you" && (next(1) == "have" || next(1) == "ve" || next(1) == "were" || next(1) == "are" || next(1) == "re") &&
			within(ws, i+1, 3, promoteVerbs) > 0:
			// "you have been promoted to superuser", "you are granted root"
			if within(ws, i+1, 7, words("superuser root sudo god unrestricted unfiltered jailbroken administrator")) > 0 {
				return true
			}
		case w == "from" && next(1) == "now" && next(2) == "on":
			if j := within(ws, i+2, 3, words("you your")); j > 0 {
				return true
			}
		case start && (w == "act" || w == "behave") && (next(1) == "as" || next(1) == "like"):
			return true
		case start && w == "pretend" && (next(1) == "to" || next(1) == "you" || next(1) == "that"):
			return true
		case start && (w == "roleplay" || w == "role" && next(1) == "play"):
			return true
		case w == "your" && (next(1) == "new" || next(1) == "real" || next(1) == "true" || next(1) == "actual" || next(1) == "only") && newRoleNouns[next(2)]:
			return true
		case (w == "new" || w == "updated" || w == "revised" || w == "override") && (next(1) == "instructions" || next(1) == "instruction" || next(1) == "directive" || next(1) == "directives" || next(1) == "system" && next(2) == "prompt"):
			return true
		case w == "enter" || w == "enable" || w == "activate" || w == "switch":
			if j := within(ws, i, 3, words("developer jailbreak dan god unrestricted debug admin sudo")); j > 0 && within(ws, j-1, 2, words("mode")) > 0 {
				return true
			}
		}
	}
	return false
}

// roleMarkerRE matches a chat-template or transcript role marker at the
// start of a line: "system:", "[system]", "<|im_start|>", "### instruction",
// "<<sys>>", "[inst]".
var roleMarkerRE = regexp.MustCompile(`^\s*(?:#+\s*|\*\*|\[|<\|?|<<)?\s*(?:system|assistant|developer|instructions?|sys|inst|im_start|im_end|endoftext|admin(?:istrator)?|root)\s*(?:\*\*|\]|\|?>|>>)?\s*(?::|\]|\|>|>>|>|$)`)

func roleMarker(lines []string) bool {
	for _, line := range lines {
		for _, l := range sentenceRE.Split(line, -1) {
			if roleMarkerLine(l) {
				return true
			}
		}
	}
	return false
}

// sentenceRE splits a line into sentences, so that a marker after a
// benign sentence ("Order shipped. System: …") is at a start too.
var sentenceRE = regexp.MustCompile(`[.!?]\s+`)

// roleMarkerLine: a word like "systematic" does not match, because the
// marker must end in a delimiter.
func roleMarkerLine(l string) bool {
	l = strings.TrimSpace(l)
	return l != "" && roleMarkerRE.MatchString(l)
}

// Tool-call directives.
var (
	callVerbs = words("call calling invoke invoking run running execute executing use using trigger triggering perform " +
		"fire launch issue send submit")
	toolNouns  = words("tool function api endpoint command action method operation")
	directives = words("must should need needs have has shall always immediately now first then instead " +
		"please remember sure required mandatory necessary urgent urgently important")
	agentWords = words("you agent assistant ai model bot")
	// Destructive words: a call of one in data is an attack, not advice.
	destructive = words("delete remove drop destroy wipe purge truncate erase reset disable revoke transfer grant " +
		"refund cancel exfiltrate export upload")
)

// toolRef reports whether w names a tool: an identifier with an underscore,
// a camelCase identifier, or a word followed by "(".
func toolRef(raw string) bool {
	if strings.Count(raw, "_") >= 1 && len(raw) > 3 && !strings.HasPrefix(raw, "_") {
		return true
	}
	return false
}

// toolDirective: a call verb whose object is a tool reference, said as a
// directive (sentence start, or after a modal or "you"/"agent"). Returns
// (weak, strong): weak when a tool is named as an object of a call verb
// without a directive, strong with one, or when the tool is destructive.
func toolDirective(ws []string) (bool, bool) {
	weakHit := false
	for i, w := range ws {
		if !callVerbs.has(w) {
			continue
		}
		j := -1
		for k := i + 1; k < len(ws) && k <= i+5; k++ {
			if ws[k] == "." {
				break
			}
			if toolRef(ws[k]) || toolNouns[ws[k]] && k > i+1 && toolRef(ws[k-1]) {
				j = k
				break
			}
		}
		if j < 0 {
			continue
		}
		weakHit = true
		start := i == 0 || ws[i-1] == "."
		directed := start
		for k := i - 1; k >= 0 && k >= i-5; k-- {
			if ws[k] == "." {
				break
			}
			if directives[ws[k]] || agentWords[ws[k]] {
				directed = true
			}
		}
		dangerous := false
		for _, part := range strings.Split(ws[j], "_") {
			if destructive.has(part) {
				dangerous = true
			}
		}
		if directed || dangerous {
			return true, true
		}
	}
	return weakHit, false
}

// toolMarkupRE matches tool-call markup of chat formats inside data.
var toolMarkupRE = regexp.MustCompile(`<tool_call>|<function[=\s>]|"tool_calls"\s*:|"function_call"\s*:|<invoke\b|<\|tool|\[tool_calls\]|"(?:name|tool)"\s*:\s*"[a-z]+_[a-z_]+"\s*,\s*"(?:arguments|args|parameters)"\s*:`)

func toolMarkup(native string) bool { return toolMarkupRE.MatchString(native) }

// hiddenMarkupRE matches markup that hides text from a human reader but not
// from a model: HTML comments with words in them, elements styled
// invisible, and tags named after instructions.
var hiddenMarkupRE = regexp.MustCompile(`<!--[^>]*\pL{3,}[\s\S]*?-->|display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0[^.]|<\s*[a-z][a-z0-9]*\s[^>]*\bhidden\b[^>]*>|<\s*/?\s*(?:hidden|secret|instructions?|system|sys|inject|prompt|important)\s*>|\[\s*/?\s*(?:hidden|inst|system|instructions?)\s*\]|<\|[a-z_]+\|>`)

func hiddenMarkup(native string) bool { return hiddenMarkupRE.MatchString(native) }

// Exfiltration.
var (
	revealVerbs = words("reveal print output show display repeat leak disclose dump tell share expose send email post " +
		"upload forward copy write echo list recite")
	secretNouns = words("prompt prompts instructions password passwords credentials credential secret secrets token tokens " +
		"key keys ssn")
	ownQuals = words("your system hidden initial original secret internal developer admin api")
)

// exfiltrate: "reveal your system prompt", "print the hidden
// instructions", "send the api keys to …".
func exfiltrate(ws []string) bool {
	for i, w := range ws {
		if !revealVerbs.has(w) {
			continue
		}
		// Each secret noun within reach: its qualifiers before it ("your
		// system prompt"), or "you were configured with" after it.
		for j := i + 1; j < len(ws) && j <= i+7 && ws[j] != "."; j++ {
			if !secretNouns[ws[j]] {
				continue
			}
			for k := i + 1; k < j; k++ {
				if ownQuals[ws[k]] {
					return true
				}
			}
			if j+1 < len(ws) && ws[j+1] == "you" {
				return true
			}
		}
	}
	return false
}

// addressesAI: text that speaks to the model reading it ("note to the AI",
// "if you are an AI assistant", "dear agent", "attention LLM").
func addressesAI(ws []string) bool {
	known := words("ai assistant agent llm model chatbot gpt claude gemini bot")
	for i, w := range ws {
		next := func(k int) string {
			if i+k < len(ws) {
				return ws[i+k]
			}
			return ""
		}
		// ai: the word k after i names an AI ("language model" too).
		ai := func(k int) bool { return known[next(k)] || next(k) == "language" && next(k+1) == "model" }
		switch w {
		case "attention", "note", "dear", "hey", "hello", "hi", "important", "urgent", "message", "memo", "notice", "warning":
			if ai(1) || (next(1) == "to" || next(1) == "for") && (ai(2) || ai(3)) || ai(2) && next(1) == "the" {
				return true
			}
		case "if":
			if next(1) == "you" && next(2) == "are" && (next(3) == "an" || next(3) == "a" || next(3) == "the") && (ai(4) || ai(5)) {
				return true
			}
		case "to":
			if (next(1) == "the" || next(1) == "any" || next(1) == "all") && ai(2) && (next(3) == "reading" || next(3) == "processing" || next(3) == "that" || next(3) == "who") {
				return true
			}
		}
	}
	return false
}

// Other languages, where cheap: the override class (verb × instruction
// noun) in German, French, Spanish, Italian, Portuguese, Dutch, Russian,
// Chinese and Japanese, and the role class ("you are now").
var (
	foreignVerbs = []string{
		"ignorier", "vergiss", "vergessen", "missacht", "übergeh", // de
		"ignore", "ignorez", "oublie", "oubliez", "ne tiens pas compte", "ne tenez pas compte", // fr
		"ignora", "ignore", "olvida", "olvide", "omite", "descarta", // es
		"ignori", "dimentica", "tralascia", // it
		"ignore", "ignora", "esqueça", "esqueca", "desconsidere", // pt
		"negeer", "vergeet", // nl
		"игнорируй", "игнорировать", "забудь", "забудьте", "проигнорируй", "не обращай внимания", // ru
		"忽略", "无视", "忽视", "忘记", "忘掉", "不要理会", "無視", "忘れ", // zh, ja
	}
	foreignNouns = []string{
		"anweisung", "regeln", "vorgaben", "befehle", "instruktion", // de
		"instruction", "consigne", "règle", "regle", "directive", // fr
		"instruccion", "instrucción", "reglas", "directriz", "indicaciones", // es
		"istruzion", "regole", "direttiv", // it
		"instruç", "instruc", "regras", "diretriz", // pt
		"instructie", "regels", // nl
		"инструкц", "указани", "правил", "команд", // ru
		"指令", "指示", "说明", "规则", "提示", "命令", "設定", "ルール", // zh, ja
	}
	foreignRole = []string{
		"du bist jetzt", "du bist nun", "tu es maintenant", "vous êtes maintenant", "ahora eres", "ora sei",
		"agora você é", "agora voce e", "ты теперь", "теперь ты", "你现在是", "从现在开始你", "あなたは今", "今からあなたは",
	}
)

// foreignOverride looks for an override verb followed, within a short
// stretch of the same sentence, by an instruction noun.
func foreignOverride(native string) bool {
	for _, r := range foreignRole {
		if strings.Contains(native, r) {
			return true
		}
	}
	for _, v := range foreignVerbs {
		for off := 0; ; {
			i := strings.Index(native[off:], v)
			if i < 0 {
				break
			}
			i += off
			// The verb must start a word (CJK has no spaces: any position).
			ok := i == 0 || !unicode.IsLetter(lastRune(native[:i])) || v[0] >= 0x80 && firstRune(v) > 0x2E80
			end := i + len(v)
			if ok {
				win := native[end:min(len(native), end+80)]
				if k := strings.IndexAny(win, ".!?\n。"); k >= 0 {
					win = win[:k]
				}
				for _, n := range foreignNouns {
					if strings.Contains(win, n) {
						return true
					}
				}
			}
			off = end
		}
	}
	return false
}

func lastRune(s string) rune {
	r := []rune(s)
	return r[len(r)-1]
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}
