package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/admem/admem"
)

// NoiseRates are the stand-in agent's mistake rates. Per-episode rates are
// drawn once per episode, because a language-model agent that writes a date
// one way tends to keep writing it that way.
type NoiseRates struct {
	Format  float64 // per episode and (tool, argument) with several formats: writes another format
	Context float64 // per episode and (tool, argument) with a Default: writes the Default
	Skip    float64 // per episode and aux step: leaves the step out
	Swap    float64 // per episode and adjacent pair of main steps: does them in the wrong order
	Legacy  float64 // per episode and tool with an Alt: calls the Alt
	Repeat  float64 // per turn after a successful read: calls it again
	Slip    float64 // per turn: writes one argument in a random format
	// Mistakes only generated worlds have a place for; the hand-written
	// world draws none of them.
	State float64 // per episode and tool an entity's state replaces: calls the usual tool
	Merge float64 // per episode and split group: writes the whole value in one call
	Order float64 // per episode and tool with an ordered pair: writes the pair the other way round
	Guess float64 // per episode and argument a read reveals: guesses it even after the read
	Alias float64 // per episode and argument with an old name: writes the old name
}

// AgentConfig is the stand-in agent's fixed policy. Every arm uses the same.
type AgentConfig struct {
	ID         string // the scope's AgentID
	Candidates int    // K candidate actions per step, the preferred one first
	Noise      NoiseRates
	// After an error the next preferred action is the reference action with
	// probability RetryFix (the agent worked it out), the failed action again
	// with RetrySame, and otherwise a fresh noisy attempt.
	RetryFix  float64
	RetrySame float64
	// InContext is the chance that, after an error, the agent stops making
	// that mistake for the rest of the episode (in-context learning).
	InContext float64
	// Heed is the chance the agent follows a recalled procedure or note.
	Heed float64
	// The step budget is the reference length plus BudgetMin plus
	// BudgetSlack × the reference length: a fixed allowance for mistakes
	// and a little more for longer tasks.
	BudgetSlack float64
	BudgetMin   int
	// MaxConsecutiveErrors ends the episode: the agent gives up.
	MaxConsecutiveErrors int
	// RecentSteps is how many recent steps the guard sees.
	RecentSteps int
	// Rethink: when the guard flags every candidate and gives no advice
	// the agent can take, it drafts fresh candidates once before taking
	// the least risky.
	Rethink bool
	// RetryTransient is the chance that, after an error it reads as
	// transient (a 5xx, a timeout, a rate limit), the agent retries the
	// very call.
	RetryTransient float64
	// Cautious makes the agent obey guard: it never takes a call guard
	// warned about or blocked, except guard's own suggestion for it, and
	// when every candidate, its rethought ones included, is flagged with
	// no suggestion it can use, it gives up (EndCautious). Memory advice
	// that failed does not make it distrust guard.
	Cautious bool
}

// DefaultAgentConfig is the benchmark's agent.
func DefaultAgentConfig() AgentConfig {
	return AgentConfig{
		ID: "sim-agent", Candidates: 3,
		Noise: NoiseRates{Format: 0.2, Context: 0.4, Skip: 0.5, Swap: 0.2, Legacy: 0.4, Repeat: 0.15, Slip: 0.06,
			State: 0.5, Merge: 0.5, Order: 0.4, Guess: 0.3, Alias: 0.4},
		RetryFix: 0.2, RetrySame: 0.3, InContext: 0.3, Heed: 0.9,
		BudgetSlack: 0.15, BudgetMin: 10, MaxConsecutiveErrors: 8, RecentSteps: 6,
		Rethink: true, RetryTransient: 0.8,
	}
}

// CautiousAgentConfig is the default agent made cautious (see
// AgentConfig.Cautious).
func CautiousAgentConfig() AgentConfig {
	c := DefaultAgentConfig()
	c.ID, c.Cautious = "sim-cautious-agent", true
	return c
}

// How an episode ended.
const (
	EndGoal   = "goal"    // the goal state was reached
	EndBudget = "budget"  // the step budget ran out
	EndFatal  = "fatal"   // a fatal error ended it
	EndGaveUp = "gave_up" // too many errors in a row
	// EndCautious: the cautious agent found every call it could make
	// flagged by guard, with no suggestion left to take.
	EndCautious = "cautious_stop"
)

