package sim

import (
	"fmt"
	"strings"
)

// Rules about one argument of a tool: its name, its format, its case, its
// length, its context value, its order with another.

// rename: an argument was renamed; its old name, which agents still
// write, is unknown.
func (gw *genWorld) rename(f *gFamily) bool {
	for _, t := range gw.shuffled(f.all()) {
		for _, a := range t.args {
			if a.alias != "" || (a.src != srcAttr && a.src != srcContext) {
				continue
			}
			var names []string
			if a.src == srcAttr {
				names = attrTable[a.attr].names
			} else {
				for _, c := range contextTable {
					if c.field == a.field {
						names = c.names
					}
				}
			}
			var alts []string
			for _, n := range names {
				if s := gw.nm.argName(n); s != a.name && t.arg(s) == nil {
					alts = append(alts, s)
				}
			}
			if len(alts) == 0 {
				continue
			}
			a.alias = pick(gw.rng, alts)
			r := gw.newRule(RuleRename, t.name, t.name+" renamed "+a.alias+" to "+a.name, -1, Mistake{Op: OpAlias, Arg: a.name})
			alias, v := a.alias, gw.rng.IntN(3)
			r.check = func(e *Env, act Action, _ *PlanStep) *StepError {
				if !t.covers(act.Tool) {
					return nil
				}
				if _, ok := act.Args[alias]; !ok {
					return nil
				}
				msg := [3]string{
					fmt.Sprintf("unknown argument %q", alias),
					fmt.Sprintf("unexpected field '%s' in request body", alias),
					fmt.Sprintf("%s is not a valid parameter", alias),
				}[v]
				return ruleFail(e, r, act, catInvalid, msg)
			}
			return true
		}
	}
	return false
}

func (gw *genWorld) shuffled(ts []*gTool) []*gTool {
	out := make([]*gTool, len(ts))
	for i, j := range gw.rng.Perm(len(ts)) {
		out[i] = ts[j]
	}
	return out
}

// strictArg makes tool t's argument a accept only format idx of its kind.
func (gw *genWorld) strictArg(kind RuleKind, t *gTool, a *gArg, idx int, m Mistake) {
	gw.used[t.name+"."+a.name] = true
	if idx != 0 {
		gw.w.fmtFixed[t.name+"."+a.name] = idx
	}
	hint := formatHint(a.kind, idx)
	r := gw.newRule(kind, t.name, t.name+" wants "+a.name+" as "+hint, 1, m)
	v := gw.rng.IntN(3)
	allowed := strings.Join(a.values, ", ")
	r.check = func(e *Env, act Action, _ *PlanStep) *StepError {
		if !t.covers(act.Tool) || kinds[a.kind].Detect(act.Args[a.name]) == idx {
			return nil
		}
		var msg string
		switch {
		case kind == RuleEnumCase && v < 2:
			msg = fmt.Sprintf("invalid value %q for %s: expected one of %s", act.Args[a.name], a.name, allowed)
		case kind == RuleEnumCase:
			msg = fmt.Sprintf("%s must be one of [%s] (case-sensitive), got '%s'", a.name, allowed, act.Args[a.name])
		case v == 0:
			msg = fmt.Sprintf("invalid %s %q: expected %s", a.name, act.Args[a.name], hint)
		case v == 1:
			msg = fmt.Sprintf("field '%s' has the wrong format (%s); use %s", a.name, act.Args[a.name], hint)
		default:
			msg = fmt.Sprintf("could not interpret %s=%s", a.name, act.Args[a.name])
		}
		return ruleFail(e, r, act, catInvalid, msg)
	}
}

// enumCase: a label is compared case-sensitively.
func (gw *genWorld) enumCase(f *gFamily) bool {
	if gw.sharedKind[KindLabel] {
		return false
	}
	t := gw.pickTool(f.all(), func(t *gTool) bool { return !t.read })
	if t == nil {
		return false
	}
	a := t.hasAttr("priority")
	if a == nil {
		a = t.hasAttr("channel")
	}
	if a == nil {
		a = gw.addAttr(t, pick(gw.rng, []string{"priority", "channel"}))
	}
	if a == nil || gw.used[t.name+"."+a.name] {
		return false
	}
	gw.strictArg(RuleEnumCase, t, a, 0, Mistake{Op: OpFormat, Arg: a.name})
	return true
}

// maxLen: a note has a maximum length.
func (gw *genWorld) maxLen(f *gFamily) bool {
	if gw.sharedKind[KindMemo] {
		return false
	}
	t := gw.pickTool(f.all(), func(t *gTool) bool { return !t.read })
	if t == nil {
		return false
	}
	a := gw.addAttr(t, "note")
	if a == nil || gw.used[t.name+"."+a.name] {
		return false
	}
	gw.used[t.name+"."+a.name] = true
	gw.maxLenRule(t, []*gArg{a}, 40+gw.rng.IntN(25))
	return true
}

