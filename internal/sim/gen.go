package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// GenConfig tunes generated worlds. The zero value is the benchmark's
// default.
type GenConfig struct {
	// Transient is the share of calls that fail with a transient fault (a
	// 5xx, a timeout, a rate limit) whatever the call (0: 0.05; negative:
	// none).
	Transient float64
	// DriftAt is the episode from which the world's drift rules apply their
	// new behaviour (0: never).
	DriftAt int
	// Drifts is how many drift rules the world has (0: one; negative: none).
	Drifts int
	// Users is the size of the user pool (0: 30).
	Users int
	// MinRules and MaxRules bound the rules drawn per task family, besides
	// the world-wide ones (0: 3 and 4).
	MinRules, MaxRules int
}

func (c GenConfig) withDefaults() GenConfig {
	switch {
	case c.Transient == 0:
		c.Transient = 0.05
	case c.Transient < 0:
		c.Transient = 0
	}
	switch {
	case c.Drifts == 0:
		c.Drifts = 1
	case c.Drifts < 0:
		c.Drifts = 0
	}
	if c.Users <= 0 {
		c.Users = 30
	}
	if c.MinRules <= 0 {
		c.MinRules = 3
	}
	if c.MaxRules < c.MinRules {
		c.MaxRules = max(c.MinRules, 4)
	}
	return c
}

// Generate builds a random world from seed: a domain, its entity types,
// 15 to 30 tools named in one of several styles, 5 to 8 task families whose
// plans take 10 to 60 steps, one to three error styles, hidden rules of
// every kind with random parameters (some world-wide, most on one family's
// tools), transient faults and a drift. Everything follows from the seed;
// the same seed and config always give the same world. The world plays
// with the same Agent, Env and Run as the hand-written one.
func Generate(seed uint64, cfg GenConfig) *World {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(seed, 0x6e17))
	w := &World{
		cfg:    Config{Seed: seed, DriftAt: cfg.DriftAt, Users: cfg.Users},
		byName: map[string]*family{}, tools: map[string]ToolSpec{},
		fmtDrift: map[string]int{}, toolDrift: map[string]string{}, driftAt: map[string]int{}, fmtFixed: map[string]int{},
	}
	dom := domains[rng.IntN(len(domains))]
	g := &genInfo{domain: dom.name, transient: cfg.Transient, toolStyle: map[string]*errStyle{}, phrase: newPhrasebook(rng),
		entityArg: map[string]string{}, obsForm: rng.IntN(3)}
	for range 1 + rng.IntN(3) {
		g.styles = append(g.styles, newErrStyle(rng))
	}
	w.gen = g
	gw := &genWorld{w: w, rng: rng, cfg: cfg, dom: dom, nm: newNaming(rng), tools: map[string]*gTool{},
		sharedKind: map[string]bool{}, used: map[string]bool{}}
	gw.entities()
	gw.userPfx = distinctPrefix(rng, dom.userPfx, gw.prefixes)
	gw.userArg = gw.nm.argName(pick(rng, []string{"customer", "user", "requester", "client"}) + "_" + gw.nm.idSfx)
	g.entityArg[gw.userArg] = "user"
	gw.families()
	gw.sharedRules()
	for _, f := range gw.fams {
		n := cfg.MinRules + rng.IntN(cfg.MaxRules-cfg.MinRules+1)
		gw.localRules(f, n)
	}
	for range cfg.Drifts {
		gw.drift()
	}
	gw.finish()
	w.setupDrift()
	w.users = makeUsers(rand.New(rand.NewPCG(seed, 0x05e75)), cfg.Users, gw.userPfx)
	return w
}

// Domain is the business domain a generated world was drawn from ("" for
// the hand-written world).
func (w *World) Domain() string {
	if w.gen == nil {
		return ""
	}
	return w.gen.domain
}

// Seed is the seed the world was built from.
func (w *World) Seed() uint64 { return w.cfg.Seed }

// Generated reports whether the world came from Generate.
func (w *World) Generated() bool { return w.gen != nil }