// Considered is a candidate the guard judged.
type Considered struct {
	Action  Action
	Verdict Verdict
}

// GuardStats counts what the guard did in an episode.
type GuardStats struct {
	Calls     int // guard calls
	Warned    int // the preferred candidate was warned
	Blocked   int // the preferred candidate was blocked
	Suggested int // the agent took a suggestion
	Switched  int // the agent took another candidate
	Avoided   int // candidates dropped because a recalled note matched
	Rethought int // every candidate flagged: the agent drafted fresh ones
}

// FailedStep is one step that errored.
type FailedStep struct {
	Step  int
	Tool  string
	Error string
	Class string
	Rule  string // the hidden rule, for analysis only
	// Transient marks a transient fault (a 5xx, a timeout, a rate limit):
	// no mistake, the same call retried works.
	Transient bool
	// Pick is how the agent came to take the action (see the Pick*
	// constants) and Decision the guard's verdict on it ("" when the
	// guard gave none), to tell a mistake the guard missed from one it
	// flagged and the agent took anyway.
	Pick     string
	Decision Decision
	// Action is the call that failed, Risk and Cited the guard's risk and
	// cited error signatures for it (for a suggestion taken, those of the
	// candidate it replaced), Flagged how many of the step's candidates
	// the guard warned about or blocked, and Noted whether a recalled
	// note's correction put the action forward.
	Action  Action
	Risk    float64
	Cited   []string
	Flagged int
	Noted   bool
	Advice  string // the guard's suggestion for it, as sent, "" for none
	// Considered are the candidates the guard judged at the step, with
	// their verdicts, for diagnosis.
	Considered []Considered
	// Signature and Seen are filled by AnnotateHeld: Seen when a failure
	// with the same signature was in an earlier recorded episode. Held is
	// whether the memory held the mistake before the step: a mistake note
	// of the server when the benchmark can tell (MarkHeld), else Seen.
	Signature string
	Seen      bool
	Held      bool
}

// How the agent picked the action it took.
const (
	PickAllowed    = "allowed"     // the guard allowed its preferred candidate
	PickSwitched   = "switched"    // the guard allowed another candidate
	PickSuggested  = "suggested"   // it took a guard suggestion
	PickLeastRisky = "least_risky" // every candidate was flagged: it took the least risky
	PickDistrust   = "distrust"    // memory's advice had failed twice: it went its own way
	PickNoGuard    = "no_guard"    // the guard call failed
)

// TakenStep is the guard's verdict on the action the agent took at a step
// and how the step went, to measure the guard's risks against outcomes.
type TakenStep struct {
	Verdict   Verdict
	Pick      string // how the action was picked (Pick* constants)
	Failed    bool
	Transient bool // it failed with a transient fault
	// Needless: it called a tool with side effects that did nothing the
	// task needed (no step of the plan, or one already done), and worked.
	Needless bool
	// Foreign: the guard's suggestion behind it (PickSuggested) carried a
	// value of another task or user that the request did not hold.
	Foreign bool
}

// Episode is what the agent did on one task.
type Episode struct {
	Task         *Task
	Trajectory   admem.Trajectory
	Success      bool
	End          string
	Budget       int
	Guard        GuardStats
	Failures     []FailedStep
	MemoryErrors int // failed memory calls; the agent carries on without
	Taken        []TakenStep
	// Judged holds every candidate the guard judged, with the oracle's
	// answer, for the guard quality metrics.
	Judged []Judged
}

// Agent is the stand-in agent.
type Agent struct {
	cfg   AgentConfig
	world *World
	mem   Memory
	// lits tells a suggestion that carries another task's values; nil:
	// not checked.
	lits *Literals
}

// NewAgent returns an agent that works in w with mem.
func NewAgent(w *World, mem Memory, cfg AgentConfig) *Agent {
	if cfg.Candidates <= 0 {
		cfg.Candidates = 1
	}
	if cfg.MaxConsecutiveErrors <= 0 {
		cfg.MaxConsecutiveErrors = math.MaxInt
	}
	return &Agent{cfg: cfg, world: w, mem: mem}
}

// Budget is the number of steps the agent may take on a task.
func (a *Agent) Budget(t *Task) int {
	n := len(t.Plan)
	return n + a.cfg.BudgetMin + int(math.Ceil(a.cfg.BudgetSlack*float64(n)))
}

