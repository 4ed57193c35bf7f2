package sim

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem"
)

// trainingMemory stands in for a memory whose trainer makes adapter
// versions from recorded trajectories: every recorded trajectory of a
// family not in skip becomes a trained version once the counters have
// been read lag times after it arrived (an asynchronous worker), and every
// publishEvery-th trained version is published. The tests skip the
// learnt family, so that only the intervening episodes' updates are in the
// counts.
type trainingMemory struct {
	NoMemory
	skip         []string
	lag          int
	publishEvery int
	failAfter    int // the counters fail once this many versions exist (0: never)

	mu       sync.Mutex
	queued   []int // reads left before each recorded trajectory is trained
	recorded int
	count    AdapterCount
}

func (m *trainingMemory) Record(_ context.Context, t admem.Trajectory) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recorded++
	if !slices.Contains(m.skip, t.Metadata["family"].(string)) {
		m.queued = append(m.queued, m.lag)
	}
	return nil
}

func (m *trainingMemory) adapter(context.Context) (AdapterCount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.queued) > 0 && m.queued[0] <= 0 {
		m.queued = m.queued[1:]
		m.count.Trained++
		if m.publishEvery > 0 && m.count.Trained%m.publishEvery == 0 {
			m.count.Published++
		}
	}
	for i := range m.queued {
		m.queued[i]--
	}
	if m.failAfter > 0 && m.count.Trained >= m.failAfter {
		return m.count, errors.New("adapters unavailable")
	}
	return m.count, nil
}

func forgettingConfig() ForgettingConfig {
	return ForgettingConfig{Seed: 9, Family: "refunds", Others: []string{"booking", "billing"}, LearnEpisodes: 3, EvalEpisodes: 4,
		UpdatesTarget: 6, UpdatePoll: time.Microsecond, UpdateWait: time.Second}
}

// The protocol counts real adapter updates, waiting for each one, and
// reports trained and published versions whatever it counted.
func TestForgettingCountsAdapterUpdates(t *testing.T) {
	cases := []struct {
		name string
		mem  *trainingMemory
		cfg  func(*ForgettingConfig)
		// wanted counts
		updates, intervening, trained, published, timeouts int
	}{
		{
			name: "trained candidates, worker lagging behind",
			mem:  &trainingMemory{skip: []string{"refunds"}, lag: 3, publishEvery: 2},
			cfg:  func(*ForgettingConfig) {},
			// One episode, one training, however late it comes.
			updates: 6, intervening: 6, trained: 6, published: 3,
		},
		{
			name: "published versions only",
			mem:  &trainingMemory{skip: []string{"refunds"}, lag: 1, publishEvery: 2},
			cfg: func(c *ForgettingConfig) {
				c.Count, c.UpdateWait = UpdatePublished, 5*time.Millisecond
			},
			// Every other episode trains a version the gate keeps out,
			// and the protocol waits in vain after it.
			updates: 6, intervening: 12, trained: 12, published: 6, timeouts: 6,
		},
		{
			name: "no training on one family",
			mem:  &trainingMemory{skip: []string{"refunds", "billing"}, publishEvery: 1},
			cfg:  func(c *ForgettingConfig) { c.UpdateWait = 5 * time.Millisecond },
			// The billing episodes bring no update; the protocol plays on.
			updates: 6, intervening: 11, trained: 6, published: 6, timeouts: 5,
		},
		{
			name: "capped",
			mem:  &trainingMemory{skip: []string{"refunds", "billing"}, publishEvery: 1},
			cfg: func(c *ForgettingConfig) {
				c.UpdateWait, c.MaxEpisodes = 5*time.Millisecond, 4
			},
			updates: 2, intervening: 4, trained: 2, published: 2, timeouts: 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := forgettingConfig()
			cfg.Adapter = c.mem.adapter
			c.cfg(&cfg)
			res, err := RunForgetting(context.Background(), testWorld(), c.mem, DefaultAgentConfig(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := []int{res.Updates, res.Intervening, res.Trained, res.Published, res.Timeouts}
			want := []int{c.updates, c.intervening, c.trained, c.published, c.timeouts}
			for i, name := range []string{"updates", "intervening", "trained", "published", "timeouts"} {
				if got[i] != want[i] {
					t.Errorf("%s %d, want %d (result %v)", name, got[i], want[i], got)
				}
			}
			if res.Proxy || len(res.Between) != res.Intervening || len(res.EvalAfter) != cfg.EvalEpisodes {
				t.Errorf("proxy %v, %d episodes between, %d evaluated after", res.Proxy, len(res.Between), len(res.EvalAfter))
			}
			if rec := c.mem.recorded; rec != cfg.LearnEpisodes+res.Intervening {
				t.Errorf("%d trajectories recorded, want the %d learning and %d intervening ones (evaluations are not recorded)",
					rec, cfg.LearnEpisodes, res.Intervening)
			}
		})
	}
}

// Without adapter counters every recorded episode is one update.
func TestForgettingProxyCountsEpisodes(t *testing.T) {
	mem := &trainingMemory{publishEvery: 1}
	res, err := RunForgetting(context.Background(), testWorld(), mem, DefaultAgentConfig(), forgettingConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Proxy || res.Updates != 6 || res.Intervening != 6 || res.Trained != -1 || res.Published != -1 || res.Timeouts != 0 {
		t.Fatalf("proxy %v updates %d intervening %d trained %d published %d timeouts %d",
			res.Proxy, res.Updates, res.Intervening, res.Trained, res.Published, res.Timeouts)
	}
}

func TestForgettingAdapterError(t *testing.T) {
	mem := &trainingMemory{publishEvery: 1, failAfter: 2}
	cfg := forgettingConfig()
	cfg.Adapter = mem.adapter
	if _, err := RunForgetting(context.Background(), testWorld(), mem, DefaultAgentConfig(), cfg); err == nil {
		t.Fatal("want the counters' error")
	}
}
