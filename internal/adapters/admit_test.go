package adapters_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/failures/failurestest"
	"github.com/admem/admem/internal/poison"
	"github.com/admem/admem/internal/wiring"
)

// One source's volume of fabricated failures puts at most
// PerSourceLabels of them into training; a trusted key's, or independent
// sources', all count.
func TestTrainingCapsOneSourcesShareOfALabel(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithEnv("ADMEM_EMBED_FILE", failurestest.WordVectorFile(t)))
	emb, err := wiring.LoadEmbedder(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	victim := poison.Source{Key: 0, Agent: "shop-bot"}
	const n = 40
	for _, c := range []struct {
		name    string
		srcs    []poison.Source
		trusted bool
		dropped int
	}{
		{"one key", poison.OneKey[:1:1], false, n - adapters.PerSourceLabels},
		{"one trusted key", poison.OneKey[:1:1], true, 0},
		{"independent keys", poison.Independent, false, 0},
	} {
		srcs := make([]poison.Source, len(c.srcs))
		for i, s := range c.srcs {
			srcs[i] = poison.Source{Key: s.Key + 1, Agent: s.Agent} // key 0 is the victim's
		}
		sc := poison.Fabricated(victim, srcs, n, "Gone: order O-4411 no longer accepts changes")
		runs := append(poison.History(victim, 60), sc.Runs...)
		tenantID, admin := env.Tenant(t, "admit-"+strings.ReplaceAll(c.name, " ", "-"))
		var keys, ids []string
		for range sc.Keys {
			id, k := env.Key(t, admin, "write")
			keys, ids = append(keys, k), append(ids, id)
		}
		if c.trusted {
			if r := env.Do(t, "PUT", "/v1/keys/"+ids[1]+"/learning-trust", admin, map[string]any{"trusted": true}); r.Status != 200 {
				t.Fatalf("trust: %d %s", r.Status, r.Body)
			}
		}
		for i, r := range runs {
			if resp := env.Do(t, "POST", "/v1/trajectories", keys[r.Source.Key], r.Body(fmt.Sprint("s", i))); resp.Status != 201 {
				t.Fatalf("run %d: %d %s", i, resp.Status, resp.Body)
			}
		}
		env.LearnPending(t, tenantID)
		tr := adapters.NewTrainer(env.Infra.DB, emb.ID(), nil, adapters.TrainOptions{MinNew: 1}, quiet)
		res, err := tr.TrainTenant(ctx, tenantID)
		if err != nil {
			t.Fatalf("%s: train: %v", c.name, err)
		}
		if got := res.NewExamples - res.TrainN - res.HeldOut; got != c.dropped {
			t.Fatalf("%s: %d of %d examples left out (train %d, held out %d), want %d", c.name, got, res.NewExamples, res.TrainN, res.HeldOut, c.dropped)
		}
	}
}
