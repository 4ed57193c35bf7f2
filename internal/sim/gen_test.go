package sim

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/admem/admem"
)

// testSeeds derives n world seeds from a base, as the benchmark does: no
// test names a world.
func testSeeds(n int) []uint64 { return WorldSeeds(0x5eed, n) }

// genTasks calls fn for short and long tasks of every family of w, before
// and after its drift.
func genTasks(t *testing.T, w *World, perCase int, fn func(t *testing.T, task *Task)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(w.Seed(), 1))
	for _, fam := range w.Families() {
		for _, long := range []bool{false, true} {
			for _, ep := range []int{3, testDriftAt + 3} {
				for range perCase {
					spec := EpisodeSpec{Index: ep, Family: fam, Long: long, Seed: rng.Uint64()}
					task, err := w.NewTask(spec)
					if err != nil {
						t.Fatalf("%s: %v", w, err)
					}
					t.Run(fmt.Sprintf("%s/long=%v/ep=%d", fam, long, ep), func(t *testing.T) { fn(t, task) })
				}
			}
		}
	}
}

// describeWorld renders everything a world shows or hides, to compare worlds.
func describeWorld(w *World) string {
	var b strings.Builder
	fmt.Fprintln(&b, w.Domain(), w.Families())
	for _, t := range w.Tools() {
		fmt.Fprintln(&b, t.Name, t.Args, t.Alt, t.Read, t.Ordered)
	}
	for _, r := range w.Rules() {
		fmt.Fprintln(&b, r.ID, r.Kind, r.Tool, r.Doc, r.DriftAt)
	}
	for _, u := range w.Users() {
		fmt.Fprintln(&b, u)
	}
	for i, fam := range w.Families() {
		task, err := w.NewTask(EpisodeSpec{Index: i, Family: fam, Long: i%2 == 0, Seed: uint64(i) + 1})
		if err != nil {
			fmt.Fprintln(&b, err)
			continue
		}
		fmt.Fprintln(&b, task.Text, planText(task), task.Entities)
	}
	return b.String()
}

func planText(task *Task) string {
	var b strings.Builder
	for i, st := range task.Plan {
		fmt.Fprintf(&b, "\n  %d %s aux=%v", i, st.Action, st.Aux)
	}
	return b.String()
}

func TestGenerateIsDeterministic(t *testing.T) {
	for _, seed := range testSeeds(6) {
		a, b := describeWorld(Generate(seed, GenConfig{DriftAt: 20})), describeWorld(Generate(seed, GenConfig{DriftAt: 20}))
		if a != b {
			t.Fatalf("two worlds from one seed differ:\n%s\n---\n%s", a, b)
		}
	}
}

func TestWorldsDifferAcrossSeeds(t *testing.T) {
	seeds := testSeeds(12)
	names := make([]map[string]bool, len(seeds))
	for i, s := range seeds {
		names[i] = map[string]bool{}
		for _, tl := range Generate(s, GenConfig{}).Tools() {
			names[i][tl.Name] = true
		}
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if maps.Equal(names[i], names[j]) {
				t.Errorf("worlds %d and %d have the same tool names", i, j)
			}
		}
	}
	// Over several worlds, names, domains and error styles vary.
	domains, styles, toolStyles := map[string]bool{}, map[int]bool{}, map[int]bool{}
	for _, s := range seeds {
		w := Generate(s, GenConfig{})
		domains[w.Domain()] = true
		for _, st := range w.gen.styles {
			styles[st.form] = true
		}
		toolStyles[len(w.gen.styles)] = true
	}
	if len(domains) < 4 || len(styles) != 3 || len(toolStyles) < 2 {
		t.Fatalf("little variety over %d worlds: domains %v, error forms %v, styles per world %v", len(seeds), domains, styles, toolStyles)
	}
}

