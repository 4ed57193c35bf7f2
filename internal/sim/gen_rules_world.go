package sim

import "fmt"

// Rules that hold across tools (world-wide formats, lengths and cases) and
// the drift, which changes a rule at an episode.

// sharedRules draws one or two rules that hold for every tool: every date
// in one format, every label case-sensitive, every note within a length.
func (gw *genWorld) sharedRules() {
	for _, i := range gw.rng.Perm(3)[:1+gw.rng.IntN(2)] {
		switch i {
		case 0:
			kind := pick(gw.rng, []string{KindDate, KindMoney, KindTimestamp, KindDuration})
			if gw.countKind(kind) < 2 {
				continue
			}
			idx := 0
			if gw.rng.Float64() < 0.3 {
				idx = 1 + gw.rng.IntN(len(kinds[kind].Formats)-1)
			}
			gw.sharedFormat(kind, idx)
		case 1:
			if gw.countKind(KindLabel) < 2 {
				continue
			}
			gw.sharedKind[KindLabel] = true
			gw.sharedFormat(KindLabel, 0)
		case 2:
			if gw.countKind(KindMemo) < 2 {
				continue
			}
			gw.sharedKind[KindMemo] = true
			gw.maxLenRule(nil, []*gArg{{name: "*"}}, 40+gw.rng.IntN(25))
		}
	}
}

func (gw *genWorld) countKind(kind string) int {
	n := 0
	for _, t := range gw.order {
		for _, a := range t.args {
			if a.kind == kind {
				n++
			}
		}
	}
	return n
}

// sharedFormat: every argument of the kind, in every tool, in format idx.
// Arguments of the kind added later fall under it too.
func (gw *genWorld) sharedFormat(kind string, idx int) {
	gw.sharedKind[kind] = true
	hint := formatHint(kind, idx)
	gw.sharedFmt = append(gw.sharedFmt, sharedFmt{kind, idx})
	r := gw.newRule(RuleFormat, "*", "every "+kind+" argument is written as "+hint, 1, Mistake{Op: OpFormat, Arg: "*"})
	if kind == KindLabel {
		r.Kind = RuleEnumCase
	}
	v := gw.rng.IntN(2)
	r.check = func(e *Env, act Action, _ *PlanStep) *StepError {
		for _, as := range e.w.tools[act.Tool].Args {
			if as.Kind != kind || kinds[kind].Detect(act.Args[as.Name]) == idx {
				continue
			}
			msg := fmt.Sprintf("invalid %s %q: expected %s", as.Name, act.Args[as.Name], hint)
			if v == 1 {
				msg = fmt.Sprintf("%s: unsupported %s format '%s' (this API only accepts %s)", as.Name, kind, act.Args[as.Name], hint)
			}
			return ruleFail(e, r, act, catInvalid, msg)
		}
		return nil
	}
}

type sharedFmt struct {
	kind string
	idx  int
}

// drift: one rule changes at an episode: an argument's format or a tool's
// name.
func (gw *genWorld) drift() {
	if gw.rng.IntN(2) == 0 && gw.driftFormat() {
		return
	}
	if !gw.driftTool() {
		gw.driftFormat()
	}
}

func (gw *genWorld) driftFormat() bool {
	for _, t := range gw.shuffled(gw.order) {
		if t.argsOf != nil {
			continue
		}
		for _, a := range t.args {
			if !multiFormat(a.kind) || a.src != srcAttr || gw.sharedKind[a.kind] || gw.used[t.name+"."+a.name] {
				continue
			}
			gw.used[t.name+"."+a.name] = true
			next := 1 + gw.rng.IntN(len(kinds[a.kind].Formats)-1)
			before, after := formatHint(a.kind, 0), formatHint(a.kind, next)
			r := gw.newRule(RuleDrift, t.name, fmt.Sprintf("%s's %s changes from %s to %s", t.name, a.name, before, after), 1, Mistake{Op: OpFormat, Arg: a.name})
			r.driftArg, r.driftFormat = a.name, next
			id := r.ID
			r.check = func(e *Env, act Action, _ *PlanStep) *StepError {
				if act.Tool != t.name || e.argFormat(t.name, a.name, act.Args[a.name]) == e.w.formatAt(t.name, a.name, e.t.Episode) {
					return nil
				}
				want := before
				if e.w.drifted(id, e.t.Episode) {
					want = after
				}
				return ruleFail(e, r, act, catInvalid, fmt.Sprintf("invalid %s %q: expected %s", a.name, act.Args[a.name], want))
			}
			return true
		}
	}
	return false
}

func (gw *genWorld) driftTool() bool {
	t := gw.pickTool(gw.order, func(t *gTool) bool {
		return t.rules == 0 && t.alt == "" && t.argsOf == nil && len(t.pres) == 0 && t.state == nil && t.limit == nil && t.reader == nil && !t.pinned
	})
	if t == nil || gw.toolCount() >= maxTools {
		return false
	}
	noun := "user"
	if t.ent != nil {
		noun = t.ent.noun
	}
	next := gw.nm.toolName(fmt.Sprintf(pick(gw.rng, renameStyles), t.verb), noun)
	if gw.tools[next] != nil {
		return false
	}
	t.alt = next
	r := gw.newRule(RuleDrift, t.name, t.name+" is renamed "+next, 0, Mistake{Op: OpLegacy})
	r.driftTool = next
	id := r.ID
	r.check = func(e *Env, a Action, _ *PlanStep) *StepError {
		drifted := e.w.drifted(id, e.t.Episode)
		switch {
		case a.Tool == next && !drifted:
			return ruleFail(e, r, a, catNotFound, e.w.gen.phrase.unknownTool(next))
		case a.Tool == t.name && drifted:
			return ruleFail(e, r, a, catGone, fmt.Sprintf("%s was renamed to %s", t.name, next))
		}
		return nil
	}
	return true
}
