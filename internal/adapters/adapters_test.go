package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/adapters/adapterstest"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/learner/adapter"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func synthSteps(n, d int, seed uint64, prefix string) []admem.LabelledStep {
	return adapterstest.SynthSteps(n, d, seed, prefix)
}

func record(t testing.TB, env *apitest.Env, tenant string, steps []admem.LabelledStep) {
	t.Helper()
	if err := adapterstest.Record(context.Background(), env.Infra.DB, tenant, steps); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryPollsWhenNotificationsAreLost activates versions without any
// notification: a replica's registry still converges by polling, and the
// model it serves is the activated version's, bit for bit.
func TestRegistryPollsWhenNotificationsAreLost(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenant, _ := env.Tenant(t, "poll")
	ctx := context.Background()
	db := env.Infra.DB
	reg := adapters.NewRegistry(db, quiet)
	if a, err := reg.Get(ctx, tenant); err != nil || a != nil {
		t.Fatalf("no adapter yet: got %v, %v", a, err)
	}

	trainer := adapters.NewTrainer(db, "synth", nil, adapters.TrainOptions{MinNew: 1}, quiet)
	record(t, env, tenant, synthSteps(600, 16, 1, "a"))
	r1, err := trainer.TrainTenant(ctx, tenant)
	if err != nil || !r1.Activated {
		t.Fatalf("train v1: %+v %v", r1, err)
	}
	// Without a notification, Get keeps serving what it loaded...
	if a, _ := reg.Get(ctx, tenant); a != nil {
		t.Fatalf("registry swapped without a notification or a poll: v%d", a.Version)
	}
	// ...until a poll notices.
	if err := reg.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	a1, _ := reg.Get(ctx, tenant)
	if a1 == nil || a1.Version != 1 {
		t.Fatalf("after poll: %+v", a1)
	}
	record(t, env, tenant, synthSteps(600, 16, 2, "b"))
	r2, err := trainer.TrainTenant(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Activated {
		if _, err := db.ActivateAdapterVersion(ctx, tenant, "", 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	a2, _ := reg.Get(ctx, tenant)
	if a2 == nil || a2.Version != 2 {
		t.Fatalf("after second poll: %+v", a2)
	}
	// a1 is still usable by requests that started on it; rollback restores its scores exactly.
	c, x := make([]float64, 16), make([]float64, 16)
	for i := range c {
		c[i], x[i] = float64(i%5)/5, float64(i%3)/3
	}
	before := a1.Model.Risk(c, x)
	if _, err := db.ActivateAdapterVersion(ctx, tenant, "", 1); err != nil {
		t.Fatal(err)
	}
	if err := reg.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	back, _ := reg.Get(ctx, tenant)
	if back.Version != 1 || back.Model.Risk(c, x) != before {
		t.Fatalf("rollback: v%d risk %v, want v1 risk %v", back.Version, back.Model.Risk(c, x), before)
	}
	if reg.Swaps() < 3 {
		t.Fatalf("swaps = %d, want at least 3", reg.Swaps())
	}
}

// TestTrainGatePublishRecordsMetrics trains on 2,000 labelled steps, checks
// the stored version and the training state, and logs how long train +
// gate + publish took (BenchmarkTrainPublish10k measures 10,000).
func TestTrainGatePublishRecordsMetrics(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenant, _ := env.Tenant(t, "train")
	ctx := context.Background()
	db := env.Infra.DB
	record(t, env, tenant, synthSteps(2000, 32, 3, "t"))
	trainer := adapters.NewTrainer(db, "synth", adapters.NewNotifier(env.Infra.Redis, env.Config.RedisPrefix), adapters.TrainOptions{MinNew: 1}, quiet)
	due, err := db.AdapterTrainingDue(ctx, 1000, time.Hour)
	if err != nil || len(due) != 1 || due[0] != tenant {
		t.Fatalf("due = %v, %v; want [%s]", due, err, tenant)
	}
	res, err := trainer.TrainTenant(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train+gate+publish of %d labelled steps: %v (train %d, held out %d) %q", res.NewExamples, res.Duration, res.TrainN, res.HeldOut, res.Reasons)
	if !res.Activated || res.Version.Status != admem.AdapterActive {
		t.Fatalf("the first adapter on learnable data was not activated: %q", res.Reasons)
	}
	v, err := db.GetAdapterVersion(ctx, tenant, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	held := v.Metrics["held_out"].(map[string]any)
	if auc := held["auc"].(float64); auc < 0.7 {
		t.Fatalf("held-out AUC %.3f: the model learnt nothing", auc)
	}
	m := new(adapter.Model)
	if err := m.UnmarshalBinary(v.Blob); err != nil || m.EmbedderID() != "synth" || m.Dim() != 32 {
		t.Fatalf("stored blob: %v (embedder %q, dim %d)", err, m.EmbedderID(), m.Dim())
	}
	// Trained through the last example; nothing is due until more arrive.
	if due, _ := db.AdapterTrainingDue(ctx, 1, time.Hour); len(due) != 0 {
		t.Fatalf("still due after training: %v", due)
	}
	if _, err := trainer.TrainTenant(ctx, tenant); err != adapters.ErrNothingToTrain {
		t.Fatalf("training again without new steps: %v", err)
	}
	st, err := db.GetAdapterState(ctx, tenant)
	if err != nil || len(st.Reservoir) == 0 || st.LastTrainedAt == nil {
		t.Fatalf("state: %+v %v", st, err)
	}

	// A tenant with too few steps gets no candidate the gate could only reject.
	small, _ := env.Tenant(t, "train-small")
	record(t, env, small, synthSteps(30, 32, 4, "s"))
	if _, err := trainer.TrainTenant(ctx, small); err != adapters.ErrNothingToTrain {
		t.Fatalf("training on 30 steps: %v, want ErrNothingToTrain", err)
	}
	if vs, _, err := db.ListAdapterVersions(ctx, small, admem.Page{}); err != nil || len(vs) != 0 {
		t.Fatalf("versions of the small tenant: %d %v", len(vs), err)
	}
}

// BenchmarkTrainPublish10k measures the worker's train + gate + publish for
// 10,000 labelled steps at the offline embedder's dimension (100), storage
// included: reading the examples, training, evaluating the candidate and
// the active version, storing the version and reservoir, announcing it.
func BenchmarkTrainPublish10k(b *testing.B) {
	env := apitest.New(b)
	ctx := context.Background()
	db := env.Infra.DB
	trainer := adapters.NewTrainer(db, "synth", adapters.NewNotifier(env.Infra.Redis, env.Config.RedisPrefix), adapters.TrainOptions{MinNew: 1}, quiet)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		tenant, _ := env.Tenant(b, fmt.Sprintf("bench-%d", i))
		record(b, env, tenant, synthSteps(10000, adapter.DefaultDim, uint64(i), "b"))
		b.StartTimer()
		res, err := trainer.TrainTenant(ctx, tenant)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.Duration.Seconds(), "train_publish_s")
	}
}

// TestOneTrainingPerTenantAtATime: while one trainer (another worker
// replica) holds the tenant's training lock, a second one does not train
// the same examples only to have its version thrown away at save; it
// steps aside, and trains once the lock is free.
func TestOneTrainingPerTenantAtATime(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenant, _ := env.Tenant(t, "one-trainer")
	ctx := context.Background()
	db := env.Infra.DB
	record(t, env, tenant, synthSteps(300, 16, 3, "a"))
	release, ok, err := db.TryLockAdapterTraining(ctx, tenant)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, err := db.TryLockAdapterTraining(ctx, tenant); err != nil || ok {
		t.Fatalf("second lock while the first is held: %v %v", ok, err)
	}
	other, _ := env.Tenant(t, "other-trainer")
	if release2, ok, err := db.TryLockAdapterTraining(ctx, other); err != nil || !ok {
		t.Fatalf("another tenant's lock: %v %v", ok, err)
	} else {
		release2()
	}
	trainer := adapters.NewTrainer(db, "synth", nil, adapters.TrainOptions{MinNew: 1}, quiet)
	if _, err := trainer.TrainTenant(ctx, tenant); !errors.Is(err, adapters.ErrTrainingInProgress) {
		t.Fatalf("training while another trainer holds the lock: %v", err)
	}
	if err := trainer.RunDue(ctx); err != nil {
		t.Fatalf("RunDue while another trainer holds the lock: %v", err)
	}
	release()
	if r, err := trainer.TrainTenant(ctx, tenant); err != nil || r.Version.Version != 1 {
		t.Fatalf("after release: %+v %v", r, err)
	}
}