func TestGeneratedWorldShape(t *testing.T) {
	for _, seed := range testSeeds(30) {
		w := Generate(seed, GenConfig{DriftAt: 10})
		if n := len(w.Families()); n < 5 || n > 8 {
			t.Errorf("%s: %d families", w, n)
		}
		if n := len(w.Tools()); n < 15 || n > 30 {
			t.Errorf("%s: %d tools", w, n)
		}
		drifts := 0
		for _, r := range w.Rules() {
			if r.Kind == RuleDrift {
				drifts++
				if r.DriftAt != 10 {
					t.Errorf("%s: drift %s at %d, want 10", w, r.ID, r.DriftAt)
				}
			}
		}
		if drifts != 1 {
			t.Errorf("%s: %d drifts, want exactly one", w, drifts)
		}
	}
	if w := Generate(testSeeds(1)[0], GenConfig{Drifts: -1}); slices.ContainsFunc(w.Rules(), func(r Rule) bool { return r.Kind == RuleDrift }) {
		t.Error("Drifts -1 still drew a drift")
	}
}

func TestGeneratedReferencePlansWork(t *testing.T) {
	for _, seed := range testSeeds(12) {
		w := Generate(seed, GenConfig{DriftAt: testDriftAt, Transient: -1})
		genTasks(t, w, 2, func(t *testing.T, task *Task) {
			n := len(task.Plan)
			if n < MinSteps || n > MaxSteps || task.Long != (n >= LongMinSteps) {
				t.Fatalf("%s: %d steps, long %v", w, n, task.Long)
			}
			env := w.NewEnv(task)
			seen := map[string]bool{}
			for i, st := range task.Plan {
				if seen[st.Action.String()] {
					t.Fatalf("%s: step %d %s twice in the plan", w, i, st.Action)
				}
				seen[st.Action.String()] = true
				if _, err := env.Step(st.Action); err != nil {
					t.Fatalf("%s: step %d %s: %v%s", w, i, st.Action, err, planText(task))
				}
				if !env.StepDone(i) {
					t.Fatalf("%s: step %d %s did not complete", w, i, st.Action)
				}
			}
			if !env.Done() {
				t.Fatal("plan done but goal not reached")
			}
		})
	}
}

// Every rule kind turns up in generated worlds, and the noisy agent
// without memory runs into every kind.
func TestEveryRuleKindIsReachable(t *testing.T) {
	placed, hit := map[RuleKind]int{}, map[RuleKind]int{}
	for _, seed := range testSeeds(16) {
		w := Generate(seed, GenConfig{DriftAt: 15})
		kindOf := map[string]RuleKind{}
		for _, r := range w.Rules() {
			placed[r.Kind]++
			kindOf[r.ID] = r.Kind
		}
		eps, err := Run(context.Background(), w, NoMemory{}, Schedule(seed, 30, w.Families(), 0.35), RunConfig{Agent: DefaultAgentConfig()})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range eps {
			for _, f := range e.Failures {
				if f.Rule != "" {
					hit[kindOf[f.Rule]]++
				}
			}
		}
	}
	for _, k := range RuleKinds {
		if placed[k] == 0 || hit[k] == 0 {
			t.Errorf("rule kind %s: placed %d times, failed the agent %d times", k, placed[k], hit[k])
		}
	}
}

// The oracle solves every world: a world it cannot solve is a generator bug.
func TestOracleSolvesEveryWorld(t *testing.T) {
	for _, seed := range testSeeds(8) {
		w := Generate(seed, GenConfig{DriftAt: 15})
		sched := Schedule(seed, 30, w.Families(), 0.35)
		for _, cfg := range []AgentConfig{DefaultAgentConfig(), CautiousAgentConfig()} {
			eps, err := Run(context.Background(), w, &OracleMemory{}, sched, RunConfig{Agent: cfg})
			if err != nil {
				t.Fatal(err)
			}
			ok := 0
			for _, e := range eps {
				if e.Success {
					ok++
				} else {
					t.Logf("%s cautious=%v: episode %d (%s) ended %s after %d of %d steps", w, cfg.Cautious, e.Index, e.Family, e.End, e.Steps, e.Budget)
				}
			}
			if ok < len(eps)-1 {
				t.Errorf("%s cautious=%v: the oracle solved %d of %d episodes", w, cfg.Cautious, ok, len(eps))
			}
		}
	}
}

