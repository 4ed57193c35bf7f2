// Package riskmodel describes a candidate call, in its situation, as the
// adapter's input: the mistake model's evidence about it (internal/mistake)
// as a few named features, the call's own facts as hashed features, and the
// situation (the task's words, the steps so far) as hashed context. The
// adapter (internal/learner/adapter/sparse) starts from the evidence alone
// and learns, per tenant, how far to trust it and what it misses.
//
// Everything here is pure computation: the worker builds examples with
// [Example], the API scores candidates with [Scorer], and both describe a
// call with [Input], so what is trained is what is scored.
package riskmodel

import (
	"math"
	"strings"

	"github.com/admem/admem/internal/learner/adapter/sparse"
	"github.com/admem/admem/internal/mistake"
)

// Layout names the feature layout below; a model trained on another layout
// is not used.
const Layout = "riskmodel/v1"

// Dimensions of the hashing ranges. The named evidence features sit at the
// top of the call range, after the hashed ones.
const (
	callDim    = 1 << 20
	contextDim = 1 << 20
	hashedCall = callDim - namedCount
)

// The named evidence features: indices at the top of the call range.
const (
	// fRisk is the evidence's own failure log-odds: with weight 1 and a
	// bias of 0, the untrained model says what the evidence says.
	fRisk = hashedCall + iota
	// fHere: the identical call already failed in the situation.
	fHere
	// fTransient: the call retries a transient fault.
	fTransient
	// fMatches: how many known mistakes the call matches.
	fMatches
	// fPartial: the situation is only the latest steps of a run.
	fPartial
	// fNone: no evidence at all about the call.
	fNone
	// fRepeat: the identical call already worked in the situation.
	fRepeat
	namedEnd
)

const namedCount = 16

// riskClip bounds the evidence risk before its log-odds: a certainty from
// a handful of observations is not one.
const riskClip = 0.02

// Limits on what a description holds, so one odd request cannot make an
// input (and the scoring cost) large.
const (
	maxFacts      = 48
	maxMatches    = 4
	maxTaskWords  = 24
	maxStepTools  = 16
	maxContextLen = 2048
)

// Config returns the adapter's settings for this layout: the sparse
// package's defaults, the prior that reproduces the evidence, and no dense
// context (the context is hashed words and steps, so the model does not
// depend on an embedder).
func Config() sparse.Config {
	cfg := sparse.DefaultConfig()
	cfg.CallDim, cfg.ContextDim, cfg.DenseContext = callDim, contextDim, 0
	cfg.Prior = map[uint32]float32{fRisk: 1}
	cfg.PriorBias = 0
	cfg.Featurizer = Layout
	return cfg
}

// Input describes a candidate call, assessed in its situation, as the
// adapter's input.
func Input(sit *mistake.Situation, a *mistake.Assessment) sparse.Input {
	return sparse.Input{Call: Call(sit, a), Context: Context(sit)}
}

// Call describes the assessed call: the evidence, named, and the call's own
// facts, hashed.
func Call(sit *mistake.Situation, a *mistake.Assessment) []sparse.Feat {
	out := make([]sparse.Feat, 0, 24+len(a.Facts.Features))
	tool := a.Facts.Tool
	call := func(name string) {
		out = append(out, sparse.Feat{I: sparse.Hash(name, hashedCall, 0), V: 1})
	}
	named := func(i uint32, v float32) {
		if v != 0 {
			out = append(out, sparse.Feat{I: i, V: v})
		}
	}

	// The evidence, named.
	r := min(max(a.Risk, riskClip), 1-riskClip)
	named(fRisk, float32(math.Log(r/(1-r))))
	named(fHere, b2f(a.HereFailures > 0))
	named(fTransient, b2f(a.Transient != nil || a.TransientHere))
	named(fMatches, float32(min(len(a.Matches), maxMatches)))
	named(fPartial, b2f(a.Facts.Partial))
	named(fNone, b2f(len(a.Matches) == 0 && a.HereFailures == 0))
	named(fRepeat, b2f(a.Facts.Repeat))

	// The call: its tool, its facts (per tool, and by kind across tools),
	// the mistakes it matches, how it follows the last step.
	call("t=" + tool)
	n := 0
	for _, f := range a.Facts.Features {
		if strings.HasPrefix(f, "x:") || strings.HasPrefix(f, "z:") {
			continue // a leaf's number or length: only limits read them
		}
		if n++; n > maxFacts {
			break
		}
		call("f=" + tool + "|" + f)
		if k := kindOf(f); k != "" {
			call("k=" + k)
		}
	}
	for i, m := range a.Matches {
		if i >= maxMatches {
			break
		}
		call("m=" + m.Mistake.SignatureID)
		call("mk=" + string(m.Mistake.Kind) + "|" + string(m.Mistake.Rule.Level))
	}
	if n := len(sit.Steps); n > 0 && sit.Steps[n-1].Action == tool {
		call("again|" + statusOf(sit.Steps[n-1].Failed()))
	}
	return out
}

