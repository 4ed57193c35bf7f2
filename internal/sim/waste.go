package sim

import (
	"encoding/json"

	"github.com/admem/admem"
)

// Waste counts the calls of agent trajectories that did not move the task
// on, by the kinds of step-wasting mistakes language-model agents make. The
// same measure reads the stand-in agent's trajectories and real agents' logs
// (internal/taubench), so the simulator's noise can be compared with data.
type Waste struct {
	Calls int // tool calls, not counting NotCalls
	// Failed calls returned an error; Retried of them were followed at once
	// by another call of the same tool (the agent retried).
	Failed  int
	Retried int
	// RepeatedReads are successful read calls identical (tool and
	// arguments) to an earlier successful call of the episode: the agent
	// asked again for what it had.
	RepeatedReads int
}

// NotCalls are tools that are no calls at all: a scratchpad the agent
// writes its thoughts to (tau-bench's think).
var NotCalls = map[string]bool{"think": true}

// Add counts one trajectory's steps; read tells which tools are reads.
func (w *Waste) Add(steps []admem.Step, read func(tool string) bool) {
	var calls []admem.Step
	for _, s := range steps {
		if !NotCalls[s.Action] {
			calls = append(calls, s)
		}
	}
	ok := map[string]bool{}
	for i, s := range calls {
		w.Calls++
		if s.Failed() {
			w.Failed++
			if i+1 < len(calls) && calls[i+1].Action == s.Action {
				w.Retried++
			}
			continue
		}
		// Map keys marshal sorted: equal arguments give equal keys.
		args, _ := json.Marshal(s.Args)
		key := s.Action + string(args)
		if read(s.Action) && ok[key] {
			w.RepeatedReads++
			continue
		}
		ok[key] = true
	}
}

// Wasted is the number of calls that did not move the task on.
func (w Waste) Wasted() int { return w.Failed + w.RepeatedReads }

// Share is the wasted calls' share of all calls.
func (w Waste) Share() float64 { return ratio(w.Wasted(), w.Calls) }

// FailedShare and RepeatedShare split Share by kind; RetriedShare is the
// share of failed calls the agent retried with the same tool.
func (w Waste) FailedShare() float64   { return ratio(w.Failed, w.Calls) }
func (w Waste) RepeatedShare() float64 { return ratio(w.RepeatedReads, w.Calls) }
func (w Waste) RetriedShare() float64  { return ratio(w.Retried, w.Failed) }

// CallsPerUseful is calls divided by the calls that were not wasted: how
// many calls the agent makes for each one that moves the task on.
func (w Waste) CallsPerUseful() float64 { return ratio(w.Calls, w.Calls-w.Wasted()) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// EpisodeWaste measures the waste of played episodes; successOnly keeps
// the solved ones.
func (w *World) EpisodeWaste(eps []EpisodeResult, successOnly bool) Waste {
	var out Waste
	read := func(tool string) bool { return w.tools[tool].Read }
	for _, e := range eps {
		if successOnly && !e.Success {
			continue
		}
		out.Add(e.Trajectory.Steps, read)
	}
	return out
}
