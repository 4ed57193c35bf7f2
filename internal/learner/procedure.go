// Package learner turns recorded trajectories into procedural memory:
// procedures distilled from successes (how to do a task, as a verbatim step
// list and an abstracted script) and mistake notes distilled from failed
// steps (what fails, how often, and what to do instead). Everything here is
// a pure, deterministic function of its input, so the worker can recompute
// a note or a procedure and get the same bytes; storage and scheduling live
// elsewhere. The trained model is in the adapter subpackage.
package learner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/signature"
)

// Similarity scores how alike two task texts are, from 0 (unrelated) to 1
// (the same task). It is a function so that an embedding cosine can replace
// the lexical default.
type Similarity func(a, b string) float64

// stopWords carry no task identity; without them every English instruction
// looks alike.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the and or but if then than to of in on at by for from with as is are was were be been
		being it its this that these those you your yours i me my we our he she his her they them their
		do does did not no so can could would should will shall may might must have has had am
		want wants also only just any all some such very there here what which who whom when where how
		into about up down out over after before don doesn didn isn aren wasn weren won couldn shouldn wouldn ll re ve`) {
		stopWords[w] = true
	}
}

// taskTokens returns the distinct content words of a task text, lowercased.
func taskTokens(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	}) {
		// One-letter tokens are mostly split contractions ("don't").
		if len(w) > 1 && !stopWords[w] {
			out[w] = true
		}
	}
	return out
}

// TokenJaccard is the default Similarity: the Jaccard index of the two
// texts' content words. Two empty texts are identical.
func TokenJaccard(a, b string) float64 {
	ta, tb := taskTokens(a), taskTokens(b)
	if len(ta) == 0 && len(tb) == 0 {
		return 1
	}
	inter := 0
	for w := range ta {
		if tb[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(ta)+len(tb)-inter)
}

// Param is a named placeholder in a procedure script: the value the agent
// must supply for this task, rendered as {name}.
type Param string

// ScriptStep is one step of an abstracted procedure. Args holds the
// constants every supporting trajectory agreed on, with Param values where
// they differed (at any depth of nested objects and lists).
type ScriptStep struct {
	Tool    string
	Args    map[string]any
	Support int // supporting trajectories that took this step
}

// Procedure is how-to knowledge distilled from successful trajectories of
// one task cluster.
type Procedure struct {
	ID      string
	Task    string   // task text of the trajectory the steps come from
	Tasks   []string // every distinct task text merged in, sorted
	Steps   []Action // verbatim successful steps of that trajectory
	Script  []ScriptStep
	Params  []string // placeholder names in order of first use
	Version int      // 1 when distilled, +1 per merge
	// Sources are the successful trajectories supporting the procedure;
	// FailedSources the failed ones of the same task cluster that took the
	// same tools in the same order and still failed. Each keeps the latest
	// MaxSources ids (Tasks the latest MaxTasks texts), so that what a
	// procedure weighs, and the cost of learning into it, stays bounded
	// however long its history; Support and Against count them all. (Every
	// version of a learned procedure also names the trajectory that made
	// it, which is where provenance reads the whole list.)
	Sources       []string
	FailedSources []string
	Support       int `json:",omitempty"`
	Against       int `json:",omitempty"`
}

// MaxSources and MaxTasks bound a procedure's lists of trajectory ids and
// task texts.
const (
	MaxSources = 32
	MaxTasks   = 8
)

// Successes is the number of supporting successful trajectories.
func (p Procedure) Successes() int { return max(p.Support, len(p.Sources)) }

// Failures is the number of failed trajectories that followed the procedure.
func (p Procedure) Failures() int { return max(p.Against, len(p.FailedSources)) }

// AddFailed counts a failed trajectory that followed the procedure (the
// caller checks it was not counted before).
func (p *Procedure) AddFailed(trajectoryID string) {
	n := p.Failures()
	var added int
	p.FailedSources, added = addCapped(p.FailedSources, []string{trajectoryID}, MaxSources)
	p.Against = n + added
}

// addCapped appends the elements of b that a does not hold, keeps the last
// n, and returns how many of b were new.
func addCapped(a, b []string, n int) ([]string, int) {
	out := slices.Clone(a)
	added := 0
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
			added++
		}
	}
	if len(out) > n {
		out = slices.Clone(out[len(out)-n:])
	}
	return out, added
}

// lastSorted keeps the last n of a sorted list.
func lastSorted(xs []string, n int) []string {
	if len(xs) <= n {
		return xs
	}
	return slices.Clone(xs[len(xs)-n:])
}

// Reliability is the Laplace-smoothed success rate of following the
// procedure, (s+1)/(s+f+2): one success alone gives 2/3, and evidence
// either way moves it towards the observed rate.
func (p Procedure) Reliability() float64 {
	s, f := float64(p.Successes()), float64(p.Failures())
	return (s + 1) / (s + f + 2)
}

// ProcedureOptions configures distillation and merging. The zero value
// uses TokenJaccard, DefaultMinSimilarity, DefaultMinReliability and
// DefaultIgnoredTools.
type ProcedureOptions struct {
	Similarity     Similarity
	MinSimilarity  float64  // tasks at least this similar share a procedure
	MinReliability float64  // below this a procedure is not preferred as the backbone
	IgnoreTools    []string // nil means DefaultIgnoredTools; empty means none
}

// Defaults for ProcedureOptions and MistakeOptions.
const (
	DefaultMinSimilarity  = 0.5
	DefaultMinReliability = 0.5
)

func (o ProcedureOptions) withDefaults() ProcedureOptions {
	if o.Similarity == nil {
		o.Similarity = TokenJaccard
	}
	if o.MinSimilarity == 0 {
		o.MinSimilarity = DefaultMinSimilarity
	}
	if o.MinReliability == 0 {
		o.MinReliability = DefaultMinReliability
	}
	return o
}

// DistillProcedures groups the successful trajectories by task similarity
// and distils one procedure per group: the shortest successful run is the
// backbone, and every other run of the group is aligned to it to decide
// which arguments are constants and which are parameters. Failed
// trajectories only count against the procedure they followed. The result
// does not depend on the order of trajs.
func DistillProcedures(trajs []admem.Trajectory, opt ProcedureOptions) []Procedure {
	opt = opt.withDefaults()
	ignore := ignoreSet(opt.IgnoreTools)
	sorted := slices.Clone(trajs)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })

	type cluster struct {
		rep     string
		members []admem.Trajectory
	}
	var clusters []*cluster
	for _, t := range sorted {
		if t.Outcome != admem.OutcomeSuccess || len(procedureSteps(t, ignore)) == 0 || instructed(t) {
			continue
		}
		if c := bestCluster(len(clusters), func(i int) string { return clusters[i].rep }, t.Task, opt); c >= 0 {
			clusters[c].members = append(clusters[c].members, t)
			continue
		}
		clusters = append(clusters, &cluster{rep: t.Task, members: []admem.Trajectory{t}})
	}

	out := make([]Procedure, 0, len(clusters))
	for _, c := range clusters {
		sort.SliceStable(c.members, func(i, j int) bool {
			li, lj := len(procedureSteps(c.members[i], ignore)), len(procedureSteps(c.members[j], ignore))
			if li != lj {
				return li < lj
			}
			return c.members[i].ID < c.members[j].ID
		})
		p := procedureFrom(c.members[0], ignore)
		for _, t := range c.members[1:] {
			other := procedureFrom(t, ignore)
			p.Script = fold(p.Script, other.Script)
			p.Sources = union(p.Sources, other.Sources)
			p.Tasks = union(p.Tasks, other.Tasks)
		}
		p.Params = params(p.Script)
		for _, t := range sorted {
			if t.Outcome == admem.OutcomeFailure && opt.Similarity(c.rep, t.Task) >= opt.MinSimilarity && follows(t, p, ignore) {
				p.FailedSources = union(p.FailedSources, []string{t.ID})
			}
		}
		if len(p.Sources) > MaxSources || len(p.FailedSources) > MaxSources {
			p.Support, p.Against = len(p.Sources), len(p.FailedSources)
		}
		p.Sources, p.FailedSources = lastSorted(p.Sources, MaxSources), lastSorted(p.FailedSources, MaxSources)
		p.Tasks = lastSorted(p.Tasks, MaxTasks)
		out = append(out, p)
	}
	return out
}

// instructed reports whether a step of t read or sent instruction-like
// content (judge.ClassifyInstruction): an observation that tries to
// instruct the agent may have steered every step after it, so the run
// teaches no procedure, and an argument holding such text would carry the
// instruction into the script.
func instructed(t admem.Trajectory) bool {
	for _, s := range t.Steps {
		if judge.ClassifyInstruction(s.Observation).Quarantine || judge.ClassifyInstruction(s.Error).Quarantine {
			return true
		}
		for _, v := range s.Args {
			if str, ok := v.(string); ok && judge.ClassifyInstruction(str).Quarantine {
				return true
			}
		}
	}
	return false
}

// bestCluster returns the index of the most similar of n representatives
// at or above the threshold, or -1; the lowest index wins ties.
func bestCluster(n int, rep func(int) string, task string, opt ProcedureOptions) int {
	best, bestSim := -1, 0.0
	for i := 0; i < n; i++ {
		if s := opt.Similarity(rep(i), task); s >= opt.MinSimilarity && s > bestSim {
			best, bestSim = i, s
		}
	}
	return best
}

// procedureSteps are the steps a procedure keeps: those that worked, of
// tools that act.
func procedureSteps(t admem.Trajectory, ignore map[string]bool) []admem.Step {
	var out []admem.Step
	for _, i := range usableSteps(t.Steps, ignore) {
		if !t.Steps[i].Failed() {
			out = append(out, t.Steps[i])
		}
	}
	return out
}

func procedureFrom(t admem.Trajectory, ignore map[string]bool) Procedure {
	steps := procedureSteps(t, ignore)
	p := Procedure{
		ID:      procedureID(t.Task, t.ID),
		Task:    t.Task,
		Tasks:   []string{t.Task},
		Version: 1,
		Sources: []string{t.ID},
	}
	for _, s := range steps {
		p.Steps = append(p.Steps, ActionOf(s))
		p.Script = append(p.Script, ScriptStep{Tool: s.Action, Args: deepCopy(s.Args).(map[string]any), Support: 1})
	}
	return p
}

func procedureID(task, trajectoryID string) string {
	h := sha256.Sum256([]byte(task + "\x00" + trajectoryID))
	return "proc-" + hex.EncodeToString(h[:8])
}

// follows reports whether t called the procedure's tools in the script's
// order (other calls in between allowed).
func follows(t admem.Trajectory, p Procedure, ignore map[string]bool) bool {
	k := 0
	for _, i := range usableSteps(t.Steps, ignore) {
		if k < len(p.Script) && t.Steps[i].Action == p.Script[k].Tool {
			k++
		}
	}
	return k == len(p.Script) && k > 0
}

// params lists the script's placeholders in order of first use, walking
// keys in sorted order so the list is deterministic.
func params(script []ScriptStep) []string {
	var out []string
	seen := map[Param]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case Param:
			if !seen[x] {
				seen[x] = true
				out = append(out, string(x))
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, s := range script {
		walk(s.Args)
	}
	return out
}

// deepCopy copies JSON-shaped values so scripts never alias a trajectory's
// argument maps.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// union returns the sorted distinct elements of a and b.
func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	sort.Strings(out)
	return slices.Compact(out)
}

// MergeProcedures merges two procedures of similar tasks. The backbone is
// the shortest reliable one (Reliability at least MinReliability; then
// fewer steps, higher reliability, more successes, smaller id); the other's
// script is folded into it. The result keeps existing's ID and has a
// version one above the higher of the two.
func MergeProcedures(existing, incoming Procedure, opt ProcedureOptions) Procedure {
	opt = opt.withDefaults()
	base, other := existing, incoming
	if preferred(incoming, existing, opt.MinReliability) {
		base, other = incoming, existing
	}
	out := Procedure{
		ID:      existing.ID,
		Task:    base.Task,
		Steps:   base.Steps,
		Script:  fold(base.Script, other.Script),
		Version: max(existing.Version, incoming.Version) + 1,
	}
	out.Tasks, _ = addCapped(existing.Tasks, incoming.Tasks, MaxTasks)
	// incoming's ids that existing already lists are counted once; ids
	// beyond either list cannot be compared, and need not be: the learner
	// counts each trajectory once (its event ledger).
	var added int
	out.Sources, added = addCapped(existing.Sources, incoming.Sources, MaxSources)
	out.Support = existing.Successes() + incoming.Successes() - (len(incoming.Sources) - added)
	out.FailedSources, added = addCapped(existing.FailedSources, incoming.FailedSources, MaxSources)
	out.Against = existing.Failures() + incoming.Failures() - (len(incoming.FailedSources) - added)
	out.Params = params(out.Script)
	return out
}

// preferred reports whether a is a better backbone than b.
func preferred(a, b Procedure, minRel float64) bool {
	ra, rb := a.Reliability(), b.Reliability()
	if (ra >= minRel) != (rb >= minRel) {
		return ra >= minRel
	}
	if len(a.Script) != len(b.Script) {
		return len(a.Script) < len(b.Script)
	}
	if ra != rb {
		return ra > rb
	}
	if a.Successes() != b.Successes() {
		return a.Successes() > b.Successes()
	}
	return a.ID < b.ID
}

// UpsertProcedure merges p into the most similar procedure of procs (by
// task, at least MinSimilarity) or appends it. It returns the new list
// (procs is not modified) and the index of the merged or added procedure.
func UpsertProcedure(procs []Procedure, p Procedure, opt ProcedureOptions) ([]Procedure, int) {
	opt = opt.withDefaults()
	out := slices.Clone(procs)
	best, bestSim := -1, 0.0
	for i, q := range out {
		for _, task := range append([]string{q.Task}, q.Tasks...) {
			if s := opt.Similarity(task, p.Task); s >= opt.MinSimilarity && s > bestSim {
				best, bestSim = i, s
			}
		}
	}
	if best < 0 {
		return append(out, p), len(out)
	}
	out[best] = MergeProcedures(out[best], p, opt)
	return out, best
}

// maxRenderValue bounds one argument value in rendered text; prompts need
// the shape of a call, not a full address.
const maxRenderValue = 40

// Render returns a compact text of the procedure for a prompt: the task,
// how well it is supported, and the script one step per line.
func (p Procedure) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Procedure (v%d, %d ok / %d failed) for: %s\n", p.Version, p.Successes(), p.Failures(), shorten(p.Task, 24))
	for i, s := range p.Script {
		fmt.Fprintf(&b, "%d. %s\n", i+1, renderScriptStep(s))
	}
	if len(p.Params) > 0 {
		fmt.Fprintf(&b, "Fill in: %s\n", strings.Join(p.Params, ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

func renderScriptStep(s ScriptStep) string {
	return signature.CanonicalAction(s.Tool, braceParams(s.Args).(map[string]any), signature.ActionOptions{MaxValueLen: maxRenderValue})
}

// Text is the step's whole canonical call, placeholders as "{name}": the
// action an agent fills in and takes.
func (s ScriptStep) Text() string {
	return signature.CanonicalAction(s.Tool, braceParams(s.Args).(map[string]any), signature.ActionOptions{})
}

// braceParams turns Param leaves into "{name}" strings for rendering.
func braceParams(v any) any {
	switch x := v.(type) {
	case Param:
		return "{" + string(x) + "}"
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = braceParams(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = braceParams(e)
		}
		return out
	}
	return v
}

// shorten keeps the first n words of s.
func shorten(s string, n int) string {
	w := strings.Fields(s)
	if len(w) <= n {
		return strings.Join(w, " ")
	}
	return strings.Join(w[:n], " ") + " …"
}
