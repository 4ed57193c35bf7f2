package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// inst is one entity of a task: its natural id, its parameter name and its
// facts (status, token).
type inst struct {
	ent    *gEntity
	id     string
	param  string
	status string
	token  string
}

// planner writes a task's plan from a family template, applying the rules
// of the tools it calls: the aux steps they need, the special tool an
// entity's state calls for, the read a copied value comes from, the split
// calls a limit demands. The reference plan so written runs without a
// deterministic error.
type planner struct {
	gw      *genWorld
	b       *builder
	main    *inst
	seen    map[string]bool // the natural calls already in the plan
	pre     map[string]bool // aux steps already in the plan, by tool and scope
	readIdx map[string]int  // plan index of the read of an entity, by tool and id
	vals    map[string]string
}

func (f *gFamily) buildFunc(gw *genWorld) func(b *builder, units int) {
	return func(b *builder, units int) {
		p := &planner{gw: gw, b: b, seen: map[string]bool{}, pre: map[string]bool{}, readIdx: map[string]int{}, vals: map[string]string{}}
		b.t.Entities = map[string]map[string]string{}
		p.main = p.instance(f.main, strings.ReplaceAll(f.main.noun, ".", "_"))
		var us []*inst
		for i := range units {
			us = append(us, p.instance(f.unit, fmt.Sprintf("%s_%d", f.unit.noun, i+1)))
		}
		for _, t := range f.header {
			p.emit(t, p.main)
		}
		for _, u := range us {
			for _, t := range f.block {
				p.emit(t, u)
			}
		}
		for _, t := range f.trailer {
			p.emit(t, p.main)
		}
		ids := make([]string, len(us))
		for i, u := range us {
			ids[i] = u.id
		}
		b.say("%s %s %s: %d %s (%s).", f.purpose, strings.ReplaceAll(f.main.noun, "_", " "), p.main.id, units,
			strings.ReplaceAll(plural(f.unit.noun), "_", " "), strings.Join(ids, ", "))
	}
}

// instance draws an entity of the task.
func (p *planner) instance(e *gEntity, param string) *inst {
	b := p.b
	var id string
	for {
		id = b.id(e.prefix, e.digits)
		if _, dup := b.t.Entities[id]; !dup {
			break
		}
	}
	in := &inst{ent: e, id: b.param(param, id), param: param, status: e.normal}
	facts := map[string]string{}
	if e.state != "" {
		if b.rng.Float64() < e.stateShare {
			in.status = e.state
		}
		facts["status"] = in.status
	}
	if e.token != nil {
		in.token = b.param(param+"_"+e.token.name, fmt.Sprintf("%s_%06d", e.token.prefix, b.rng.IntN(1000000)))
		facts[e.token.name] = in.token
	}
	b.t.Entities[id] = facts
	return in
}

// emit appends the calls of tool t on entity in, with what its rules need.
func (p *planner) emit(t *gTool, in *inst) {
	if t.ent == nil {
		in = &inst{id: p.b.t.User.ID, param: "user"}
	}
	from := map[string]int{}
	if t.reader != nil {
		r := p.read(t.reader, in)
		if tok := t.ent.token; tok != nil && t.arg(tok.name) != nil {
			from[tok.name] = r
		}
	}
	tool, usual := t, ""
	if s := t.state; s != nil && in.status == in.ent.state {
		if s.fix != nil {
			p.emitOne(s.fix, in, true, s.rule, nil)
		} else {
			tool, usual = s.alt, t.name
		}
	}
	for _, pr := range t.pres {
		if pr.cond != nil && !pr.cond(p.b.t.User) {
			continue
		}
		if k := pr.tool.name + "|" + in.id; !p.pre[k] {
			p.pre[k] = true
			if pr.aux {
				p.emitOne(pr.tool, in, true, pr.rule, nil)
			} else {
				p.emit(pr.tool, in)
			}
		}
	}
	args := p.args(t, in)
	if lim := t.limit; lim != nil {
		if parts := p.split(t.arg(lim.arg), args[lim.arg], lim.limit); len(parts) > 1 {
			whole := args[lim.arg]
			for j, part := range parts {
				args[lim.arg] = part
				if i := p.emitArgs(tool, args, false, "", from, usual); i >= 0 && j == 0 {
					p.b.t.Plan[i].Whole, p.b.t.Plan[i].Split = whole, lim.arg
				}
			}
			return
		}
	}
	p.emitArgs(tool, args, false, "", from, usual)
}

