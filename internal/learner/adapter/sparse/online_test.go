package sparse

import (
	"math/rand/v2"
	"sync"
	"testing"
)

func mustTrainer(t testing.TB, m *Model, history []Example, cfg Config) *Trainer {
	t.Helper()
	tr, err := NewTrainer(m, history, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func aucOn(m *Model, ex []Example) float64 { return Evaluate(m, ex, 0.5).AUC }

// TestObserveLearnsNewPatternQuickly: a tenant's model knows its tools; a
// tool it never saw starts failing whenever one argument has a certain
// shape. Each Observe brings one such failure (and one success of the same
// tool with another shape). Within three calls the pattern's risk must pass
// 0.5 in contexts it was never seen in, and after four the same tool with a
// good shape must be clearly lower.
func TestObserveLearnsNewPatternQuickly(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(16)
	for seed := uint64(1); seed <= 5; seed++ {
		w := newCallWorld(seed, f, 12, 2, 4, true, 0.4, 0.02)
		known := []int{0, 1, 2, 3, 4, 5, 6, 7}
		history, _ := w.sample(500, seed, known)
		cfg := f.config(8)
		m := mustTrain(t, history, cfg, nil)
		tr := mustTrainer(t, m, history, cfg)

		// A tool added to the world now, with argument names of its own.
		rng := rand.New(rand.NewPCG(seed, 5))
		tool := len(w.tools)
		w.tools = append(w.tools, randName(rng, "tool"))
		w.args = append(w.args, []string{randName(rng, "arg"), randName(rng, "arg")})
		bad, good := []int{0, 1}, []int{2, 1} // argument 0 in shape 0 fails
		probe := func(shapes []int) float64 {
			s, snap := 0.0, tr.Snapshot()
			for range 50 {
				s += snap.Risk(Input{Call: w.call(tool, shapes), Context: w.context(rng)})
			}
			return s / 50
		}
		before := probe(bad)
		passed := 0 // the first call after which the risk passed 0.5
		var trace []float64
		for call := 1; call <= 4; call++ {
			err := tr.Observe([]Example{
				{Input: Input{Call: w.call(tool, bad), Context: w.context(rng)}, Failed: true},
				{Input: Input{Call: w.call(tool, good), Context: w.context(rng)}},
			})
			if err != nil {
				t.Fatal(err)
			}
			r := probe(bad)
			trace = append(trace, r)
			if passed == 0 && r > 0.5 {
				passed = call
			}
		}
		after, ok := probe(bad), probe(good)
		t.Logf("world %d: risk of the new pattern %.3f, then %.3f after each Observe; same tool, good shape %.3f",
			seed, before, trace, ok)
		if passed == 0 || passed > 3 {
			t.Errorf("world %d: risk %.3f after each call", seed, trace)
		}
		if ok > after-0.2 {
			t.Errorf("world %d: after 4 calls the good shape's risk %.3f is close to the bad one's %.3f", seed, ok, after)
		}
	}
}

// TestReplayLimitsForgetting learns family A (some tools, their failure
// patterns), then applies 100 online updates of 10 examples each from
// families B, C and D (other tools sharing argument names). A's held-out AUC
// must not collapse, while the new families are learnt. Without replay, for
// contrast, the log shows what forgetting looks like.
func TestReplayLimitsForgetting(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(16)
	w := newCallWorld(41, f, 24, 2, 4, true, 0.5, 0.02)
	famA := []int{0, 1, 2, 3, 4, 5}
	others := [][]int{{6, 7, 8, 9, 10, 11}, {12, 13, 14, 15, 16, 17}, {18, 19, 20, 21, 22, 23}}
	trainA, _ := w.sample(600, 1, famA)
	testA, _ := w.sample(2000, 2, famA)
	var testNew []Example
	for _, fam := range others {
		ex, _ := w.sample(700, 3, fam)
		testNew = append(testNew, ex...)
	}

	cfg := f.config(8)
	m := mustTrain(t, trainA, cfg, nil)
	learnt, newBefore := aucOn(m, testA), aucOn(m, testNew)
	run := func(replay int, factorRate float64) (aucA, aucNew float64) {
		c := cfg
		c.OnlineReplay, c.OnlineFactorRate = replay, factorRate
		tr := mustTrainer(t, m, trainA, c)
		for u := range 100 {
			batch, _ := w.sample(10, uint64(100+u), others[u%len(others)])
			if err := tr.Observe(batch); err != nil {
				t.Fatal(err)
			}
		}
		s := tr.Snapshot()
		return aucOn(s, testA), aucOn(s, testNew)
	}
	t.Logf("family A AUC %.3f when learnt; new families %.3f", learnt, newBefore)
	// The default moves U and V slowly online; at the full rate the
	// interaction forgets much faster without replay, and replay must
	// protect it there too.
	for _, rate := range []float64{cfg.OnlineFactorRate, 1} {
		withA, withNew := run(cfg.OnlineReplay, rate)
		noA, noNew := run(0, rate)
		t.Logf("factor rate %.1f: after 100 updates, A's AUC %.3f with replay (forgetting %.1f points), %.3f without (%.1f points); new families %.3f with replay, %.3f without",
			rate, withA, 100*(learnt-withA), noA, 100*(learnt-noA), withNew, noNew)
		if learnt-withA > 0.03 {
			t.Errorf("factor rate %.1f: forgetting %.1f AUC points with replay", rate, 100*(learnt-withA))
		}
		if withNew < 0.9 {
			t.Errorf("factor rate %.1f: new families reach AUC %.3f after 1,000 examples", rate, withNew)
		}
	}
}

// TestSnapshotIsImmutable scores a published snapshot from several
// goroutines while the trainer keeps observing and publishing: the
// snapshot's risks never change (run under -race).
func TestSnapshotIsImmutable(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(16)
	w := newCallWorld(51, f, 10, 2, 4, true, 0.5, 0.02)
	history, _ := w.sample(400, 1, nil)
	probe, _ := w.sample(50, 2, nil)
	cfg := f.config(4)
	tr := mustTrainer(t, mustTrain(t, history, cfg, nil), history, cfg)
	snap := tr.Snapshot()
	want := make([]float64, len(probe))
	for i := range probe {
		want[i] = snap.Risk(probe[i].Input)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := range probe {
					s := snap.ForContext(probe[i].Context)
					if got := s.Risk(probe[i].Call); got != want[i] {
						t.Errorf("snapshot risk changed from %v to %v", want[i], got)
						return
					}
				}
			}
		}()
	}
	for u := range 30 {
		batch, _ := w.sample(5, uint64(10+u), nil)
		for i := range batch { // new features too, so rows are added
			batch[i].Call = append(batch[i].Call, f.callName(randName(rand.New(rand.NewPCG(uint64(u), uint64(i))), "new")))
		}
		if err := tr.Observe(batch); err != nil {
			t.Error(err)
		}
		_ = tr.Snapshot()
	}
	close(stop)
	wg.Wait()
	if tr.Snapshot().Info().Updates != 30 {
		t.Errorf("snapshot counts %d updates, want 30", tr.Snapshot().Info().Updates)
	}
}

// TestTrainerMatchesSnapshot: a snapshot scores what the trainer's own
// float64 parameters score, to float32 precision, at every rank (ranks 8
// and 16 have their own scoring code).
func TestTrainerMatchesSnapshot(t *testing.T) {
	t.Parallel()
	f := testFeaturizer(16)
	w := newCallWorld(61, f, 10, 2, 4, true, 0.5, 0.02)
	history, _ := w.sample(200, 1, nil)
	batch, _ := w.sample(20, 3, nil)
	for _, rank := range []int{0, 5, 8, 16} {
		cfg := f.config(rank)
		tr := mustTrainer(t, mustTrain(t, history, cfg, nil), history, cfg)
		if err := tr.Observe(batch); err != nil {
			t.Fatal(err)
		}
		snap := tr.Snapshot()
		for i := range batch {
			it, _ := tr.s.resolve(&batch[i], nil)
			want := tr.s.forward(&it)
			if got := snap.Logit(batch[i].Input); abs(got-want) > 1e-4*(1+abs(want)) {
				t.Errorf("rank %d, example %d: snapshot logit %v, trainer %v", rank, i, got, want)
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