// maxLenRule limits the notes of tool t (nil: of every tool) to n
// characters.
func (gw *genWorld) maxLenRule(t *gTool, args []*gArg, n int) {
	tool := "*"
	if t != nil {
		tool = t.name
	}
	doc := fmt.Sprintf("%s limits notes to %d characters", tool, n)
	r := gw.newRule(RuleMaxLen, tool, doc, 1, Mistake{Op: OpFormat, Arg: args[0].name})
	v := gw.rng.IntN(2)
	r.check = func(e *Env, act Action, _ *PlanStep) *StepError {
		if t != nil && !t.covers(act.Tool) {
			return nil
		}
		for _, as := range e.w.tools[act.Tool].Args {
			if as.Kind != KindMemo || len(act.Args[as.Name]) <= n {
				continue
			}
			msg := fmt.Sprintf("%s exceeds the maximum length of %d characters (got %d)", as.Name, n, len(act.Args[as.Name]))
			if v == 1 {
				msg = fmt.Sprintf("field '%s' too long: %d > %d", as.Name, len(act.Args[as.Name]), n)
			}
			return ruleFail(e, r, act, catInvalid, msg)
		}
		return nil
	}
}

// multiFormat reports whether arguments of the kind can be written in
// several ways a format rule can tell apart.
func multiFormat(kind string) bool {
	switch kind {
	case KindDate, KindMoney, KindTimestamp, KindWeight, KindDuration, KindPercent, KindVersion, KindID:
		return true
	}
	return false
}

// formatRule: an argument must be written one way.
func (gw *genWorld) formatRule(f *gFamily) bool {
	for _, t := range gw.shuffled(f.all()) {
		var cands []*gArg
		if t.ent != nil && gw.rng.IntN(4) == 0 {
			cands = append(cands, &gArg{name: t.ent.idArg, kind: KindID})
		}
		for _, a := range t.args {
			if multiFormat(a.kind) && a.src == srcAttr {
				cands = append(cands, a)
			}
		}
		for _, a := range cands {
			if gw.sharedKind[a.kind] || gw.used[t.name+"."+a.name] {
				continue
			}
			idx := 0
			if a.kind != KindID && gw.rng.Float64() < 0.35 {
				idx = 1 + gw.rng.IntN(len(kinds[a.kind].Formats)-1)
			}
			gw.strictArg(RuleFormat, t, a, idx, Mistake{Op: OpFormat, Arg: a.name})
			return true
		}
	}
	return false
}

// context: an argument must carry the user's value (currency, region…)
// where an agent that ignores the context writes a default.
func (gw *genWorld) context(f *gFamily) bool {
	t := gw.pickTool(append(f.writes(), gw.notify), func(t *gTool) bool { return true })
	cw := contextTable[gw.rng.IntN(len(contextTable))]
	for _, a := range t.args {
		if a.field == cw.field {
			return false
		}
	}
	name := gw.nm.argName(pick(gw.rng, cw.names))
	if t.arg(name) != nil {
		return false
	}
	a := &gArg{name: name, kind: cw.kind, src: srcContext, field: cw.field, def: cw.def}
	t.args = append(t.args, a)
	gw.used[t.name+"."+name] = true
	r := gw.newRule(RuleContext, t.name, t.name+" needs the user's "+cw.field+" in "+name, 2, Mistake{Op: OpContext, Arg: name})
	v := gw.rng.IntN(2)
	r.check = func(e *Env, act Action, st *PlanStep) *StepError {
		if !t.covers(act.Tool) || st == nil || kinds[cw.kind].Equivalent(act.Args[name], st.Natural[name]) {
			return nil
		}
		msg := fmt.Sprintf("%s %s does not match the account settings of %s", name, act.Args[name], e.t.User.ID)
		if v == 1 {
			msg = fmt.Sprintf("%s '%s' not allowed for this customer (%s tier, region %s)", name, act.Args[name], e.t.User.Tier, e.t.User.Region)
		}
		return ruleFail(e, r, act, catPermission, msg)
	}
	return true
}

// crossArg: a pair of dates must be in order.
func (gw *genWorld) crossArg(f *gFamily) bool {
	t := gw.pickTool(f.writes(), func(t *gTool) bool { return t.ordered[0] == "" })
	if t == nil {
		return false
	}
	pw := pairWords[gw.rng.IntN(len(pairWords))]
	first, second := gw.nm.argName(pw[0]), gw.nm.argName(pw[1])
	if t.arg(first) != nil || t.arg(second) != nil {
		return false
	}
	t.args = append(t.args, &gArg{name: first, kind: KindDate, src: srcStart}, &gArg{name: second, kind: KindDate, src: srcEnd})
	t.ordered = [2]string{first, second}
	gw.used[t.name+"."+first], gw.used[t.name+"."+second] = true, true
	r := gw.newRule(RuleCrossArg, t.name, t.name+" needs "+second+" after "+first, 2, Mistake{Op: OpOrder, Arg: second})
	v := gw.rng.IntN(2)
	r.check = func(e *Env, a Action, _ *PlanStep) *StepError {
		if !t.covers(a.Tool) {
			return nil
		}
		s, ok1 := dateISO(a.Args[first])
		en, ok2 := dateISO(a.Args[second])
		if !ok1 || !ok2 || en >= s {
			return nil
		}
		msg := fmt.Sprintf("%s %s is before %s %s", second, a.Args[second], first, a.Args[first])
		if v == 1 {
			msg = fmt.Sprintf("invalid range: %s must not precede %s (%s < %s)", second, first, a.Args[second], a.Args[first])
		}
		return ruleFail(e, r, a, catInvalid, msg)
	}
	return true
}
