package learner

import (
	"slices"

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
