package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
)

// ArgSpec describes one typed argument of a tool.
type ArgSpec struct {
	Name string
	Kind string // a Kind* constant
	// Key marks the arguments that say which entity the call acts on; the
	// world uses them to tell "the right call with a bad detail" from "a
	// call about something else".
	Key bool
	// Default is what an agent writes when it ignores the user's or task's
	// context (for example USD as the currency); "" when there is none.
	Default string
	// Alias is an older name of the argument that agents trained on
	// older documentation still write; "" when there is none. Only a
	// rename rule makes the API refuse it.
	Alias string
}

// ToolSpec is a tool as its documentation presents it to the agent.
type ToolSpec struct {
	Name   string
	Family string
	Doc    string
	Args   []ArgSpec
	// Read marks idempotent reads and polls, which agents tend to call again.
	Read bool
	// Alt is the other name of the tool in a deprecation or migration pair
	// (an agent trained on older docs may use it); "" when there is none.
	Alt string
	// Ordered names two arguments whose values must be in order (a start
	// and an end); agents sometimes write them the other way round. Both
	// are "" when the tool has no such pair.
	Ordered [2]string
}

// Arg returns the spec of the named argument.
func (t ToolSpec) Arg(name string) (ArgSpec, bool) {
	for _, a := range t.Args {
		if a.Name == name {
			return a, true
		}
	}
	return ArgSpec{}, false
}

// User is the person a task is done for. Context rules read the tier and the
// region; the agent sees them in the task text.
type User struct {
	ID        string
	Tier      string // standard, enterprise, corporate
	Region    string // us, eu, apac
	Currency  string
	Residency string
}

// PlanStep is one step of a task's reference solution.
type PlanStep struct {
	Action  Action            // canonical call under the rules in force
	Natural map[string]string // natural value of each argument
	// Aux marks steps only a hidden rule makes necessary (a precondition);
	// agents are prone to skip them.
	Aux  bool
	Rule string // the rule that demands an aux step
	// Usual is the tool an agent reaches for by habit when the plan needs
	// another one for this entity (its state calls for a special tool);
	// "" when there is none.
	Usual string
	// Reveal is what a successful call of the step shows besides its
	// confirmation: the entity's status, a version token. Later steps may
	// need those values (From).
	Reveal map[string]string
	// From maps an argument to the plan step whose observation reveals its
	// value: before that step is done the agent can only guess it.
	From map[string]int
	// Whole and Split mark the first of a group of calls that split one
	// value (Whole, natural) of argument Split over several calls because
	// of a limit; an agent may write the whole value in one call.
	Whole string
	Split string
}

// Task is one episode's job: text for the agent, parameters placeholders
// resolve against, and the reference shortest solution.
type Task struct {
	ID      string
	Episode int
	Family  string
	Text    string
	User    User
	Long    bool
	Params  map[string]string // natural values
	Plan    []PlanStep
	// Entities holds hidden facts about the task's entities, by natural
	// id: their status and the tokens reads reveal. Generated worlds'
	// rules read it; nil in the hand-written world.
	Entities map[string]map[string]string
}

// Config sets up a world.
type Config struct {
	Seed uint64
	// DriftAt is the episode index from which drift rules apply their new
	// behaviour; 0 means never.
	DriftAt int
	// DriftStagger spaces the drift rules apart: the i-th drifts at
	// DriftAt + i*DriftStagger.
	DriftStagger int
	// Users is the size of the user pool tasks draw from (default 30).
	Users int
}

// Long-horizon and short task bands, in reference steps.
const (
	MinSteps     = 10
	LongMinSteps = 30
	MaxSteps     = 60
)

