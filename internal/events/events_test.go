package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
	"github.com/admem/admem/internal/trajectories"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	pg     testenv.Postgres
	db     *store.DB
	rdb    *redis.Client
	cfg    events.Config
	tenant string
	svc    *trajectories.Service
	l      *trajectories.Learner
}

func setup(t *testing.T) fixture {
	t.Helper()
	pg := testenv.DB(t)
	url, prefix := testenv.Redis(t)
	ctx := context.Background()
	db, err := store.Open(ctx, pg.AppURL, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	ten, err := db.CreateTenant(ctx, admem.Tenant{Name: "events", Status: admem.TenantActive}, admem.AuditEvent{Action: "tenant.created"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := events.DefaultConfig(prefix, "c1")
	cfg.Block = 50 * time.Millisecond
	// One consumer, the learner, which every relayed event waits for.
	cfg.Ledger, cfg.Await = events.Learner.Ledger, []string{events.Learner.Ledger}
	l := trajectories.NewLearner()
	return fixture{pg: pg, db: db, rdb: rdb, cfg: cfg, tenant: ten.ID, svc: trajectories.New(db, l, quiet), l: l}
}

func (f fixture) principal() admem.Principal {
	return admem.Principal{TenantID: f.tenant, Scopes: []admem.KeyScope{admem.ScopeAdmin}}
}

// workload records n trajectories of cancellation tasks: every third
// succeeds after recovering; the others fail with one of three errors.
func workload(t *testing.T, f fixture, n int) (failedBySig map[string]int, successes int) {
	t.Helper()
	failedBySig = map[string]int{}
	errs := []string{"Error: reservation %s not found", "Error: user %s has no payment method gift_card", "Error: cannot cancel basic economy %s"}
	var ts []admem.Trajectory
	for i := 0; i < n; i++ {
		res := fmt.Sprintf("R%05d", i)
		steps := []admem.Step{
			{Action: "get_user_details", Args: map[string]any{"user_id": fmt.Sprintf("u_%d", i)}, Status: admem.StepOK},
			{Action: "cancel_reservation", Args: map[string]any{"reservation_id": res}, Status: admem.StepError,
				Error: fmt.Sprintf(errs[i%3], res)},
		}
		outcome := admem.OutcomeFailure
		if i%3 == 0 {
			steps = append(steps, admem.Step{Action: "cancel_reservation", Args: map[string]any{"reservation_id": res, "reason": "change of plan"}, Status: admem.StepOK})
			outcome = admem.OutcomeSuccess
			successes++
		}
		for _, s := range steps {
			if s.Failed() {
				failedBySig[signature.FromStep(s).ID()]++
			}
		}
		ts = append(ts, admem.Trajectory{Task: "cancel reservation " + res + " for the user", Steps: steps, Outcome: outcome})
	}
	if _, err := f.svc.Record(context.Background(), f.principal(), ts); err != nil {
		t.Fatal(err)
	}
	return failedBySig, successes
}

// drain consumes with c until the group has nothing pending or undelivered.
// Learning writes learned.changed events, so the relay keeps running.
func drain(t *testing.T, f fixture, c *events.Consumer) {
	t.Helper()
	ctx := context.Background()
	relay := events.NewRelay(f.db, f.rdb, f.cfg, quiet, nil)
	deadline := time.Now().Add(5 * time.Minute) // a liveness bound for loaded machines, not a speed check
	for time.Now().Before(deadline) {
		if _, err := relay.RelayOnce(ctx); err != nil {
			t.Fatalf("relay: %v", err)
		}
		if _, err := c.ConsumeOnce(ctx); err != nil {
			t.Fatalf("consume: %v", err)
		}
		d, err := events.Measure(ctx, f.db, f.rdb, f.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.GroupPending == 0 && d.GroupLag == 0 && d.OutboxPending == 0 {
			return
		}
	}
	t.Fatal("the stream did not drain")
}

// checkEffects asserts every effect happened exactly once: each mistake note
// counts each failed step once, each success supports one procedure once,
// every event (the learner's own learned.changed too) is recorded processed
// once, and the learning status has nothing pending.
func checkEffects(t *testing.T, f fixture, failedBySig map[string]int, successes int) {
	t.Helper()
	ctx := context.Background()
	items, err := f.db.ActiveItems(ctx, f.tenant, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	notes, sources := map[string]int{}, 0
	for _, it := range items {
		switch it.Kind {
		case admem.KindMistake:
			var m mistake.Mistake
			if err := json.Unmarshal(it.State, &m); err != nil {
				t.Fatal(err)
			}
			if m.Failures != it.Count {
				t.Errorf("mistake %s: state count %d, row count %d", it.Key, m.Failures, it.Count)
			}
			notes[it.Key] = m.Failures
		case admem.KindProcedure:
			var p trajectories.ProcedureState
			if err := json.Unmarshal(it.State, &p); err != nil {
				t.Fatal(err)
			}
			sources += p.Procedure.Successes()
		}
	}
	for sig, want := range failedBySig {
		if notes[sig] != want {
			t.Errorf("mistake note %s counts %d failed steps, want %d", sig, notes[sig], want)
		}
	}
	if len(notes) != len(failedBySig) {
		t.Errorf("%d notes, want %d", len(notes), len(failedBySig))
	}
	if sources != successes {
		t.Errorf("procedures are supported by %d successes, want %d", sources, successes)
	}
	var outbox, processed, dupes int
	owner, err := pgx.Connect(ctx, f.pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	err = owner.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE tenant_id = $1),
		(SELECT count(*) FROM processed_events WHERE tenant_id = $1),
		(SELECT count(*) FROM (SELECT event_id FROM processed_events WHERE tenant_id = $1 GROUP BY event_id HAVING count(*) > 1) d)`,
		f.tenant).Scan(&outbox, &processed, &dupes)
	if err != nil {
		t.Fatal(err)
	}
	if processed != outbox || dupes != 0 {
		t.Errorf("%d events in the outbox, %d processed (%d twice)", outbox, processed, dupes)
	}
	// Every step is in its tool's history once: as many calls as steps.
	rows, err := owner.Query(ctx, `SELECT s.action, count(*), coalesce(max(h.calls), 0) FROM trajectory_steps s
		LEFT JOIN tool_histories h ON h.tenant_id = s.tenant_id AND h.tool = s.action
		WHERE s.tenant_id = $1 GROUP BY s.action`, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var tool string
		var steps, calls int64
		if err := rows.Scan(&tool, &steps, &calls); err != nil {
			t.Fatal(err)
		}
		if steps != calls {
			t.Errorf("tool %s: %d steps recorded, %d calls in its history", tool, steps, calls)
		}
	}
	st, err := events.NewStatus(f.db).LearningStatus(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	if st.PendingEvents != 0 || !st.OldestPendingAt.IsZero() || st.LastProcessedAt.IsZero() {
		t.Errorf("learning status after the stream drained: %+v", st)
	}
}

// crashAfterPublish appends the batch to the stream and then fails, as a
// relay that died before its commit: the rows stay pending and are relayed
// again, so the stream holds duplicates.
type crashAfterPublish struct{ db *store.DB }

func (c crashAfterPublish) RelayOutbox(ctx context.Context, limit int, await []string, publish func([]admem.Event) ([]string, error)) (int, error) {
	return c.db.RelayOutbox(ctx, limit, await, func(evs []admem.Event) ([]string, error) {
		if _, err := publish(evs); err != nil {
			return nil, err
		}
		return nil, errors.New("relay died before commit")
	})
}

func TestKilledWorkerLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	failedBySig, successes := workload(t, f, 30)

	// A relay dies after appending its first batch: that batch is appended twice.
	f.cfg.Batch = 20
	if _, err := events.NewRelay(crashAfterPublish{f.db}, f.rdb, f.cfg, quiet, nil).RelayOnce(ctx); err == nil {
		t.Fatal("the crashing relay reported success")
	}
	relay := events.NewRelay(f.db, f.rdb, f.cfg, quiet, nil)
	for {
		n, err := relay.RelayOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	d, err := events.Measure(ctx, f.db, f.rdb, f.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.OutboxPending != 0 || d.StreamLength != int64(30+30+20) {
		t.Fatalf("after relaying: %+v, want an empty outbox and 80 entries (60 events, 20 twice)", d)
	}
	if err := events.EnsureGroup(ctx, f.rdb, f.cfg); err != nil {
		t.Fatal(err)
	}

	// Consumer A reads a batch and dies after committing its 5th effect,
	// before acknowledging it; the rest of its batch is never handled.
	handler := f.l.Handler(events.Learner.Ledger, f.db, f.db, nil)
	actx, kill := context.WithCancel(ctx)
	var handled atomic.Int32
	cfgA := f.cfg
	cfgA.Consumer, cfgA.Batch = "worker-a", 10
	a := events.NewConsumer(f.rdb, cfgA, func(ctx context.Context, ev admem.Event) error {
		if err := handler(ctx, ev); err != nil {
			return err
		}
		if handled.Add(1) == 5 {
			kill()
			return context.Canceled // died before the ack
		}
		return nil
	}, f.db, quiet, nil)
	if _, err := a.ConsumeOnce(actx); !errors.Is(err, context.Canceled) {
		t.Fatalf("consumer a: %v, want it killed", err)
	}
	pend, err := f.rdb.XPending(ctx, f.cfg.Stream, f.cfg.Group).Result()
	if err != nil {
		t.Fatal(err)
	}
	if pend.Consumers["worker-a"] != 6 {
		t.Fatalf("worker-a left %d entries pending, want 6 (the 5th handled but unacknowledged, and 5 unhandled)", pend.Consumers["worker-a"])
	}

	// Consumer B reclaims what A left and finishes the stream.
	cfgB := f.cfg
	cfgB.Consumer, cfgB.ClaimIdle = "worker-b", 100*time.Millisecond
	time.Sleep(150 * time.Millisecond)
	drain(t, f, events.NewConsumer(f.rdb, cfgB, handler, f.db, quiet, nil))
	checkEffects(t, f, failedBySig, successes)

	// Replaying the whole stream from the start changes nothing.
	cfgC := f.cfg
	cfgC.Group, cfgC.Consumer = "replay", "worker-c"
	if err := events.EnsureGroup(ctx, f.rdb, cfgC); err != nil {
		t.Fatal(err)
	}
	c := events.NewConsumer(f.rdb, cfgC, handler, f.db, quiet, nil)
	for {
		n, err := c.ConsumeOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	checkEffects(t, f, failedBySig, successes)
}

func TestRelayReplicasShareTheOutbox(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	workload(t, f, 150) // 300 events: one recorded and one step.failed each
	f.cfg.Batch = 7
	var wg sync.WaitGroup
	var total atomic.Int64
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := events.NewRelay(f.db, f.rdb, f.cfg, quiet, nil)
			for {
				n, err := r.RelayOnce(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
				total.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	n, err := f.rdb.XLen(ctx, f.cfg.Stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	if total.Load() != 300 || n != 300 {
		t.Fatalf("relayed %d, stream has %d; want 300 each (no event twice)", total.Load(), n)
	}
}

func TestIngestWhileRedisIsDownThenRelayCatchesUp(t *testing.T) {
	t.Parallel()
	// The API's Redis is unreachable.
	env := apitest.New(t, apitest.WithEnv("ADMEM_REDIS_URL", "redis://127.0.0.1:1/0"))
	_, admin := env.Tenant(t, "redis-down")
	for i := 0; i < 3; i++ {
		r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "t", "outcome": "failure",
			"steps": []map[string]any{{"action": "a", "error": "Error: boom"}}})
		if r.Status != http.StatusCreated {
			t.Fatalf("ingest with Redis down: %d %s", r.Status, r.Body)
		}
	}
	ctx := context.Background()
	url, prefix := testenv.Redis(t)
	cfg := events.DefaultConfig(prefix, "c")
	down := events.NewRelay(env.Infra.DB, env.Infra.Redis, cfg, quiet, nil)
	if _, err := down.RelayOnce(ctx); err == nil {
		t.Fatal("relay to an unreachable Redis succeeded")
	}
	if n, _, err := env.Infra.DB.OutboxBacklog(ctx); err != nil || n != 6 {
		t.Fatalf("backlog %d (%v), want 6 events kept", n, err)
	}
	// Redis is back: the relay catches up.
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	up := events.NewRelay(env.Infra.DB, rdb, cfg, quiet, nil)
	if n, err := up.RelayOnce(ctx); err != nil || n != 6 {
		t.Fatalf("catch-up relayed %d (%v), want 6", n, err)
	}
	if n, _, _ := env.Infra.DB.OutboxBacklog(ctx); n != 0 {
		t.Fatalf("backlog %d after catching up", n)
	}
	if n, _ := rdb.XLen(ctx, cfg.Stream).Result(); n != 6 {
		t.Fatalf("stream has %d entries, want 6", n)
	}
}

func TestPoisonEventIsDeadLetteredAndVisibleToItsTenantAdmin(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tenantID, admin := env.Tenant(t, "poison")
	_, otherAdmin := env.Tenant(t, "poison-other")
	r := env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "t", "outcome": "success", "steps": []map[string]any{{"action": "a"}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	ctx := context.Background()
	url, prefix := testenv.Redis(t)
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	cfg := events.DefaultConfig(prefix, "w")
	cfg.Block, cfg.ClaimIdle, cfg.MaxAttempts = 20*time.Millisecond, 30*time.Millisecond, 3
	cfg.Ledger, cfg.Await = events.Learner.Ledger, []string{events.Learner.Ledger}
	if _, err := events.NewRelay(env.Infra.DB, rdb, cfg, quiet, nil).RelayOnce(ctx); err != nil {
		t.Fatal(err)
	}
	status := events.NewStatus(env.Infra.DB)
	if st, err := status.LearningStatus(ctx, tenantID); err != nil || st.PendingEvents != 1 {
		t.Fatalf("status before consuming: %+v (%v), want 1 pending", st, err)
	}
	var calls atomic.Int32
	c := events.NewConsumer(rdb, cfg, func(context.Context, admem.Event) error {
		calls.Add(1)
		return errors.New("handler bug")
	}, env.Infra.DB, quiet, nil)
	if err := events.EnsureGroup(ctx, rdb, cfg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := c.ConsumeOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := rdb.XLen(ctx, cfg.DeadStream).Result(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the event was never dead-lettered")
		}
		time.Sleep(40 * time.Millisecond)
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("handler ran %d times, want MaxAttempts = 3", got)
	}
	if p, _ := rdb.XPending(ctx, cfg.Stream, cfg.Group).Result(); p.Count != 0 {
		t.Fatalf("%d entries still pending", p.Count)
	}
	// Given up on, the event no longer counts as pending: a client waiting
	// for its learning to catch up is not kept waiting forever.
	if st, err := status.LearningStatus(ctx, tenantID); err != nil || st.PendingEvents != 0 || st.DeadLettered != 1 {
		t.Fatalf("status after the dead letter: %+v (%v), want none pending and 1 dead-lettered", st, err)
	}
	var list struct {
		Items []struct {
			Type      string `json:"type"`
			Attempts  int    `json:"attempts"`
			LastError string `json:"last_error"`
		} `json:"items"`
	}
	env.Do(t, "GET", "/v1/dead-letters", admin, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Type != admem.EventTrajectoryRecorded || list.Items[0].Attempts != 3 || list.Items[0].LastError != "handler bug" {
		t.Fatalf("dead letters: %+v", list.Items)
	}
	list.Items = nil
	env.Do(t, "GET", "/v1/dead-letters", otherAdmin, nil).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("another tenant sees %d dead letters", len(list.Items))
	}
}

// TestEventsOfADeletedTenantDoNotBlockTheStream: a tenant deleted after its
// events reached the stream leaves nothing to learn; its events are
// acknowledged instead of failing forever in front of everyone else's.
func TestEventsOfADeletedTenantDoNotBlockTheStream(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	workload(t, f, 3)
	if _, err := events.NewRelay(f.db, f.rdb, f.cfg, quiet, nil).RelayOnce(ctx); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, f.pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, f.tenant); err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureGroup(ctx, f.rdb, f.cfg); err != nil {
		t.Fatal(err)
	}
	c := events.NewConsumer(f.rdb, f.cfg, f.l.Handler(events.Learner.Ledger, f.db, f.db, nil), f.db, quiet, nil)
	n, err := c.ConsumeOnce(ctx)
	if err != nil || n != 6 {
		t.Fatalf("consumed %d (%v), want all 6 acknowledged", n, err)
	}
	if p, _ := f.rdb.XPending(ctx, f.cfg.Stream, f.cfg.Group).Result(); p.Count != 0 {
		t.Fatalf("%d entries left pending", p.Count)
	}
}

// relayHeldOpen publishes, then, before its transaction commits, calls
// meanwhile: the relay's row locks are still held.
type relayHeldOpen struct {
	db        *store.DB
	meanwhile func()
}

func (r relayHeldOpen) RelayOutbox(ctx context.Context, limit int, await []string, publish func([]admem.Event) ([]string, error)) (int, error) {
	return r.db.RelayOutbox(ctx, limit, await, func(evs []admem.Event) ([]string, error) {
		ids, err := publish(evs)
		if err != nil {
			return nil, err
		}
		r.meanwhile()
		return ids, nil
	})
}

// TestEventFinishedBeforeItsRelayCommittedIsSettled: a consumer can read an
// event from the stream, and finish it, before the relay that appended it
// has committed (the relay marks its rows after appending). Its settlement
// must wait for the relay and apply to what the relay wrote, or the event
// would stay pending forever.
func TestEventFinishedBeforeItsRelayCommittedIsSettled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	workload(t, f, 1) // 2 events
	if err := events.EnsureGroup(ctx, f.rdb, f.cfg); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, f.pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	var handled atomic.Int32
	c := events.NewConsumer(f.rdb, f.cfg, func(context.Context, admem.Event) error {
		handled.Add(1)
		return nil
	}, f.db, quiet, nil)
	consumed := make(chan error, 1)
	meanwhile := func() {
		go func() {
			_, err := c.ConsumeOnce(ctx)
			consumed <- err
		}()
		// Wait until the consumer's settlement blocks on the relay's lock.
		deadline := time.Now().Add(time.Minute) // a liveness bound, not a speed check
		for {
			var waiting int
			if err := owner.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE wait_event_type = 'Lock' AND query LIKE '%admem_outbox_settle%'`).Scan(&waiting); err != nil {
				t.Error(err)
				return
			}
			if waiting > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Error("the consumer never waited for the relay")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if n, err := events.NewRelay(relayHeldOpen{f.db, meanwhile}, f.rdb, f.cfg, quiet, nil).RelayOnce(ctx); err != nil || n != 2 {
		t.Fatalf("relayed %d (%v), want 2", n, err)
	}
	if err := <-consumed; err != nil {
		t.Fatal(err)
	}
	if handled.Load() != 2 {
		t.Fatalf("handled %d events, want 2", handled.Load())
	}
	st, err := events.NewStatus(f.db).LearningStatus(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	if st.PendingEvents != 0 {
		t.Fatalf("status %+v: an event finished before its relay committed stays pending", st)
	}
}

// TestStreamLostWithRedisIsRelayedAgain: a Redis that lost the stream
// (restarted empty) took relayed events nobody had learnt; the relay never
// sends a relayed event again. StreamRecovery notices the stream's marker
// is gone and appends every relayed, unsettled event anew; the learner
// absorbs the copies the stream still held, and every effect happens once.
func TestStreamLostWithRedisIsRelayedAgain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	failedBySig, successes := workload(t, f, 12) // 24 events
	relay := events.NewRelay(f.db, f.rdb, f.cfg, quiet, nil)
	if n, err := relay.RelayOnce(ctx); err != nil || n != 24 {
		t.Fatalf("relayed %d (%v), want 24", n, err)
	}
	rec := events.NewStreamRecovery(f.db, f.rdb, f.cfg, quiet, nil)
	// A Redis never seen before has no marker: whatever is unsettled is
	// appended again (here all 24, which the stream also holds).
	if n, err := rec.Check(ctx); err != nil || n != 24 {
		t.Fatalf("first check appended %d (%v), want 24", n, err)
	}
	if n, err := rec.Check(ctx); err != nil || n != 0 {
		t.Fatalf("check with the marker in place appended %d (%v), want 0", n, err)
	}
	// Learn half of it, then Redis loses everything.
	if err := events.EnsureGroup(ctx, f.rdb, f.cfg); err != nil {
		t.Fatal(err)
	}
	handler := f.l.Handler(events.Learner.Ledger, f.db, f.db, nil)
	cfg := f.cfg
	cfg.Batch = 12
	if n, err := events.NewConsumer(f.rdb, cfg, handler, f.db, quiet, nil).ConsumeOnce(ctx); err != nil || n != 12 {
		t.Fatalf("consumed %d (%v), want 12", n, err)
	}
	if err := f.rdb.Del(ctx, f.cfg.Stream, rec.MarkerKey()).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rec.Check(ctx); err != nil || n != 12 {
		t.Fatalf("after the loss %d appended again (%v), want the 12 unlearnt", n, err)
	}
	drain(t, f, events.NewConsumer(f.rdb, f.cfg, handler, f.db, quiet, nil))
	checkEffects(t, f, failedBySig, successes)
}

// TestEventRelayedAsRedisLosesTheStreamIsAppendedAgain: Redis loses its
// data while a relay has appended a batch and not yet committed, and a
// worker's marker check runs in that moment: it sets the marker again and
// appends what it sees relayed, which is not that batch (its rows are not
// committed yet). The relay then commits rows whose entries went with the
// old Redis. The stream recovery, the job the worker runs, must put them
// back: the marker is in place, so only a check of each event's entry
// can tell.
func TestEventRelayedAsRedisLosesTheStreamIsAppendedAgain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	failedBySig, successes := workload(t, f, 2) // 4 events
	cfg := f.cfg
	cfg.LostAfter = 0
	rec := events.NewStreamRecovery(f.db, f.rdb, cfg, quiet, nil)
	if _, err := rec.Recover(ctx); err != nil { // the marker of a well Redis
		t.Fatal(err)
	}
	meanwhile := func() {
		if err := f.rdb.Del(ctx, f.cfg.Stream, rec.MarkerKey()).Err(); err != nil {
			t.Error(err)
		}
		if n, err := rec.Recover(ctx); err != nil || n != 0 {
			t.Errorf("recovery while the relay is uncommitted appended %d (%v), want 0: it cannot see the batch", n, err)
		}
	}
	if n, err := events.NewRelay(relayHeldOpen{f.db, meanwhile}, f.rdb, f.cfg, quiet, nil).RelayOnce(ctx); err != nil || n != 4 {
		t.Fatalf("relayed %d (%v), want 4", n, err)
	}
	if n, err := rec.Recover(ctx); err != nil || n != 4 {
		t.Fatalf("recovery after the relay committed appended %d (%v), want the 4 events whose entries are gone", n, err)
	}
	// Entries on their way are left alone: undelivered, then pending.
	if n, err := rec.Recover(ctx); err != nil || n != 0 {
		t.Fatalf("recovery appended %d undelivered events again (%v), want 0", n, err)
	}
	if err := events.EnsureGroup(ctx, f.rdb, f.cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: f.cfg.Group, Consumer: "slow", Streams: []string{f.cfg.Stream, ">"},
		Count: 2}).Result(); err != nil {
		t.Fatal(err)
	}
	if n, err := rec.Recover(ctx); err != nil || n != 0 {
		t.Fatalf("recovery appended %d pending events again (%v), want 0", n, err)
	}
	handler := f.l.Handler(events.Learner.Ledger, f.db, f.db, nil)
	f.cfg.ClaimIdle = 0 // the slow consumer's two are reclaimed at once
	drain(t, f, events.NewConsumer(f.rdb, f.cfg, handler, f.db, quiet, nil))
	checkEffects(t, f, failedBySig, successes)
}

// TestEventTheDatabaseDoesNotHoldIsDeadLettered: after Postgres is
// restored from a backup the stream still holds events the database does
// not have. The consumer says so with a dead letter (reason included)
// rather than acknowledging them silently, and learns the rest.
func TestEventTheDatabaseDoesNotHoldIsDeadLettered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	workload(t, f, 1) // 2 events
	if n, err := events.NewRelay(f.db, f.rdb, f.cfg, quiet, nil).RelayOnce(ctx); err != nil || n != 2 {
		t.Fatalf("relayed %d (%v), want 2", n, err)
	}
	gone := "0b6d4c1e-8f1a-4a8e-9f5e-2d3c4b5a6978"
	if err := f.rdb.XAdd(ctx, &redis.XAddArgs{Stream: f.cfg.Stream, Values: map[string]any{"id": gone, "tenant": f.tenant,
		"type": admem.EventTrajectoryRecorded, "subject": "6a1f0e2d-3c4b-4a59-8e7f-1d2c3b4a5f60", "payload": "{}"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureGroup(ctx, f.rdb, f.cfg); err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int32
	c := events.NewConsumer(f.rdb, f.cfg, func(context.Context, admem.Event) error {
		handled.Add(1)
		return nil
	}, f.db, quiet, nil)
	if n, err := c.ConsumeOnce(ctx); err != nil || n != 3 {
		t.Fatalf("consumed %d (%v), want all 3 acknowledged", n, err)
	}
	if handled.Load() != 2 {
		t.Fatalf("handled %d events, want the 2 the database holds", handled.Load())
	}
	dead, _, err := f.db.ListDeadLetters(ctx, f.tenant, admem.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Event.ID != gone || dead[0].LastError != events.ReasonUnknownEvent {
		t.Fatalf("dead letters %+v, want the one event the database lacks, with its reason", dead)
	}
	if n, err := f.rdb.XLen(ctx, f.cfg.DeadStream).Result(); err != nil || n != 1 {
		t.Fatalf("dead-letter stream holds %d (%v), want 1", n, err)
	}
}
