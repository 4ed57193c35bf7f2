package sim

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/admem/admem"
)

// Schedule returns n episode specs that interleave the families: each block
// of len(families) episodes holds every family once, in a shuffled order, so
// learning one family is always followed by work on the others. A share
// longShare of the episodes are long-horizon tasks.
func Schedule(seed uint64, n int, families []string, longShare float64) []EpisodeSpec {
	rng := rand.New(rand.NewPCG(seed, 0x5c4ed))
	out := make([]EpisodeSpec, 0, n)
	for len(out) < n {
		for _, i := range rng.Perm(len(families)) {
			if len(out) == n {
				break
			}
			out = append(out, EpisodeSpec{Index: len(out), Family: families[i], Long: rng.Float64() < longShare, Seed: rng.Uint64()})
		}
	}
	return out
}

// RunConfig configures a run of one arm.
type RunConfig struct {
	Arm   string
	Agent AgentConfig
	// NoRecord plays the episodes without sending trajectories to memory.
	NoRecord bool
	// Clock times memory calls; nil means time.Now. Only the overhead
	// figures depend on it.
	Clock func() time.Time
	// OnEpisode, when set, is called after each episode (progress output,
	// adapter-update counters).
	OnEpisode func(EpisodeResult)
	// Literals indexes the values of the world's tasks, to tell a
	// suggestion that leaks another task's values; nil: Run indexes the
	// users and each task as it plays it.
	Literals *Literals
}

// Timings are the durations of one episode's memory calls.
type Timings struct {
	Recall time.Duration
	Guard  []time.Duration
	Record time.Duration
}

// EpisodeResult is one played episode, ready for metrics and reports.
type EpisodeResult struct {
	Index    int
	Family   string
	Long     bool
	UserID   string
	RefSteps int // length of the reference shortest solution
	Budget   int
	Success  bool
	End      string
	Steps    int
	Failures []FailedStep
	Recorded bool
	Guard    GuardStats
	Timings  Timings
	// MemoryErrors counts memory calls that failed.
	MemoryErrors int
	Trajectory   admem.Trajectory
	// Taken is the guard's verdict on each step's action and its outcome.
	Taken []TakenStep
	// Judged is every candidate the guard judged, with the oracle's answer.
	Judged []Judged
}

// agentSeed derives the agent's random stream for an episode, the same in
// every arm.
func agentRNG(spec EpisodeSpec) *rand.Rand {
	return rand.New(rand.NewPCG(spec.Seed, 0xa6e47^uint64(spec.Index)))
}

// Run plays the scheduled episodes in order against mem and returns their
// results, with failure signatures annotated by DefaultSignature.
func Run(ctx context.Context, w *World, mem Memory, sched []EpisodeSpec, cfg RunConfig) ([]EpisodeResult, error) {
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	tm := &timedMemory{next: mem, clock: clock}
	agent := NewAgent(w, tm, cfg.Agent)
	agent.lits = cfg.Literals
	if agent.lits == nil {
		agent.lits = NewLiterals(w)
	}
	out := make([]EpisodeResult, 0, len(sched))
	for _, spec := range sched {
		task, err := w.NewTask(spec)
		if err != nil {
			return out, err
		}
		agent.lits.Add(task)
		tm.t = Timings{}
		ep, err := agent.Run(ctx, task, agentRNG(spec), !cfg.NoRecord)
		if err != nil {
			return out, err
		}
		res := EpisodeResult{
			Index: spec.Index, Family: spec.Family, Long: task.Long, UserID: task.User.ID,
			RefSteps: len(task.Plan), Budget: ep.Budget, Success: ep.Success, End: ep.End,
			Steps: len(ep.Trajectory.Steps), Failures: ep.Failures, Recorded: !cfg.NoRecord,
			Guard: ep.Guard, Timings: tm.t, MemoryErrors: ep.MemoryErrors, Trajectory: ep.Trajectory, Taken: ep.Taken, Judged: ep.Judged,
		}
		out = append(out, res)
		if cfg.OnEpisode != nil {
			cfg.OnEpisode(res)
		}
	}
	AnnotateHeld(out, nil)
	return out, nil
}

// timedMemory measures each call of the memory it wraps.
type timedMemory struct {
	next  Memory
	clock func() time.Time
	t     Timings
}

// Begin hands the env on to a memory that wants it (the oracle).
func (m *timedMemory) Begin(env *Env) {
	if ea, ok := m.next.(EnvAware); ok {
		ea.Begin(env)
	}
}

func (m *timedMemory) Recall(ctx context.Context, task string, scope admem.Scope) (RecallResult, error) {
	start := m.clock()
	r, err := m.next.Recall(ctx, task, scope)
	m.t.Recall += m.clock().Sub(start)
	return r, err
}

func (m *timedMemory) Guard(ctx context.Context, task string, recent []admem.Step, c []Action) ([]Verdict, error) {
	start := m.clock()
	v, err := m.next.Guard(ctx, task, recent, c)
	m.t.Guard = append(m.t.Guard, m.clock().Sub(start))
	return v, err
}

func (m *timedMemory) Record(ctx context.Context, t admem.Trajectory) error {
	start := m.clock()
	err := m.next.Record(ctx, t)
	m.t.Record += m.clock().Sub(start)
	return err
}

// AnnotateHeld fills each failure's Signature, Seen and Held in place. A
// failure is seen when a failure with the same signature was in an earlier
// recorded episode: the memory had been shown that mistake before the step.
// Failures of the same episode do not count, since the trajectory is
// recorded only at its end. Held is set to Seen, the best guess when the
// memory cannot say what it held; MarkHeld overrides it. sig nil means
// DefaultSignature.
func AnnotateHeld(eps []EpisodeResult, sig SignatureFunc) {
	if sig == nil {
		sig = DefaultSignature
	}
	seen := map[string]bool{}
	for i := range eps {
		var fresh []string
		for j := range eps[i].Failures {
			f := &eps[i].Failures[j]
			f.Signature = sig(f.Tool, f.Error)
			f.Seen = seen[f.Signature]
			f.Held = f.Seen
			fresh = append(fresh, f.Signature)
		}
		if eps[i].Recorded {
			for _, s := range fresh {
				seen[s] = true
			}
		}
	}
}

// MarkHeld sets each failure's Held from what the memory reports it held
// before the step (a mistake note for the failure's error signature, the
// DESIGN.md definition of a repeat mistake); held gets the episode's
// position in eps.
func MarkHeld(eps []EpisodeResult, held func(pos int, f FailedStep) bool) {
	for i := range eps {
		for j := range eps[i].Failures {
			f := &eps[i].Failures[j]
			f.Held = held(i, *f)
		}
	}
}
