package sim

import "fmt"

// RuleKind classifies hidden rules.
type RuleKind string

// Rule kinds, as the benchmark issue lists them.
const (
	RulePrecondition RuleKind = "precondition" // a step the agent may skip is required first
	RuleFormat       RuleKind = "format"       // an argument must be written one way
	RuleDeprecated   RuleKind = "deprecated"   // a tool was replaced
	RuleOrdering     RuleKind = "ordering"     // two plan steps must run in order
	RuleQuota        RuleKind = "quota"        // a call may not be repeated
	RuleContext      RuleKind = "context"      // depends on the user or the task's context
	RuleDrift        RuleKind = "drift"        // changes behaviour at an episode index
	// Kinds only generated worlds draw.
	RuleState    RuleKind = "state"      // an entity's state makes a tool fail for it alone
	RuleLimit    RuleKind = "limit"      // a numeric argument above a limit fails: split the call
	RuleCrossArg RuleKind = "cross_arg"  // two arguments must agree (an end after its start)
	RuleCopy     RuleKind = "copy"       // a value must be copied from an earlier read's observation
	RuleRename   RuleKind = "rename"     // an argument was renamed: the old name is unknown
	RuleEnumCase RuleKind = "enum_case"  // an enum is compared case-sensitively
	RuleMaxLen   RuleKind = "max_length" // a text argument has a maximum length
)

// RuleKinds lists every rule kind, the generated worlds' included.
var RuleKinds = []RuleKind{
	RulePrecondition, RuleFormat, RuleDeprecated, RuleOrdering, RuleQuota, RuleContext, RuleDrift,
	RuleState, RuleLimit, RuleCrossArg, RuleCopy, RuleRename, RuleEnumCase, RuleMaxLen,
}

// Error classes the tools answer with, as an API's error type would.
const (
	ClassInvalidArgument    = "InvalidArgument"
	ClassFailedPrecondition = "FailedPrecondition"
	ClassNotFound           = "NotFound"
	ClassGone               = "Gone"
	ClassResourceExhausted  = "ResourceExhausted"
	ClassPermissionDenied   = "PermissionDenied"
	ClassAborted            = "Aborted"
)

// Mistake ops: the agent mistakes a rule punishes.
const (
	OpFormat  = "format"  // an argument in another format
	OpLegacy  = "legacy"  // the tool's Alt name
	OpSkip    = "skip"    // an aux step left out
	OpSwap    = "swap"    // a step done before the one that must precede it
	OpRepeat  = "repeat"  // a read called again
	OpContext = "context" // an argument's context-free Default
	OpState   = "state"   // the usual tool, or no extra step, for an entity whose state needs one
	OpMerge   = "merge"   // one call with the whole value instead of the split calls
	OpOrder   = "order"   // an ordered pair of arguments written the other way round
	OpGuess   = "guess"   // a value guessed instead of copied from an observation
	OpAlias   = "alias"   // an argument's old name
)

// Mistake names the agent mistake a rule punishes, and so its fix: write the
// argument the canonical way, use the current tool, do the aux step first,
// keep the order, do not repeat, or use the context's value.
type Mistake struct {
	Op   string
	Arg  string // for format and context
	Tool string // for skip: the aux tool; for swap: the tool that must come first
}

// Rule is a hidden rule of the world.
type Rule struct {
	ID      string
	Family  string
	Kind    RuleKind
	Tool    string // the tool whose calls it rejects (for a migration, the old tool)
	Doc     string
	Fatal   bool // the violation ends the episode
	DriftAt int  // episode the rule drifts at; 0 when it never does
	Mistake Mistake

	prio        int // check order: tool, format, context value, order, quota
	check       func(e *Env, a Action, st *PlanStep) *StepError
	driftArg    string
	driftFormat int
	driftTool   string
}

// StepError is a tool's error answer.
type StepError struct {
	Rule    string // the hidden rule; "" for documented validation errors
	Class   string
	Message string
	Fatal   bool
	// Transient marks a fault that has nothing to do with the call (a 5xx,
	// a timeout, a rate limit): the same call retried works. Agents read it
	// from the error text as a person would.
	Transient bool
}

func (e *StepError) Error() string { return e.Class + ": " + e.Message }

// msgFunc writes a rule's error message. It receives the action, its target
// plan step (nil when the call matches none) and the env for trace numbers.
type msgFunc func(e *Env, a Action, st *PlanStep) string

func (r *Rule) fail(class string, msg string) *StepError {
	return &StepError{Rule: r.ID, Class: class, Message: msg, Fatal: r.Fatal}
}

// strictFormat: tool's arg must be written in the natural format.
func strictFormat(id, tool, arg, doc string, msg msgFunc) *Rule {
	r := &Rule{ID: id, Kind: RuleFormat, Tool: tool, Doc: doc, prio: 1, Mistake: Mistake{Op: OpFormat, Arg: arg}}
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if a.Tool != tool {
			return nil
		}
		if e.argFormat(tool, arg, a.Args[arg]) != e.w.formatAt(tool, arg, e.t.Episode) {
			return r.fail(ClassInvalidArgument, msg(e, a, st))
		}
		return nil
	}
	return r
}