// Transient faults leave no trace: the calls that worked and the steps done
// are those of the same plan played without faults, and each fault goes
// away when the call is retried.
func TestTransientFaultsChangeNothing(t *testing.T) {
	calls, faults := 0, 0
	for _, seed := range testSeeds(6) {
		faulty, clean := Generate(seed, GenConfig{DriftAt: testDriftAt}), Generate(seed, GenConfig{DriftAt: testDriftAt, Transient: -1})
		genTasks(t, faulty, 1, func(t *testing.T, task *Task) {
			ef, ec := faulty.NewEnv(task), clean.NewEnv(task)
			for i, st := range task.Plan {
				_, err := ef.Step(st.Action)
				calls++
				if err != nil {
					if !err.Transient {
						t.Fatalf("step %d: %v", i, err)
					}
					faults++
					if ef.StepDone(i) {
						t.Fatalf("step %d done by a transient fault", i)
					}
					if _, err := ef.Step(st.Action); err != nil {
						t.Fatalf("step %d retried: %v", i, err)
					}
					calls++
				}
				if _, err := ec.Step(st.Action); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ef.done, ec.done) || !slices.Equal(ef.history, ec.history) {
					t.Fatalf("step %d: state differs from the run without faults", i)
				}
			}
		})
	}
	if share := float64(faults) / float64(calls); share < 0.03 || share > 0.08 {
		t.Errorf("%d transient faults in %d calls (%.3f), want about 0.05", faults, calls, share)
	}
}

// probingMemory probes every candidate, and more, before allowing them all:
// an episode must play exactly as without it.
type probingMemory struct {
	NoMemory
	env *Env
}

func (m *probingMemory) Begin(env *Env) { m.env = env }

func (m *probingMemory) Guard(ctx context.Context, task string, recent []admem.Step, cands []Action) ([]Verdict, error) {
	for _, c := range cands {
		m.env.Probe(c)
		m.env.Probe(Action{Tool: c.Tool, Args: map[string]string{"bogus": "1"}})
		m.env.Probe(Action{Tool: "no_such_tool"})
		if st, ok := m.env.NextCall(); ok {
			m.env.Probe(st)
		}
	}
	return m.NoMemory.Guard(ctx, task, recent, cands)
}

func TestProbeHasNoSideEffects(t *testing.T) {
	worlds := []*World{NewWorld(Config{Seed: 11, DriftAt: 10})}
	for _, seed := range testSeeds(4) {
		worlds = append(worlds, Generate(seed, GenConfig{DriftAt: 10}))
	}
	for _, w := range worlds {
		sched := Schedule(w.Seed(), 20, w.Families(), 0.35)
		a, err := Run(context.Background(), w, NoMemory{}, sched, RunConfig{Agent: DefaultAgentConfig()})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Run(context.Background(), w, &probingMemory{}, sched, RunConfig{Agent: DefaultAgentConfig()})
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if fmt.Sprint(a[i].Trajectory.Steps) != fmt.Sprint(b[i].Trajectory.Steps) {
				t.Fatalf("%s episode %d plays differently when probed", w, i)
			}
		}
	}
}

// Probe answers what Step then answers, up to trace numbers, on the calls
// a noisy agent makes.
func TestProbeAgreesWithStep(t *testing.T) {
	for _, seed := range testSeeds(6) {
		w := Generate(seed, GenConfig{DriftAt: 5, Transient: -1})
		sched := Schedule(seed, 10, w.Families(), 0.35)
		eps, err := Run(context.Background(), w, NoMemory{}, sched, RunConfig{Agent: DefaultAgentConfig()})
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for i, e := range eps {
			task, err := w.NewTask(sched[i])
			if err != nil {
				t.Fatal(err)
			}
			env := w.NewEnv(task)
			for _, s := range e.Trajectory.Steps {
				a := ActionFromStep(s.Action, s.Args)
				perr := env.Probe(a)
				_, serr := env.Step(a)
				switch {
				case (perr == nil) != (serr == nil):
					t.Fatalf("%s: %s: probe %v, step %v", w, a, perr, serr)
				case serr != nil:
					failed++
					if DefaultSignature(a.Tool, perr.Message) != DefaultSignature(a.Tool, serr.Message) || perr.Rule != serr.Rule {
						t.Fatalf("%s: %s: probe %v, step %v", w, a, perr, serr)
					}
				}
			}
		}
		if failed == 0 {
			t.Fatalf("%s: no failed call to compare", w)
		}
	}
}
