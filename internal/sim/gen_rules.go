package sim

import (
	"fmt"
	"strings"
)

// Rule placement for generated worlds. Every placement picks a spot in a
// family's tools where the rule fits, gives the tools what the rule needs
// (an argument, an aux tool, a token their reads reveal) and registers the
// hook the planner uses to write reference plans that obey the rule. Rules
// belong to tools, not to families: a rule on a tool two families share
// holds in both. All rules word their errors in the tool's style and quote
// the call's own values, as real APIs do.

// ruleKindWeights are the odds of each local rule kind.
var ruleKindWeights = []struct {
	kind RuleKind
	w    float64
}{
	{RulePrecondition, 3}, {RuleOrdering, 1.5}, {RuleState, 2}, {RuleLimit, 1.5}, {RuleCopy, 1.5},
	{RuleRename, 1}, {RuleEnumCase, 1}, {RuleMaxLen, 1}, {RuleFormat, 2}, {RuleQuota, 1},
	{RuleContext, 1.5}, {RuleDeprecated, 1.5}, {RuleCrossArg, 1},
}

func (gw *genWorld) newRule(kind RuleKind, tool, doc string, prio int, m Mistake) *Rule {
	gw.nRule++
	r := &Rule{ID: fmt.Sprintf("g%02d.%s", gw.nRule, kind), Kind: kind, Tool: tool, Doc: doc, prio: prio, Mistake: m}
	gw.w.rules = append(gw.w.rules, r)
	if t := gw.tools[tool]; t != nil {
		t.rules++
	}
	return r
}

// ruleFail words rule r's error for call a.
func ruleFail(e *Env, r *Rule, a Action, c errCat, msg string) *StepError {
	return e.w.gen.ruleError(e, r, a.Tool, c, msg)
}

// localRules places n rules on family f's tools.
func (gw *genWorld) localRules(f *gFamily, n int) {
	total := 0.0
	for _, k := range ruleKindWeights {
		total += k.w
	}
	for placed, tries := 0, 0; placed < n && tries < 12*n; tries++ {
		x := gw.rng.Float64() * total
		kind := ruleKindWeights[len(ruleKindWeights)-1].kind
		for _, k := range ruleKindWeights {
			if x < k.w {
				kind = k.kind
				break
			}
			x -= k.w
		}
		if gw.place(kind, f) {
			placed++
		}
	}
}

// place puts one rule of the kind on f's tools; false when f has no spot.
func (gw *genWorld) place(kind RuleKind, f *gFamily) bool {
	switch kind {
	case RulePrecondition:
		return gw.precondition(f)
	case RuleOrdering:
		return gw.ordering(f)
	case RuleState:
		return gw.state(f)
	case RuleLimit:
		return gw.limit(f)
	case RuleCopy:
		return gw.copyRule(f)
	case RuleRename:
		return gw.rename(f)
	case RuleEnumCase:
		return gw.enumCase(f)
	case RuleMaxLen:
		return gw.maxLen(f)
	case RuleFormat:
		return gw.formatRule(f)
	case RuleQuota:
		return gw.quota(f)
	case RuleContext:
		return gw.context(f)
	case RuleDeprecated:
		return gw.deprecated(f)
	case RuleCrossArg:
		return gw.crossArg(f)
	}
	return false
}