// driftFormat: tool's arg must be in format 0 before the drift and in format
// next after it.
func driftFormat(id, tool, arg string, next int, doc string, before, after msgFunc) *Rule {
	r := &Rule{ID: id, Kind: RuleDrift, Tool: tool, Doc: doc, prio: 1, Mistake: Mistake{Op: OpFormat, Arg: arg},
		driftArg: arg, driftFormat: next}
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if a.Tool != tool {
			return nil
		}
		if e.argFormat(tool, arg, a.Args[arg]) == e.w.formatAt(tool, arg, e.t.Episode) {
			return nil
		}
		if e.w.drifted(id, e.t.Episode) {
			return r.fail(ClassInvalidArgument, after(e, a, st))
		}
		return r.fail(ClassInvalidArgument, before(e, a, st))
	}
	return r
}

// deprecated: calls to legacy fail; its ToolSpec.Alt names the replacement.
func deprecated(id, legacy, doc string, msg msgFunc) *Rule {
	r := &Rule{ID: id, Kind: RuleDeprecated, Tool: legacy, Doc: doc, prio: 0, Mistake: Mistake{Op: OpLegacy}}
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if a.Tool == legacy {
			return r.fail(ClassGone, msg(e, a, st))
		}
		return nil
	}
	return r
}

// driftTool: before the drift next is not available yet; after it old is
// retired.
func driftTool(id, old, next, doc string, before, after msgFunc) *Rule {
	r := &Rule{ID: id, Kind: RuleDrift, Tool: old, Doc: doc, prio: 0, Mistake: Mistake{Op: OpLegacy}, driftTool: next}
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		drifted := e.w.drifted(id, e.t.Episode)
		switch {
		case a.Tool == next && !drifted:
			return r.fail(ClassNotFound, before(e, a, st))
		case a.Tool == old && drifted:
			return r.fail(ClassGone, after(e, a, st))
		}
		return nil
	}
	return r
}

// requires: a call to one of tools needs an earlier successful call to need
// about the same keys, when cond holds (nil cond: always). It models
// preconditions (need is an aux step), ordering constraints (need is a main
// step) and context-dependent preconditions.
func requires(id string, kind RuleKind, tools []string, need string, keys []string, cond func(e *Env, st *PlanStep) bool,
	class, doc string, msg msgFunc) *Rule {
	op := OpSkip
	if kind == RuleOrdering {
		op = OpSwap
	}
	r := &Rule{ID: id, Kind: kind, Tool: tools[0], Doc: doc, prio: 3, Mistake: Mistake{Op: op, Tool: need}}
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if st == nil || !contains(tools, a.Tool) || (cond != nil && !cond(e, st)) {
			return nil
		}
		if e.did(need, keys, st) == 0 {
			return r.fail(class, msg(e, a, st))
		}
		return nil
	}
	return r
}

// quota: each target of tool may be called successfully once per task.
func quota(id, tool, doc string, msg msgFunc) *Rule {
	r := &Rule{ID: id, Kind: RuleQuota, Tool: tool, Doc: doc, prio: 4, Mistake: Mistake{Op: OpRepeat}}
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if a.Tool != tool || st == nil {
			return nil
		}
		if e.callsTo(st) >= 1 {
			return r.fail(ClassResourceExhausted, msg(e, a, st))
		}
		return nil
	}
	return r
}

// contextValue: tool's arg must carry the value the user's or task's context
// dictates (the plan step's natural value), when cond holds.
func contextValue(id, tool, arg string, cond func(e *Env, st *PlanStep) bool, class, doc string, msg msgFunc) *Rule {
	r := &Rule{ID: id, Kind: RuleContext, Tool: tool, Doc: doc, prio: 2, Mistake: Mistake{Op: OpContext, Arg: arg}}
	r.check = func(e *Env, a Action, st *PlanStep) *StepError {
		if a.Tool != tool || st == nil || (cond != nil && !cond(e, st)) {
			return nil
		}
		spec, _ := e.w.tools[tool].Arg(arg)
		if !kinds[spec.Kind].Equivalent(a.Args[arg], st.Natural[arg]) {
			return r.fail(class, msg(e, a, st))
		}
		return nil
	}
	return r
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// nat returns a natural value of the target step, or the raw argument when
// the call targets no step.
func nat(a Action, st *PlanStep, arg string) string {
	if st != nil {
		if v, ok := st.Natural[arg]; ok {
			return v
		}
	}
	return a.Args[arg]
}

// msgf builds a msgFunc from a format whose verbs are filled, in order, by
// the named sources: "arg:x" the raw argument x, "nat:x" its natural value,
// "param:x" a task parameter, "user" the user id, "trace" a fresh number.
func msgf(format string, sources ...string) msgFunc {
	return func(e *Env, a Action, st *PlanStep) string {
		vals := make([]any, len(sources))
		for i, s := range sources {
			switch {
			case s == "trace":
				vals[i] = e.trace()
			case s == "user":
				vals[i] = e.t.User.ID
			case len(s) > 4 && s[:4] == "arg:":
				vals[i] = a.Args[s[4:]]
			case len(s) > 4 && s[:4] == "nat:":
				vals[i] = nat(a, st, s[4:])
			case len(s) > 6 && s[:6] == "param:":
				vals[i] = e.t.Params[s[6:]]
			default:
				vals[i] = s
			}
		}
		return fmt.Sprintf(format, vals...)
	}
}