// genWorld is the state of a world under construction.
type genWorld struct {
	w        *World
	rng      *rand.Rand
	cfg      GenConfig
	dom      domainWords
	nm       naming
	ents     []*gEntity
	tools    map[string]*gTool
	order    []*gTool // creation order, for determinism
	fams     []*gFamily
	prefixes map[string]bool
	userPfx  string
	userArg  string
	notify   *gTool
	readVerb string
	nRule    int
	// sharedKind marks kinds a world-wide format rule governs; used marks
	// "tool.arg" slots a rule already governs, so rules never conflict.
	sharedKind map[string]bool
	sharedFmt  []sharedFmt
	used       map[string]bool
}

// gEntity is an entity type.
type gEntity struct {
	noun   string
	prefix string
	digits int
	idArg  string
	states []stateWords
	attrs  []string
	style  *errStyle
	// ops are the operations the world's tools do on the entity, each with
	// its verb, and aux the verb of the extra step a precondition needs:
	// families working on the same entity share those tools.
	ops    []string
	verbs  map[string]string
	auxVrb string
	// set by rules: the special state some instances are in, and the
	// token reads reveal
	state      string
	stateShare float64
	normal     string
	token      *gArg
}

// gArg is a non-key argument and where its value comes from.
type gArg struct {
	name   string
	kind   string
	src    int
	attr   string   // attrTable key
	field  string   // the User field of a context argument
	def    string   // its context-free default
	values []string // enum and label values
	lo, hi int      // numeric range (cents for money)
	alias  string
	prefix string // token prefix
}

// Where an argument's value comes from.
const (
	srcAttr    = iota // drawn per task from the kind
	srcContext        // the user's context
	srcToken          // revealed by a read of the entity
	srcStart          // the first of an ordered pair
	srcEnd            // the second
)

// gTool is a tool under construction.
type gTool struct {
	name    string
	verb    string
	ent     *gEntity // nil: the tool's key is the user
	read    bool
	args    []*gArg
	alt     string
	ordered [2]string
	argsOf  *gTool // a state rule's special tool shares the tool's arguments
	// hooks the planner applies
	pres   []*gPre
	state  *gState
	limit  *gLimit
	reader *gTool // the read whose observation reveals the entity's status and token
	rules  int
	prereq bool // another tool's ordering rule needs this one first
	aux    bool // the planner writes it as a rule's extra step
	// twins are the tools that share this one's arguments (a state rule's
	// special tool): its argument rules hold for them too.
	twins  []string
	pinned bool // another tool's rule names it (aux, fix, prerequisite, read): it keeps its name
}

// gPre is a step a rule needs before a tool's call on the same entity: an
// aux step (a precondition) or a main step of the plan (an ordering).
type gPre struct {
	rule string
	tool *gTool
	aux  bool
	cond func(User) bool
}

type gState struct {
	rule string
	fix  *gTool // the step that clears the state first, or
	alt  *gTool // the tool to use instead
}

type gLimit struct {
	rule  string
	arg   string
	limit int
}

// gFamily is a task family's template: steps on the main entity, a block
// per unit, closing steps.
type gFamily struct {
	name    string
	purpose string
	main    *gEntity
	unit    *gEntity
	header  []*gTool
	block   []*gTool
	trailer []*gTool
}

func (gw *genWorld) entities() {
	gw.prefixes = map[string]bool{}
	for _, ew := range gw.dom.entities {
		e := &gEntity{noun: pick(gw.rng, ew.nouns), digits: ew.digits, states: ew.states, attrs: ew.attrs,
			normal: pick(gw.rng, []string{"active", "open", "ok", "ready"})}
		e.prefix = distinctPrefix(gw.rng, ew.prefixes, gw.prefixes)
		e.idArg = gw.nm.idArg(e.noun)
		e.style = pick(gw.rng, gw.w.gen.styles)
		e.ops = pickN(gw.rng, opOrder, 3)
		e.verbs = map[string]string{}
		for _, op := range e.ops {
			e.verbs[op] = pick(gw.rng, opVerbs[op])
		}
		e.auxVrb = pick(gw.rng, auxVerbs)
		gw.w.gen.entityArg[e.idArg] = e.noun
		gw.ents = append(gw.ents, e)
	}
}