// read makes sure the read of in is in the plan and returns its index.
func (p *planner) read(r *gTool, in *inst) int {
	k := r.name + "|" + in.id
	if i, ok := p.readIdx[k]; ok {
		return i
	}
	return p.emitOne(r, in, false, "", nil)
}

func (p *planner) emitOne(t *gTool, in *inst, aux bool, rule string, from map[string]int) int {
	return p.emitArgs(t, p.args(t, in), aux, rule, from, "")
}

// emitArgs appends one call with natural arguments unless the very call is
// in the plan already, and returns its index (-1 when skipped).
func (p *planner) emitArgs(t *gTool, args map[string]string, aux bool, rule string, from map[string]int, usual string) int {
	flat := make([]string, 0, 2*len(args))
	for _, k := range slices.Sorted(mapsKeys(args)) {
		flat = append(flat, k, args[k])
	}
	key := t.name + "(" + strings.Join(flat, "\x00") + ")"
	if p.seen[key] {
		return -1
	}
	p.seen[key] = true
	if aux {
		p.b.aux(rule, t.name, flat...)
	} else {
		p.b.step(t.name, flat...)
	}
	i := len(p.b.t.Plan) - 1
	st := &p.b.t.Plan[i]
	st.Usual = usual
	if len(from) > 0 {
		st.From = from
	}
	if t.read && t.ent != nil {
		id := args[t.ent.idArg]
		p.readIdx[t.name+"|"+id] = i
		facts := p.b.t.Entities[id]
		if len(facts) > 0 {
			st.Reveal = map[string]string{}
			for k, v := range facts {
				st.Reveal[k] = v
			}
		}
	}
	return i
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// args draws the natural arguments of a call of t on in. Values are drawn
// once per task, tool and entity, so a call written twice is the same call.
func (p *planner) args(t *gTool, in *inst) map[string]string {
	src := t
	if t.argsOf != nil {
		src = t.argsOf
	}
	out := map[string]string{}
	key := p.gw.userArg
	if t.ent != nil {
		key = t.ent.idArg
	}
	out[key] = in.id
	for _, a := range src.args {
		out[a.name] = p.value(src, a, in)
	}
	return out
}

func (p *planner) value(t *gTool, a *gArg, in *inst) string {
	k := t.name + "|" + a.name + "|" + in.id
	if v, ok := p.vals[k]; ok {
		return v
	}
	b, u := p.b, p.b.t.User
	var v string
	switch a.src {
	case srcContext:
		v = userValue(u, a.field)
	case srcToken:
		v = in.token
	case srcStart, srcEnd:
		start := time.Date(2025, time.Month(1+b.rng.IntN(12)), 1+b.rng.IntN(28), 0, 0, 0, 0, time.UTC)
		end := start.AddDate(0, 0, 1+b.rng.IntN(20))
		s, e := start.Format("2006-01-02"), end.Format("2006-01-02")
		names := t.ordered
		p.vals[t.name+"|"+names[0]+"|"+in.id] = b.param(in.param+"_"+names[0], s)
		p.vals[t.name+"|"+names[1]+"|"+in.id] = b.param(in.param+"_"+names[1], e)
		return p.vals[k]
	default:
		v = p.draw(a, in)
	}
	p.vals[k] = v
	if a.src != srcContext {
		b.param(in.param+"_"+a.name, v)
	}
	return v
}

// userValue is the value a context argument must carry for user u.
func userValue(u User, field string) string {
	switch field {
	case "currency":
		return u.Currency
	case "region":
		return u.Region
	case "residency":
		return u.Residency
	case "method":
		if u.Tier == "corporate" {
			return "invoice"
		}
		return "card"
	}
	return ""
}

// draw draws a natural value of an argument's kind.
func (p *planner) draw(a *gArg, in *inst) string {
	rng := p.b.rng
	switch a.kind {
	case KindMoney:
		return centsText(a.lo + rng.IntN(a.hi-a.lo+1))
	case KindInt:
		return strconv.Itoa(a.lo + rng.IntN(a.hi-a.lo+1))
	case KindDate:
		return p.b.date()
	case KindTimestamp:
		return fmt.Sprintf("2025-%02d-%02dT%02d:%02d:00Z", 1+rng.IntN(12), 1+rng.IntN(28), 7+rng.IntN(12), 15*rng.IntN(4))
	case KindEmail:
		return pick(rng, genFirst) + "." + pick(rng, genLast) + "@" + pick(rng, mailHosts)
	case KindMemo:
		return pick(rng, memoTexts)
	case KindLabel, KindEnum:
		return pick(rng, a.values)
	case KindWeight:
		return fmt.Sprintf("%d.%02d", 1+rng.IntN(900), rng.IntN(100))
	case KindDuration:
		if rng.IntN(2) == 0 {
			return fmt.Sprintf("%dm", 5*(1+rng.IntN(18)))
		}
		return fmt.Sprintf("%dh", 1+rng.IntN(12))
	case KindPercent:
		return strconv.Itoa(5 + rng.IntN(46))
	case KindVersion:
		return fmt.Sprintf("%d.%d.%d", 1+rng.IntN(9), rng.IntN(30), rng.IntN(50))
	case KindToken:
		return fmt.Sprintf("%s_%06d", a.prefix, rng.IntN(1000000))
	case KindCode:
		return pick(rng, []string{"ABC", "XYZ", "KLM", "QRS"})
	}
	return in.id
}

// split divides a value above limit into distinct parts within it, in the
// value's natural form; a value within the limit is one part. The parts
// are drawn around the mean, so that no two calls of the plan are equal.
func (p *planner) split(a *gArg, v string, limit int) []string {
	n := numericValue(a.kind, v)
	if n <= limit {
		return []string{v}
	}
	rng := p.b.rng
	var parts []int
	for k := max(2, (n+limit-1)/limit); parts == nil; k++ {
		for try := 0; try < 50 && parts == nil; try++ {
			avg := n / k
			spread := max(1, avg/5)
			cand, sum := make([]int, 0, k), 0
			for range k - 1 {
				x := min(limit, avg-spread+rng.IntN(2*spread+1))
				cand, sum = append(cand, x), sum+x
			}
			last := n - sum
			if last < 1 || last > limit {
				continue
			}
			cand = append(cand, last)
			if distinct(cand) {
				parts = cand
			}
		}
	}
	out := make([]string, len(parts))
	for i, x := range parts {
		if a.kind == KindMoney {
			out[i] = centsText(x)
		} else {
			out[i] = strconv.Itoa(x)
		}
	}
	return out
}

func distinct(xs []int) bool {
	for i := range xs {
		if slices.Contains(xs[i+1:], xs[i]) {
			return false
		}
	}
	return true
}

// numericValue reads a money amount (in cents) or an integer in any format
// of its kind; -1 when it cannot.
func numericValue(kind, v string) int {
	switch kind {
	case KindMoney:
		switch kinds[KindMoney].Detect(v) {
		case 0:
			whole, frac, _ := strings.Cut(v, ".")
			w, err1 := strconv.Atoi(whole)
			f, err2 := strconv.Atoi(frac)
			if err1 != nil || err2 != nil {
				return -1
			}
			return 100*w + f
		case 1:
			c, err := strconv.Atoi(v)
			if err != nil {
				return -1
			}
			return c
		case 2:
			return numericValue(KindMoney, moneyDecimal(strings.TrimPrefix(v, "$")))
		}
	case KindInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}

func moneyDecimal(s string) string {
	if !strings.Contains(s, ".") {
		return s + ".00"
	}
	return s
}