// Run plays one episode. rng drives every noisy choice, so the same rng seed
// and the same memory answers give the same episode. If record is false the
// trajectory is not sent to the memory (evaluation episodes).
func (a *Agent) Run(ctx context.Context, t *Task, rng *rand.Rand, record bool) (Episode, error) {
	r := newRun(a, t, rng)
	ep := Episode{Task: t, Budget: a.Budget(t)}
	if ea, ok := a.mem.(EnvAware); ok {
		ea.Begin(r.env)
	}
	scope := admem.Scope{AgentID: a.cfg.ID, UserID: t.User.ID, SessionID: t.ID}
	rec, err := a.mem.Recall(ctx, t.Text, scope)
	if err != nil {
		if ctx.Err() != nil {
			return ep, ctx.Err()
		}
		ep.MemoryErrors++
	}
	r.useRecall(rec.Items)

	for {
		switch {
		case r.env.Done():
			ep.Success, ep.End = true, EndGoal
		case r.env.Failed():
			ep.End = EndFatal
		case len(r.steps) >= ep.Budget:
			ep.End = EndBudget
		case r.consec >= a.cfg.MaxConsecutiveErrors:
			ep.End = EndGaveUp
		}
		if ep.End != "" {
			break
		}
		if err := ctx.Err(); err != nil {
			return ep, err
		}
		cands := r.avoidNoted(r.candidates(), &ep.Guard)
		act, err := r.choose(ctx, cands, &ep.Guard)
		if err != nil {
			if ctx.Err() != nil {
				return ep, ctx.Err()
			}
			ep.MemoryErrors++
		}
		if r.stop {
			ep.End = EndCautious
			break
		}
		needless := r.env.needless(act)
		obs, serr := r.env.Step(act)
		step := admem.Step{Index: len(r.steps), Action: act.Tool, Args: act.argsAny(), Observation: obs, Status: admem.StepOK}
		if serr != nil {
			step.Status, step.Error, step.ErrorType = admem.StepError, serr.Message, serr.Class
			ep.Failures = append(ep.Failures, FailedStep{Step: step.Index, Tool: act.Tool, Error: serr.Message, Class: serr.Class, Rule: serr.Rule,
				Transient: serr.Transient,
				Pick:      r.pick, Decision: r.decision, Action: act.Clone(), Risk: r.verdict.Risk, Cited: r.verdict.Cited, Flagged: r.flagged, Advice: advice(r.verdict),
				Noted: r.fromMemory[act.String()] && r.pick != PickSuggested, Considered: r.considered})
		}
		r.steps = append(r.steps, step)
		ep.Taken = append(ep.Taken, TakenStep{Verdict: r.verdict, Pick: r.pick, Failed: serr != nil, Transient: serr != nil && serr.Transient,
			Needless: needless && serr == nil, Foreign: r.pick == PickSuggested && r.takenForeign})
		r.observe(act, serr)
	}
	ep.Judged = r.judged

	outcome := admem.OutcomeFailure
	if ep.Success {
		outcome = admem.OutcomeSuccess
	}
	params := make(map[string]any, len(t.Params))
	for k, v := range t.Params {
		params[k] = v
	}
	ep.Trajectory = admem.Trajectory{
		Task: t.Text, Scope: scope, Steps: r.steps, Outcome: outcome,
		Metadata: map[string]any{"family": t.Family, "episode": t.Episode, "long": t.Long, "params": params},
	}
	if record {
		if err := a.mem.Record(ctx, ep.Trajectory); err != nil {
			if ctx.Err() != nil {
				return ep, ctx.Err()
			}
			ep.MemoryErrors++
		}
	}
	return ep, nil
}

func advice(v Verdict) string {
	if v.Suggestion == nil {
		return ""
	}
	return v.Suggestion.String()
}