// tool returns the tool verb+noun, creating it on first use: families that
// need the same operation share the tool.
func (gw *genWorld) tool(verb string, e *gEntity, read bool) *gTool {
	noun := "user"
	if e != nil {
		noun = e.noun
	}
	name := gw.nm.toolName(verb, noun)
	if t, ok := gw.tools[name]; ok {
		return t
	}
	t := &gTool{name: name, verb: verb, ent: e, read: read}
	gw.tools[name] = t
	gw.order = append(gw.order, t)
	return t
}

// attrArg makes an argument for an attrTable entry.
func (gw *genWorld) attrArg(key string) *gArg {
	aw := attrTable[key]
	a := &gArg{name: gw.nm.argName(pick(gw.rng, aw.names)), kind: aw.kind, src: srcAttr, attr: key, values: aw.values}
	switch aw.kind {
	case KindMoney:
		a.lo, a.hi = 1000, 60000+gw.rng.IntN(120000)
	case KindInt:
		a.lo, a.hi = 1, 4+gw.rng.IntN(6)
	case KindToken:
		a.prefix = "ref"
	}
	return a
}

// maxTools caps a world's tools, twins (deprecated and renamed names)
// included; rules that would add a tool beyond it are not placed.
const maxTools = 30

// toolCount counts the world's tools so far, twins included.
func (gw *genWorld) toolCount() int {
	n := len(gw.tools)
	for _, t := range gw.order {
		if t.alt != "" && gw.tools[t.alt] == nil {
			n++
		}
	}
	return n
}

// covers reports whether calls of tool fall under t's argument rules.
func (t *gTool) covers(tool string) bool { return tool == t.name || slices.Contains(t.twins, tool) }

func (t *gTool) arg(name string) *gArg {
	for _, a := range t.args {
		if a.name == name {
			return a
		}
	}
	return nil
}

// hasAttr returns the tool's argument for an attrTable key.
func (t *gTool) hasAttr(key string) *gArg {
	for _, a := range t.args {
		if a.attr == key {
			return a
		}
	}
	return nil
}

// addAttr gives t an argument for key unless it has one (or one of the
// same name).
func (gw *genWorld) addAttr(t *gTool, key string) *gArg {
	if a := t.hasAttr(key); a != nil {
		return a
	}
	a := gw.attrArg(key)
	if t.arg(a.name) != nil || (t.ent != nil && a.name == t.ent.idArg) {
		return nil
	}
	t.args = append(t.args, a)
	return a
}

func (gw *genWorld) families() {
	n := 5 + gw.rng.IntN(4)
	names := map[string]bool{}
	gw.readVerb = pick(gw.rng, readVerbs)
	readVerb := gw.readVerb
	gw.notify = gw.tool(pick(gw.rng, notifyVerb), nil, false)
	gw.notify.args = []*gArg{gw.attrArg(pick(gw.rng, []string{"email", "channel"}))}
	for tries := 0; len(gw.fams) < n && tries < 100; tries++ {
		perm := gw.rng.Perm(len(gw.ents))
		main, unit := gw.ents[perm[0]], gw.ents[perm[1]]
		name := strings.ReplaceAll(main.noun+"-"+plural(unit.noun), "_", "-")
		if names[name] {
			continue
		}
		if gw.toolCount() >= 18 && len(gw.fams) >= 5 {
			break
		}
		names[name] = true
		f := &gFamily{name: name, purpose: pick(gw.rng, gw.dom.purposes), main: main, unit: unit}
		f.header = append(f.header, gw.tool(readVerb, main, true))
		if gw.rng.IntN(2) == 0 {
			f.block = append(f.block, gw.tool(readVerb, unit, true))
		}
		for _, op := range pickN(gw.rng, unit.ops, 1+gw.rng.IntN(2)) {
			f.block = append(f.block, gw.writeTool(op, unit))
		}
		f.trailer = append(f.trailer, gw.writeTool(pick(gw.rng, main.ops), main))
		if gw.rng.IntN(2) == 0 {
			f.trailer = append(f.trailer, gw.notify)
		}
		gw.fams = append(gw.fams, f)
	}
}

