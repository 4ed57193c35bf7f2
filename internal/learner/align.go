package learner

import (
	"slices"
	"strconv"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/signature"
)

// Action is a tool call as data: what a procedure step or a correction tells
// the agent to do.
type Action struct {
	Tool string
	Args map[string]any
}

// ActionOf returns the action a step took.
func ActionOf(s admem.Step) Action { return Action{Tool: s.Action, Args: s.Args} }

// Text renders the action with its literal values, for people and prompts.
func (a Action) Text() string {
	return signature.CanonicalAction(a.Tool, a.Args, signature.ActionOptions{})
}

// Pattern renders the action with instance literals masked: two calls that
// differ only in ids, amounts or dates share a pattern.
func (a Action) Pattern() string {
	return signature.CanonicalAction(a.Tool, a.Args, signature.ActionOptions{Literals: signature.MaskLiterals})
}

// IsZero reports whether a names no tool.
func (a Action) IsZero() bool { return a.Tool == "" }

// Pair is one column of an alignment: an index into each sequence, or -1
// where that sequence has a gap.
type Pair struct{ A, B int }

// Scoring weighs alignment columns. Substituting one tool for another costs
// less than two gaps, so that "instead of A, do B" shows as one column.
type Scoring struct {
	SameText    float64 // same tool, same literal arguments
	SamePattern float64 // same tool, arguments differ only in literals
	SameTool    float64 // same tool, other arguments
	Substitute  float64 // different tools
	Gap         float64
}

// DefaultScoring favours aligning calls of the same tool, most of all
// identical ones.
var DefaultScoring = Scoring{SameText: 4, SamePattern: 3, SameTool: 2, Substitute: -1.5, Gap: -1}

// Align aligns two action sequences globally (Needleman–Wunsch) and returns
// the columns in order with the total score. Ties prefer a match over a gap
// in b over a gap in a, so the result is deterministic.
func Align(a, b []Action, sc Scoring) ([]Pair, float64) {
	ka, kb := actionKeys(a), actionKeys(b)
	n, m := len(a), len(b)
	score := make([][]float64, n+1)
	for i := range score {
		score[i] = make([]float64, m+1)
		score[i][0] = float64(i) * sc.Gap
	}
	for j := 0; j <= m; j++ {
		score[0][j] = float64(j) * sc.Gap
	}
	sub := func(i, j int) float64 {
		switch {
		case ka[i].text == kb[j].text:
			return sc.SameText
		case ka[i].pattern == kb[j].pattern:
			return sc.SamePattern
		case a[i].Tool == b[j].Tool:
			return sc.SameTool
		default:
			return sc.Substitute
		}
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			score[i][j] = max(score[i-1][j-1]+sub(i-1, j-1), score[i-1][j]+sc.Gap, score[i][j-1]+sc.Gap)
		}
	}
	var out []Pair
	i, j := n, m
	for i > 0 || j > 0 {
		switch {
		case i > 0 && j > 0 && score[i][j] == score[i-1][j-1]+sub(i-1, j-1):
			out = append(out, Pair{i - 1, j - 1})
			i, j = i-1, j-1
		case i > 0 && score[i][j] == score[i-1][j]+sc.Gap:
			out = append(out, Pair{i - 1, -1})
			i--
		default:
			out = append(out, Pair{-1, j - 1})
			j--
		}
	}
	slices.Reverse(out)
	return out, score[n][m]
}

type actionKey struct{ text, pattern string }

func actionKeys(as []Action) []actionKey {
	out := make([]actionKey, len(as))
	for i, a := range as {
		out[i] = actionKey{a.Text(), a.Pattern()}
	}
	return out
}

// usableSteps returns the indexes of steps that are not of an ignored tool.
func usableSteps(steps []admem.Step, ignore map[string]bool) []int {
	var out []int
	for i, s := range steps {
		if s.Action != "" && !ignore[s.Action] {
			out = append(out, i)
		}
	}
	return out
}

// DefaultIgnoredTools are pseudo-tools that record the agent's reasoning
// rather than act; they would pad procedures and blur alignments.
var DefaultIgnoredTools = []string{"think"}