// Context describes the situation: the task's words and the steps so far.
func Context(sit *mistake.Situation) []sparse.Feat {
	out := make([]sparse.Feat, 0, 32)
	add := func(name string) {
		out = append(out, sparse.Feat{I: sparse.Hash(name, contextDim, 0), V: 1})
	}
	for _, w := range taskWords(sit.Task) {
		add("w=" + w)
	}
	steps := sit.Steps
	if n := len(steps); n > 0 {
		add("last=" + steps[n-1].Action + "|" + statusOf(steps[n-1].Failed()))
	} else {
		add("first")
	}
	seen := map[string]bool{}
	for i := len(steps) - 1; i >= 0 && len(seen) < maxStepTools; i-- {
		k := steps[i].Action + "|" + statusOf(steps[i].Failed())
		if !seen[k] {
			seen[k] = true
			add("s=" + k)
		}
	}
	return out
}

// Example is a labelled input: the call was made in the situation and
// failed (or worked). Transient faults are no label: the call was right.
func Example(sit *mistake.Situation, a *mistake.Assessment, failed bool) sparse.Example {
	return sparse.Example{Input: Input(sit, a), Failed: failed}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

func statusOf(failed bool) string {
	if failed {
		return "error"
	}
	return "ok"
}

// kindOf returns a fact's kind without its tool's names ("u", "np",
// "s:9-9-9"), so what one tool teaches (a made-up value fails) carries
// over to others; "" for facts that name only the tool's own things.
func kindOf(f string) string {
	switch {
	case f == "r":
		return "r"
	case strings.HasPrefix(f, "u:"):
		return "u"
	case strings.HasPrefix(f, "s:"):
		if i := strings.IndexByte(f, '='); i > 0 {
			return "s=" + f[i+1:]
		}
	}
	return ""
}

// taskWords returns the task's words that say what it is about: lower-case
// words of letters, not ids or numbers, at most maxTaskWords, each once.
func taskWords(task string) []string {
	if len(task) > maxContextLen {
		task = task[:maxContextLen]
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(task), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r == '_')
	}) {
		if len(w) < 3 || len(w) > 24 || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) >= maxTaskWords {
			break
		}
	}
	return out
}

// Risk is the risk guard decides on, from the evidence's assessment and the
// adapter's risk of the call. The adapter weighs the evidence about known
// mistakes (and what it misses about them); it does not make a call risky
// that no known mistake or failure in the situation speaks of, since
// guard's warning must say what to avoid. A transient fault is never a
// reason to avoid a call (retry with backoff).
func Risk(a *mistake.Assessment, adapter float64) float64 {
	if a.Transient != nil || a.TransientHere || len(a.Matches) == 0 && a.HereFailures == 0 {
		return min(adapter, a.Risk)
	}
	return adapter
}

// Scorer scores a request's candidates with a tenant's model.
type Scorer struct{ M *sparse.Model }

// Risks returns the adapter's risk of each assessed candidate, in the
// request's situation (the context is described once for all of them).
func (s Scorer) Risks(sit *mistake.Situation, as []mistake.Assessment) []float64 {
	out := make([]float64, len(as))
	if len(as) == 0 {
		return out
	}
	cs := s.M.ForContext(Context(sit))
	for i := range as {
		out[i] = cs.Risk(Call(sit, &as[i]))
	}
	return out
}