// World is the deterministic universe of tools, families and hidden rules.
// It is immutable after construction and safe for concurrent use.
type World struct {
	cfg      Config
	families []*family
	byName   map[string]*family
	tools    map[string]ToolSpec
	rules    []*Rule
	users    []User
	// drift tables, filled from the drift rules
	fmtDrift  map[string]int    // "tool.arg" -> format index after drift
	toolDrift map[string]string // old tool -> new tool after drift
	driftAt   map[string]int    // rule id -> episode
	// fmtFixed holds the format a strict format rule requires when it is
	// not the kind's natural one ("tool.arg" -> format index).
	fmtFixed map[string]int
	// gen is what only generated worlds have (error styles, transient
	// faults, observations); nil for the hand-written world.
	gen *genInfo
	// tasks caches a generated world's tasks by episode spec: every arm
	// and agent of a benchmark plays the same schedule.
	tasks sync.Map
}

// family is a task family: its tools, rules and task template.
type family struct {
	name     string
	tools    []ToolSpec
	rules    []*Rule
	minUnits int
	maxUnits int
	build    func(b *builder, units int)
}

// NewWorld builds the world for a seed.
func NewWorld(cfg Config) *World {
	if cfg.Users <= 0 {
		cfg.Users = 30
	}
	w := &World{
		cfg: cfg, byName: map[string]*family{}, tools: map[string]ToolSpec{},
		fmtDrift: map[string]int{}, toolDrift: map[string]string{}, driftAt: map[string]int{}, fmtFixed: map[string]int{},
	}
	for _, f := range []*family{
		bookingFamily(), refundsFamily(), deployFamily(), pipelineFamily(),
		accountFamily(), billingFamily(), incidentFamily(), inventoryFamily(),
	} {
		w.families = append(w.families, f)
		w.byName[f.name] = f
		for _, t := range f.tools {
			t.Family = f.name
			w.tools[t.Name] = t
		}
		for _, r := range f.rules {
			r.Family = f.name
			w.rules = append(w.rules, r)
		}
	}
	w.setupDrift()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x05e75))
	w.users = makeUsers(rng, cfg.Users, "USR")
	return w
}

// setupDrift fills the drift tables from the drift rules.
func (w *World) setupDrift() {
	nDrift := 0
	for _, r := range w.rules {
		if r.Kind != RuleDrift {
			continue
		}
		if w.cfg.DriftAt > 0 {
			w.driftAt[r.ID] = w.cfg.DriftAt + nDrift*w.cfg.DriftStagger
		}
		nDrift++
		if r.driftArg != "" {
			w.fmtDrift[r.Tool+"."+r.driftArg] = r.driftFormat
		}
		if r.driftTool != "" {
			w.toolDrift[r.Tool] = r.driftTool
		}
	}
}

// makeUsers draws the user pool: ids with the prefix, a tier, a region and
// the region's currency.
func makeUsers(rng *rand.Rand, n int, prefix string) []User {
	var out []User
	for i := range n {
		u := User{ID: fmt.Sprintf("%s-%05d", prefix, 10000+rng.IntN(90000)+i)}
		switch x := rng.Float64(); {
		case x < 0.6:
			u.Tier = "standard"
		case x < 0.85:
			u.Tier = "enterprise"
		default:
			u.Tier = "corporate"
		}
		switch x := rng.Float64(); {
		case x < 0.45:
			u.Region, u.Currency, u.Residency = "us", "USD", "us"
		case x < 0.8:
			u.Region, u.Currency, u.Residency = "eu", pick(rng, []string{"EUR", "EUR", "GBP"}), "eu"
		default:
			u.Region, u.Currency, u.Residency = "apac", pick(rng, []string{"AUD", "JPY", "SGD"}), "apac"
		}
		out = append(out, u)
	}
	return out
}

// Families returns the family names in a fixed order.
func (w *World) Families() []string {
	out := make([]string, len(w.families))
	for i, f := range w.families {
		out[i] = f.name
	}
	return out
}