// writeTool returns a write tool for an operation on e, with one or two of
// the entity's attributes as arguments when it is new.
func (gw *genWorld) writeTool(op string, e *gEntity) *gTool {
	t := gw.tool(e.verbs[op], e, false)
	if len(t.args) == 0 {
		for _, key := range pickN(gw.rng, e.attrs, 1+gw.rng.IntN(2)) {
			gw.addAttr(t, key)
		}
	}
	return t
}

// finish turns the tools and families into the World's.
func (gw *genWorld) finish() {
	w := gw.w
	for _, t := range gw.order {
		spec := gw.spec(t)
		w.tools[t.name] = spec
		style := w.gen.styles[0]
		if t.ent != nil {
			style = t.ent.style
		}
		w.gen.toolStyle[t.name] = style
		if t.alt != "" {
			if _, ok := gw.tools[t.alt]; !ok {
				twin := spec
				twin.Name, twin.Alt, twin.Doc = t.alt, t.name, spec.Doc+" (older API)"
				w.tools[t.alt] = twin
				w.gen.toolStyle[t.alt] = style
			}
		}
	}
	for _, sf := range gw.sharedFmt {
		if sf.idx == 0 {
			continue
		}
		for _, t := range gw.order {
			src := t
			if t.argsOf != nil {
				src = t.argsOf
			}
			for _, a := range src.args {
				if a.kind == sf.kind {
					w.fmtFixed[t.name+"."+a.name] = sf.idx
				}
			}
		}
	}
	for _, t := range gw.order {
		if t.argsOf == nil {
			continue
		}
		for _, a := range t.argsOf.args {
			if idx, ok := w.fmtFixed[t.argsOf.name+"."+a.name]; ok {
				w.fmtFixed[t.name+"."+a.name] = idx
			}
		}
	}
	for _, f := range gw.fams {
		fam := &family{name: f.name, minUnits: 1, maxUnits: 1 + MaxSteps/len(f.block), build: f.buildFunc(gw)}
		for _, t := range slices.Concat(f.header, f.block, f.trailer) {
			fam.tools = append(fam.tools, w.tools[t.name])
		}
		w.families = append(w.families, fam)
		w.byName[f.name] = fam
	}
}

// spec is the documentation of a tool, as the agent sees it.
func (gw *genWorld) spec(t *gTool) ToolSpec {
	src := t
	if t.argsOf != nil {
		src = t.argsOf
	}
	noun, key := "user", gw.userArg
	if t.ent != nil {
		noun, key = t.ent.noun, t.ent.idArg
	}
	spec := ToolSpec{Name: t.name, Read: t.read, Alt: t.alt, Ordered: src.ordered,
		Doc: strings.ReplaceAll(t.verb+" a "+noun, "_", " "), Args: []ArgSpec{{Name: key, Kind: KindID, Key: true}}}
	for _, a := range src.args {
		spec.Args = append(spec.Args, ArgSpec{Name: a.name, Kind: a.kind, Default: a.def, Alias: a.alias})
	}
	return spec
}

// String describes a generated world in one line, for logs.
func (w *World) String() string {
	if w.gen == nil {
		return fmt.Sprintf("hand-written world (%d families, %d tools, %d rules)", len(w.families), len(w.tools), len(w.rules))
	}
	return fmt.Sprintf("%s world (%d families, %d tools, %d rules)", w.gen.domain, len(w.families), len(w.tools), len(w.rules))
}

// WorldSeeds derives n world seeds from one seed, so that a benchmark's
// worlds are never picked by hand.
func WorldSeeds(seed uint64, n int) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 0x3041d5))
	out := make([]uint64, n)
	for i := range out {
		out[i] = rng.Uint64()
	}
	return out
}