// writes are f's write tools that act on an entity.
func (f *gFamily) writes() []*gTool {
	var out []*gTool
	for _, t := range append(append([]*gTool{}, f.block...), f.trailer...) {
		if !t.read && t.ent != nil && !containsTool(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (f *gFamily) all() []*gTool {
	var out []*gTool
	for _, t := range append(append(append([]*gTool{}, f.header...), f.block...), f.trailer...) {
		if !containsTool(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func containsTool(ts []*gTool, t *gTool) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// pickTool draws one of ts that ok accepts, or nil.
func (gw *genWorld) pickTool(ts []*gTool, ok func(*gTool) bool) *gTool {
	for _, i := range gw.rng.Perm(len(ts)) {
		if ok(ts[i]) {
			return ts[i]
		}
	}
	return nil
}

func (gw *genWorld) readOf(e *gEntity) *gTool { return gw.tool(gw.readVerb, e, true) }

// entityOf returns the natural id of the task's entity v names, in any
// format.
func (e *Env) entityOf(v string) (string, bool) {
	if _, ok := e.t.Entities[v]; ok {
		return v, true
	}
	for id := range e.t.Entities {
		if kinds[KindID].Equivalent(v, id) {
			return id, true
		}
	}
	return "", false
}

// didOn reports whether a call of tool on the plan step about entity id (in
// argument arg) succeeded.
func (e *Env) didOn(tool, arg, id string) bool {
	for _, c := range e.history {
		if c.idx >= 0 && e.t.Plan[c.idx].Action.Tool == tool && e.t.Plan[c.idx].Natural[arg] == id {
			return true
		}
	}
	return false
}

func noun(e *gEntity) string { return words(e.noun) }

func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

// hookable reports whether a rule may give t a hook the planner applies
// (an aux step, a split, a read first): not on aux and fix tools, which
// the planner writes as single calls.
func hookable(t *gTool) bool { return !t.aux && t.argsOf == nil && t.ent != nil }

// precondition: a write needs an aux step on the same entity first (for
// some users only, sometimes).
func (gw *genWorld) precondition(f *gFamily) bool {
	t := gw.pickTool(f.writes(), func(t *gTool) bool { return len(t.pres) == 0 && hookable(t) })
	if t == nil {
		return false
	}
	ent := t.ent
	if gw.tools[gw.nm.toolName(ent.auxVrb, ent.noun)] == nil && gw.toolCount() >= maxTools {
		return false
	}
	aux := gw.tool(ent.auxVrb, ent, false)
	if aux == t || aux.rules > 0 || len(aux.pres) > 0 || aux.state != nil || aux.limit != nil || aux.reader != nil {
		return false
	}
	aux.aux, aux.pinned = true, true
	var cond func(User) bool
	condText := ""
	if gw.rng.Float64() < 0.3 {
		tier := pick(gw.rng, []string{"enterprise", "corporate"})
		cond = func(u User) bool { return u.Tier == tier }
		condText = " for " + tier + " accounts"
	}
	v, hint := gw.rng.IntN(3), gw.rng.IntN(2) == 0
	r := gw.newRule(RulePrecondition, t.name, t.name+" needs "+aux.name+" on the same "+noun(ent)+" first"+condText, 3,
		Mistake{Op: OpSkip, Tool: aux.name})
	t.pres = append(t.pres, &gPre{rule: r.ID, tool: aux, aux: true, cond: cond})
	idArg, need := ent.idArg, aux.name
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if !t.covers(a.Tool) || st == nil || (cond != nil && !cond(e.t.User)) {
			return nil
		}
		id := st.Natural[idArg]
		if e.didOn(need, idArg, id) {
			return nil
		}
		var msg string
		switch v {
		case 0:
			msg = fmt.Sprintf("cannot %s %s %s: required %s step missing", words(t.verb), noun(ent), a.Args[idArg], words(aux.verb))
		case 1:
			msg = fmt.Sprintf("%s %s is not ready for this operation (step %d of the workflow missing)", noun(ent), a.Args[idArg], 1+len(e.history)%3)
		default:
			msg = fmt.Sprintf("precondition failed for %s=%s", idArg, a.Args[idArg])
		}
		if hint {
			msg += "; call " + need + " first"
		}
		return ruleFail(e, r, a, catPrecondition, msg)
	}
	return true
}

// ordering: of two writes on a unit, the second needs the first done.
func (gw *genWorld) ordering(f *gFamily) bool {
	for _, i := range gw.rng.Perm(len(f.block)) {
		if i+1 >= len(f.block) {
			continue
		}
		first, second := f.block[i], f.block[i+1]
		if first.read || second.read || first == second || first.state != nil || len(second.pres) > 0 || !hookable(first) || !hookable(second) {
			continue
		}
		ent := second.ent
		first.prereq, first.pinned = true, true
		r := gw.newRule(RuleOrdering, second.name, second.name+" needs "+first.name+" on the same "+noun(ent)+" first", 3,
			Mistake{Op: OpSwap, Tool: first.name})
		second.pres = append(second.pres, &gPre{rule: r.ID, tool: first})
		v := gw.rng.IntN(2)
		r.check = func(e *Env, a Action, st *PlanStep) *StepError {
			if !second.covers(a.Tool) || st == nil || e.didOn(first.name, ent.idArg, st.Natural[ent.idArg]) {
				return nil
			}
			msg := fmt.Sprintf("%s %s must go through %s before %s", noun(ent), a.Args[ent.idArg], words(first.verb), words(second.verb))
			if v == 1 {
				msg = fmt.Sprintf("invalid transition for %s %s: %s not done yet", noun(ent), a.Args[ent.idArg], first.verb)
			}
			return ruleFail(e, r, a, catConflict, msg)
		}
		return true
	}
	return false
}

// state: some entities of a task are in a state (their read shows it) in
// which a write fails for them alone; the fix is an extra step for that
// entity or another tool.
func (gw *genWorld) state(f *gFamily) bool {
	ent := f.unit
	if ent.state != "" || len(ent.states) == 0 || gw.toolCount() >= maxTools {
		return false
	}
	t := gw.pickTool(f.writes(), func(t *gTool) bool { return t.ent == ent && t.state == nil && !t.prereq && hookable(t) })
	if t == nil {
		return false
	}
	sw := pick(gw.rng, ent.states)
	ent.state, ent.stateShare = sw.state, 0.2+0.25*gw.rng.Float64()
	t.reader = gw.readOf(ent)
	t.reader.pinned = true
	st := &gState{}
	stateWord := strings.ReplaceAll(sw.state, "_", " ")
	var r *Rule
	fix := gw.tools[gw.nm.toolName(sw.fix, ent.noun)]
	if gw.rng.IntN(2) == 0 && (fix == nil || (fix.rules == 0 && len(fix.pres) == 0 && fix.limit == nil && fix.reader == nil)) {
		fix = gw.tool(sw.fix, ent, false)
		st.fix = fix
		fix.aux, fix.pinned = true, true
		r = gw.newRule(RuleState, t.name, t.name+" fails on a "+stateWord+" "+noun(ent)+" until "+st.fix.name+" clears it", 2,
			Mistake{Op: OpState, Tool: st.fix.name})
	} else {
		altVerb := fmt.Sprintf(pick(gw.rng, []string{"force_%s", "override_%s", "%s_held"}), t.verb)
		name := gw.nm.toolName(altVerb, ent.noun)
		if gw.tools[name] != nil {
			return false
		}
		st.alt = gw.tool(altVerb, ent, false)
		st.alt.argsOf, st.alt.pinned = t, true
		t.twins = append(t.twins, st.alt.name)
		r = gw.newRule(RuleState, t.name, t.name+" fails on a "+stateWord+" "+noun(ent)+": "+st.alt.name+" handles those", 2,
			Mistake{Op: OpState, Tool: st.alt.name})
	}
	st.rule = r.ID
	t.state = st
	special := st.fix
	if special == nil {
		special = st.alt
	}
	v := gw.rng.IntN(3)
	r.check = func(e *Env, a Action, _ *PlanStep) *StepError {
		if a.Tool != t.name && a.Tool != special.name {
			return nil
		}
		id, ok := e.entityOf(a.Args[ent.idArg])
		if !ok {
			return nil
		}
		in := e.t.Entities[id]["status"] == sw.state
		switch {
		case a.Tool == special.name && !in:
			return ruleFail(e, r, a, catConflict, fmt.Sprintf("%s %s is not %s", noun(ent), a.Args[ent.idArg], stateWord))
		case a.Tool != t.name || !in:
			return nil
		case st.fix != nil && e.didOn(st.fix.name, ent.idArg, id):
			return nil
		}
		var msg string
		switch v {
		case 0:
			msg = fmt.Sprintf("%s %s is %s", noun(ent), a.Args[ent.idArg], stateWord)
		case 1:
			msg = fmt.Sprintf("operation not allowed while %s %s is in state %s", noun(ent), a.Args[ent.idArg], strings.ToUpper(sw.state))
		default:
			msg = fmt.Sprintf("cannot %s %s: current status '%s'", words(t.verb), a.Args[ent.idArg], sw.state)
		}
		return ruleFail(e, r, a, catPrecondition, msg)
	}
	return true
}

// limit: a numeric argument above a limit fails; the plan splits it.
func (gw *genWorld) limit(f *gFamily) bool {
	t := gw.pickTool(f.writes(), func(t *gTool) bool { return t.limit == nil && hookable(t) })
	if t == nil {
		return false
	}
	a := t.hasAttr("amount")
	if a == nil {
		a = t.hasAttr("quantity")
	}
	if a == nil {
		a = gw.addAttr(t, pick(gw.rng, []string{"amount", "quantity"}))
	}
	if a == nil || gw.used[t.name+"."+a.name] {
		return false
	}
	gw.used[t.name+"."+a.name] = true
	var lim int
	var limText string
	if a.kind == KindMoney {
		lim = 10000 * (4 + gw.rng.IntN(6))
		a.lo, a.hi = 2000, lim+lim*(40+gw.rng.IntN(60))/100
		limText = centsText(lim)
	} else {
		a.lo, a.hi = 1, 20+gw.rng.IntN(30)
		lim = a.hi/2 + gw.rng.IntN(a.hi/4+1)
		limText = fmt.Sprint(lim)
	}
	r := gw.newRule(RuleLimit, t.name, fmt.Sprintf("%s accepts %s up to %s per call", t.name, a.name, limText), 2, Mistake{Op: OpMerge, Arg: a.name})
	t.limit = &gLimit{rule: r.ID, arg: a.name, limit: lim}
	v := gw.rng.IntN(3)
	r.check = func(e *Env, act Action, _ *PlanStep) *StepError {
		if !t.covers(act.Tool) {
			return nil
		}
		n := numericValue(a.kind, act.Args[a.name])
		if n <= lim {
			return nil
		}
		var msg string
		switch v {
		case 0:
			msg = fmt.Sprintf("%s %s exceeds the per-request limit of %s", a.name, act.Args[a.name], limText)
		case 1:
			msg = fmt.Sprintf("value %s for '%s' is out of range (max %s)", act.Args[a.name], a.name, limText)
		default:
			msg = fmt.Sprintf("%s too large: %s > %s; split into several requests", a.name, act.Args[a.name], limText)
		}
		return ruleFail(e, r, act, catLimit, msg)
	}
	return true
}

// copyRule: a write needs a token its entity's read revealed.
func (gw *genWorld) copyRule(f *gFamily) bool {
	t := gw.pickTool(f.writes(), func(t *gTool) bool {
		return hookable(t) && (t.ent.token == nil || t.arg(t.ent.token.name) == nil)
	})
	if t == nil {
		return false
	}
	ent := t.ent
	if ent.token == nil {
		tw := tokenWords[gw.rng.IntN(len(tokenWords))]
		name := gw.nm.argName(tw.name)
		if t.arg(name) != nil {
			return false
		}
		ent.token = &gArg{name: name, kind: KindToken, src: srcToken, prefix: tw.prefix}
	}
	if t.arg(ent.token.name) != nil {
		return false
	}
	tok := ent.token
	t.args = append(t.args, &gArg{name: tok.name, kind: KindToken, src: srcToken, prefix: tok.prefix})
	t.reader = gw.readOf(ent)
	t.reader.pinned = true
	gw.used[t.name+"."+tok.name] = true
	r := gw.newRule(RuleCopy, t.name, t.name+" needs the "+tok.name+" that "+t.reader.name+" shows", 2, Mistake{Op: OpGuess, Arg: tok.name})
	v := gw.rng.IntN(3)
	r.check = func(e *Env, a Action, _ *PlanStep) *StepError {
		if !t.covers(a.Tool) {
			return nil
		}
		id, ok := e.entityOf(a.Args[ent.idArg])
		if !ok || a.Args[tok.name] == e.t.Entities[id][tok.name] {
			return nil
		}
		var msg string
		switch v {
		case 0:
			msg = fmt.Sprintf("%s %s does not match the current version of %s %s", tok.name, a.Args[tok.name], noun(ent), a.Args[ent.idArg])
		case 1:
			msg = fmt.Sprintf("stale %s for %s: %s", tok.name, a.Args[ent.idArg], a.Args[tok.name])
		default:
			msg = fmt.Sprintf("precondition failed: %s=%s is not current", tok.name, a.Args[tok.name])
		}
		return ruleFail(e, r, a, catPrecondition, msg)
	}
	return true
}

// quota: a read may be called once per entity and task.
func (gw *genWorld) quota(f *gFamily) bool {
	t := gw.pickTool(f.all(), func(t *gTool) bool { return t.read && t.rules == 0 })
	if t == nil {
		return false
	}
	r := gw.newRule(RuleQuota, t.name, t.name+" may be called once per "+noun(t.ent)+" and session", 4, Mistake{Op: OpRepeat})
	v := gw.rng.IntN(2)
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if a.Tool != t.name || st == nil || e.callsTo(st) < 1 {
			return nil
		}
		msg := fmt.Sprintf("read quota exhausted for %s %s (1 call per session)", noun(t.ent), a.Args[t.ent.idArg])
		if v == 1 {
			msg = fmt.Sprintf("%s was already fetched in this session; cached result must be used", a.Args[t.ent.idArg])
		}
		return ruleFail(e, r, a, catQuota, msg)
	}
	return true
}

// deprecated: a tool has an older twin that is gone.
func (gw *genWorld) deprecated(f *gFamily) bool {
	t := gw.pickTool(f.all(), func(t *gTool) bool { return t.alt == "" && t.argsOf == nil })
	if t == nil || gw.toolCount() >= maxTools {
		return false
	}
	noun := "user"
	if t.ent != nil {
		noun = t.ent.noun
	}
	legacy := gw.nm.toolName(fmt.Sprintf(pick(gw.rng, legacyStyles), t.verb), noun)
	if gw.tools[legacy] != nil {
		return false
	}
	t.alt = legacy
	r := gw.newRule(RuleDeprecated, legacy, legacy+" was replaced by "+t.name, 0, Mistake{Op: OpLegacy})
	v := gw.rng.IntN(3)
	r.check = func(e *Env, a Action, _ *PlanStep) *StepError {
		if a.Tool != legacy {
			return nil
		}
		msg := [3]string{
			fmt.Sprintf("%s was retired on 2024-%02d-01", legacy, 1+len(legacy)%12),
			fmt.Sprintf("endpoint %s is no longer available in API version %d", legacy, 2+len(legacy)%3),
			fmt.Sprintf("operation removed: %s", legacy),
		}[v]
		return ruleFail(e, r, a, catGone, msg)
	}
	return true
}