func ignoreSet(tools []string) map[string]bool {
	if tools == nil {
		tools = DefaultIgnoredTools
	}
	m := make(map[string]bool, len(tools))
	for _, t := range tools {
		m[t] = true
	}
	return m
}

// fold merges other into base: aligned steps of the same tool unify their
// arguments, steps only other took are dropped (base is the shorter path).
// A leaf where the two disagree becomes a Param; leaves that disagree in
// the same way everywhere (same pair of values) share one Param, which is
// how a user id passed to three tools becomes one {user_id}.
func fold(base, other []ScriptStep) []ScriptStep {
	pairs, _ := Align(scriptActions(base), scriptActions(other), DefaultScoring)
	u := unifier{bind: map[[2]string]Param{}, first: map[Param]Param{}, used: map[Param]bool{}}
	out := make([]ScriptStep, len(base))
	for i, s := range base {
		out[i] = ScriptStep{Tool: s.Tool, Args: s.Args, Support: s.Support}
	}
	aligned := make([]bool, len(base))
	for _, p := range pairs {
		if p.A < 0 || p.B < 0 || base[p.A].Tool != other[p.B].Tool {
			continue
		}
		aligned[p.A] = true
		out[p.A].Args = u.value(base[p.A].Args, other[p.B].Args, "").(map[string]any)
		out[p.A].Support += other[p.B].Support
	}
	// Params in base steps other lacks keep the variable they were bound to
	// in the aligned steps, or their own name if still free.
	for i := range out {
		if !aligned[i] {
			out[i].Args = u.unbound(out[i].Args).(map[string]any)
		}
	}
	return out
}

func scriptActions(s []ScriptStep) []Action {
	out := make([]Action, len(s))
	for i, st := range s {
		out[i] = Action{Tool: st.Tool, Args: st.Args}
	}
	return out
}

// unifier names the variables of one fold.
type unifier struct {
	bind  map[[2]string]Param // (base leaf, other leaf) → variable
	first map[Param]Param     // base param → its first variable in this fold
	used  map[Param]bool      // names taken in the fold's output
}

func leafKey(v any) string {
	if p, ok := v.(Param); ok {
		return "p:" + string(p)
	}
	return "c:" + signature.CanonicalAction("", map[string]any{"v": v}, signature.ActionOptions{MaxValueLen: -1})
}

// value unifies two argument values found at the same place (key path
// ending in path) of aligned steps.
func (u *unifier) value(a, b any, path string) any {
	switch x := a.(type) {
	case map[string]any:
		if y, ok := b.(map[string]any); ok {
			out := make(map[string]any, len(x))
			for k, v := range x {
				if w, ok := y[k]; ok {
					out[k] = u.value(v, w, k)
				} else {
					out[k] = u.unbound(v)
				}
			}
			return out
		}
	case []any:
		if y, ok := b.([]any); ok {
			out := make([]any, len(x))
			for i, v := range x {
				if i < len(y) {
					out[i] = u.value(v, y[i], path)
				} else {
					out[i] = u.unbound(v)
				}
			}
			return out
		}
	}
	ap, aIsParam := a.(Param)
	ka, kb := leafKey(a), leafKey(b)
	if ka == kb && !aIsParam {
		return a
	}
	key := [2]string{ka, kb}
	if p, ok := u.bind[key]; ok {
		return p
	}
	name := Param(paramName(path))
	if aIsParam {
		name = ap
	}
	p := u.fresh(name)
	u.bind[key] = p
	if _, ok := u.first[ap]; aIsParam && !ok {
		u.first[ap] = p
	}
	return p
}

// unbound renames the params of a value that met no counterpart.
func (u *unifier) unbound(v any) any {
	switch x := v.(type) {
	case Param:
		if p, ok := u.first[x]; ok {
			return p
		}
		p := u.fresh(x)
		u.first[x] = p
		return p
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = u.unbound(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = u.unbound(e)
		}
		return out
	}
	return v
}

func (u *unifier) fresh(name Param) Param {
	if name == "" {
		name = "value"
	}
	p := name
	for i := 2; u.used[p]; i++ {
		p = Param(string(name) + "_" + strconv.Itoa(i))
	}
	u.used[p] = true
	return p
}

func paramName(path string) string {
	if path == "" {
		return "value"
	}
	return path
}