// choose asks the guard about the candidates and picks the first allowed
// one, or the suggestion of the first one that is warned or blocked with a
// suggestion. When the guard flags them all and gives no advice the agent
// can take, the agent thinks again once (Rethink): it drafts fresh
// candidates for the step, as a language-model agent told that its options
// are known mistakes does, and asks about those. Failing that it takes the
// least risky of all.
func (r *run) choose(ctx context.Context, cands []Action, gs *GuardStats) (Action, error) {
	r.pick, r.decision, r.verdict, r.flagged, r.considered, r.takenForeign, r.foreignAt = PickNoGuard, "", Verdict{}, 0, nil, false, nil
	verdicts, err := r.ask(ctx, cands, gs)
	if err != nil {
		return cands[0], err
	}
	switch verdicts[0].Decision {
	case Warn:
		gs.Warned++
	case Block:
		gs.Blocked++
	}
	// An agent whose memory's advice failed twice in a row takes no more
	// suggestions until something works, but a warning still makes it
	// prefer a candidate the guard allows.
	distrust := r.distrust() && !r.a.cfg.Cautious
	if a, ok := r.pickFrom(cands, verdicts, 0, distrust, gs); ok {
		return a, nil
	}
	if r.a.cfg.Rethink {
		if more := r.draft(nil, r.a.cfg.Candidates, cands); len(more) > 0 {
			if mv, err := r.ask(ctx, more, gs); err == nil {
				gs.Rethought++
				if a, ok := r.pickFrom(more, mv, len(cands), distrust, gs); ok {
					return a, nil
				}
				cands, verdicts = append(cands, more...), append(verdicts, mv...)
			}
		}
	}
	if r.a.cfg.Cautious {
		r.stop = true
		return Action{}, nil
	}
	best := 0
	for i, v := range verdicts {
		if v.Risk < verdicts[best].Risk {
			best = i
		}
	}
	if best > 0 {
		gs.Switched++
	}
	r.pick, r.decision, r.verdict = PickLeastRisky, verdicts[best].Decision, verdicts[best]
	if distrust {
		r.pick = PickDistrust
	}
	return cands[best], nil
}

// ask sends candidates to the guard with the recent steps and counts the
// ones it flags.
func (r *run) ask(ctx context.Context, cands []Action, gs *GuardStats) ([]Verdict, error) {
	lo := max(0, len(r.steps)-r.a.cfg.RecentSteps)
	gs.Calls++
	r.reqText = ""
	verdicts, err := r.a.mem.Guard(ctx, r.task.Text, r.steps[lo:], cands)
	if err != nil || len(verdicts) != len(cands) {
		if err == nil {
			err = fmt.Errorf("sim: guard returned %d verdicts for %d candidates", len(verdicts), len(cands))
		}
		return nil, err
	}
	for i, v := range verdicts {
		if v.Decision == Warn || v.Decision == Block {
			r.flagged++
		}
		r.considered = append(r.considered, Considered{Action: cands[i], Verdict: v})
		r.judge(cands, i, v, lo)
	}
	return verdicts, nil
}

// pickFrom picks, among candidates the guard judged, the first allowed one,
// or the first usable suggestion for a flagged one; off is the candidates'
// position among all the agent considered at this step.
func (r *run) pickFrom(cands []Action, verdicts []Verdict, off int, distrust bool, gs *GuardStats) (Action, bool) {
	for i, v := range verdicts {
		if v.Decision == Allow || v.Decision == "" {
			r.pick, r.decision, r.verdict = PickAllowed, v.Decision, v
			if off+i > 0 {
				gs.Switched++
				r.pick = PickSwitched
			}
			return cands[i], true
		}
		if v.Suggestion == nil || distrust {
			continue
		}
		s, step, ok := r.groundStep(*v.Suggestion)
		// Advice about no step left in its plan (another task's call,
		// with that task's ids), or that, written for this task, is the
		// very call the guard flagged, says nothing the agent can act on.
		if !ok || step < 0 || s.Equal(cands[i]) {
			continue
		}
		// Advice to make the call it is about ("retry it: the same call
		// worked later", or another format of it) while an earlier step
		// of the plan is still undone reads as "not yet": the agent does
		// the earlier step first, as it writes it.
		if _, ref := r.next(); step >= 0 && ref >= 0 && ref < step {
			s = r.render(ref, false, false)
			// That call is the agent's own, not advice: when the guard
			// flagged it among the candidates, it looks further.
			if j := slices.IndexFunc(cands, s.Equal); j >= 0 && verdicts[j].Decision != Allow && verdicts[j].Decision != "" {
				continue
			}
		}
		if r.succeeded(s) || r.failed(s) {
			continue
		}
		gs.Suggested++
		r.fromMemory[s.String()] = true
		r.pick, r.decision, r.verdict = PickSuggested, "", v
		r.takenForeign = r.foreignAt[off+i]
		return s, true
	}
	return Action{}, false
}