// Tools returns every tool the agent knows, sorted by name.
func (w *World) Tools() []ToolSpec {
	out := make([]ToolSpec, 0, len(w.tools))
	for _, t := range w.tools {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Tool returns the spec of a tool.
func (w *World) Tool(name string) (ToolSpec, bool) {
	t, ok := w.tools[name]
	return t, ok
}

// Rules returns the hidden rules, for tests and reports. The agent never
// reads them.
func (w *World) Rules() []Rule {
	out := make([]Rule, len(w.rules))
	for i, r := range w.rules {
		out[i] = *r
		out[i].DriftAt = w.driftAt[r.ID]
	}
	return out
}

// Users returns the user pool.
func (w *World) Users() []User { return slices.Clone(w.users) }

// drifted reports whether the drift rule has switched by episode ep.
func (w *World) drifted(ruleID string, ep int) bool {
	at, ok := w.driftAt[ruleID]
	return ok && ep >= at
}

// toolAt returns the tool a plan uses at episode ep for a tool name, after a
// migration drift.
func (w *World) toolAt(tool string, ep int) string {
	next, ok := w.toolDrift[tool]
	if !ok {
		return tool
	}
	for _, r := range w.rules {
		if r.Kind == RuleDrift && r.Tool == tool && r.driftTool != "" && w.drifted(r.ID, ep) {
			return next
		}
	}
	return tool
}

// formatAt returns the format index a tool argument requires at episode ep.
func (w *World) formatAt(tool, arg string, ep int) int {
	idx, ok := w.fmtDrift[tool+"."+arg]
	if !ok {
		return w.fmtFixed[tool+"."+arg]
	}
	for _, r := range w.rules {
		if r.Kind == RuleDrift && r.Tool == tool && r.driftArg == arg && w.drifted(r.ID, ep) {
			return idx
		}
	}
	return 0
}

// EpisodeSpec says which task an episode plays. Arms share the same specs,
// so they see the same tasks and agent noise.
type EpisodeSpec struct {
	Index  int
	Family string
	Long   bool
	Seed   uint64
}

// NewTask generates the task of an episode. The same spec always yields the
// same task.
func (w *World) NewTask(spec EpisodeSpec) (*Task, error) {
	if w.gen != nil {
		if t, ok := w.tasks.Load(spec); ok {
			return t.(*Task), nil
		}
	}
	f, ok := w.byName[spec.Family]
	if !ok {
		return nil, fmt.Errorf("sim: unknown family %q", spec.Family)
	}
	lo, hi := MinSteps, LongMinSteps-1
	if spec.Long {
		lo, hi = LongMinSteps, MaxSteps
	}
	pickRng := rand.New(rand.NewPCG(spec.Seed, 0x71c4))
	if w.gen != nil {
		if t := w.bandTask(f, spec, lo, hi, pickRng); t != nil {
			t.Long = len(t.Plan) >= LongMinSteps
			w.tasks.Store(spec, t)
			return t, nil
		}
	}
	var fits []int
	for u := f.minUnits; u <= f.maxUnits; u++ {
		if n := len(w.build(f, spec, u).Plan); n >= lo && n <= hi {
			fits = append(fits, u)
		}
	}
	if len(fits) == 0 {
		return nil, fmt.Errorf("sim: family %s has no task of %d-%d steps", f.name, lo, hi)
	}
	t := w.build(f, spec, fits[pickRng.IntN(len(fits))])
	t.Long = len(t.Plan) >= LongMinSteps
	if w.gen != nil {
		w.tasks.Store(spec, t)
	}
	return t, nil
}

// bandTask finds a generated task's unit counts whose plans fit [lo, hi]
// by bisection: its units come first from the same draws whatever their
// number, so its plan grows with them. It returns nil when the pick does
// not fit after all, and NewTask then scans every count.
func (w *World) bandTask(f *family, spec EpisodeSpec, lo, hi int, pickRng *rand.Rand) *Task {
	built := map[int]*Task{}
	get := func(u int) *Task {
		if t, ok := built[u]; ok {
			return t
		}
		t := w.build(f, spec, u)
		built[u] = t
		return t
	}
	n := func(u int) int { return len(get(u).Plan) }
	// first count reaching lo, and last count within hi
	a, b := f.minUnits, f.maxUnits+1
	for a < b {
		m := (a + b) / 2
		if n(m) >= lo {
			b = m
		} else {
			a = m + 1
		}
	}
	first := a
	a, b = f.minUnits-1, f.maxUnits
	for a < b {
		m := (a + b + 1) / 2
		if n(m) <= hi {
			a = m
		} else {
			b = m - 1
		}
	}
	last := a
	if first > last {
		return nil
	}
	t := get(first + pickRng.IntN(last-first+1))
	if len(t.Plan) < lo || len(t.Plan) > hi {
		return nil
	}
	return t
}

func (w *World) build(f *family, spec EpisodeSpec, units int) *Task {
	rng := rand.New(rand.NewPCG(w.cfg.Seed^spec.Seed, uint64(spec.Index)+1))
	b := &builder{w: w, rng: rng, ep: spec.Index, t: &Task{
		ID: fmt.Sprintf("ep-%05d", spec.Index), Episode: spec.Index, Family: f.name,
		User: w.users[rng.IntN(len(w.users))], Params: map[string]string{},
	}}
	f.build(b, units)
	return b.t
}

// builder helps a family template write a plan.
type builder struct {
	w    *World
	rng  *rand.Rand
	ep   int
	t    *Task
	text []string
}

// param records a task parameter and returns its value.
func (b *builder) param(name, v string) string {
	b.t.Params[name] = v
	return v
}

// id draws a fresh id such as ORD-48213.
func (b *builder) id(prefix string, digits int) string {
	lo := 1
	for range digits - 1 {
		lo *= 10
	}
	return fmt.Sprintf("%s-%d", prefix, lo+b.rng.IntN(9*lo))
}

func (b *builder) money(lo, hi int) string {
	return fmt.Sprintf("%d.%02d", lo+b.rng.IntN(hi-lo), b.rng.IntN(4)*25)
}

func (b *builder) date() string {
	return fmt.Sprintf("2025-%02d-%02d", 1+b.rng.IntN(12), 1+b.rng.IntN(28))
}

// step appends a main step; args alternate name, natural value.
func (b *builder) step(tool string, args ...string) { b.add(false, "", tool, args) }

// aux appends a step that rule makes necessary.
func (b *builder) aux(rule, tool string, args ...string) { b.add(true, rule, tool, args) }

func (b *builder) add(aux bool, rule, tool string, args []string) {
	spec, ok := b.w.tools[tool]
	if !ok || len(args)%2 != 0 {
		panic("sim: bad plan step " + tool)
	}
	name := b.w.toolAt(tool, b.ep)
	ps := PlanStep{Action: Action{Tool: name, Args: map[string]string{}}, Natural: map[string]string{}, Aux: aux, Rule: rule}
	for i := 0; i < len(args); i += 2 {
		a, ok := spec.Arg(args[i])
		if !ok {
			panic("sim: " + tool + " has no argument " + args[i])
		}
		ps.Natural[a.Name] = args[i+1]
		ps.Action.Args[a.Name] = kinds[a.Kind].Render(b.w.formatAt(tool, a.Name, b.ep), args[i+1])
	}
	b.t.Plan = append(b.t.Plan, ps)
}

// say sets the task text from parts; the user's profile is appended because
// agents see who they work for.
func (b *builder) say(format string, args ...any) {
	u := b.t.User
	b.t.Text = fmt.Sprintf(format, args...) + fmt.Sprintf(" [user %s, %s tier, region %s, currency %s]", u.ID, u.Tier, u.Region, u.Currency)
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// pickN returns n distinct elements of xs in random order.
func pickN[T any](rng *rand.Rand, xs []T, n int) []T {
	idx := rng.Perm(len(xs))
	out := make([]T, 0, n)
	for _, i := range idx[:min(n, len(xs))] {
		out = append(out, xs[i])
	}
	return out
}
