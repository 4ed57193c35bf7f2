package trajectories_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/events"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
	"github.com/admem/admem/internal/trajectories"
)

type fixture struct {
	db     *store.DB
	svc    *trajectories.Service
	l      *trajectories.Learner
	p      admem.Principal
	handle func(context.Context, admem.Event) error
}

func setup(t *testing.T, strategy admem.UpdateStrategy) fixture {
	t.Helper()
	pg := testenv.DB(t)
	ctx := context.Background()
	db, err := store.Open(ctx, pg.AppURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ten, err := db.CreateTenant(ctx, admem.Tenant{Name: "learn", Status: admem.TenantActive}, admem.AuditEvent{Action: "tenant.created"})
	if err != nil {
		t.Fatal(err)
	}
	l := trajectories.NewLearner()
	svc := trajectories.New(db, l, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := admem.Principal{TenantID: ten.ID, Scopes: []admem.KeyScope{admem.ScopeAdmin}}
	st := store.DefaultLearningSettings
	st.Strategy = strategy
	if _, err := svc.PutSettings(ctx, p, st); err != nil {
		t.Fatal(err)
	}
	return fixture{db: db, svc: svc, l: l, p: p, handle: l.Handler(events.Learner.Ledger, db, db, nil)}
}

// record stores trajectories and applies their events as the worker would.
func (f fixture) record(t *testing.T, ts ...admem.Trajectory) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.svc.Record(ctx, f.p, ts); err != nil {
		t.Fatal(err)
	}
	evs, err := f.db.PendingEvents(ctx, f.p.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := f.handle(ctx, ev); err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
	}
	// Mark them relayed so the next call sees only new ones.
	if _, err := f.db.RelayOutbox(ctx, 1000, nil, func([]admem.Event) ([]string, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) items(t *testing.T, kind admem.EntryKind) []store.LearnedItem {
	t.Helper()
	its, err := f.db.ActiveItems(context.Background(), f.p.TenantID, kind, 100)
	if err != nil {
		t.Fatal(err)
	}
	return its
}

func refund(outcome admem.Outcome, order string, fail bool) admem.Trajectory {
	steps := []admem.Step{
		{Action: "get_order", Args: map[string]any{"order_id": order}, Status: admem.StepOK},
		{Action: "refund_order", Args: map[string]any{"order_id": order, "amount": 120}, Status: admem.StepOK},
	}
	if fail {
		steps[1].Status, steps[1].Error = admem.StepError, "Error: order "+order+" was already refunded"
	}
	return admem.Trajectory{Task: "refund the order of the customer", Outcome: outcome, Steps: steps}
}

func TestUpdateStrategies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		strategy            admem.UpdateStrategy
		notes, procVersions int
		pitfall             bool
	}{
		// Failures teach notes; the procedure is never revised for them.
		{admem.StrategyAppendOnly, 1, 1, false},
		// Only successes are learnt from: no notes.
		{admem.StrategySuccessOnly, 0, 1, false},
		// A failure of an agent that followed the procedure gives it a new
		// version marking the failing step.
		{admem.StrategyReflect, 1, 2, true},
	}
	for _, c := range cases {
		t.Run(string(c.strategy), func(t *testing.T) {
			t.Parallel()
			f := setup(t, c.strategy)
			f.record(t, refund(admem.OutcomeSuccess, "1001", false))
			f.record(t, refund(admem.OutcomeFailure, "1002", true))
			if got := len(f.items(t, admem.KindMistake)); got != c.notes {
				t.Fatalf("%d mistake notes, want %d", got, c.notes)
			}
			procs := f.items(t, admem.KindProcedure)
			if len(procs) != 1 {
				t.Fatalf("%d procedures, want 1", len(procs))
			}
			if procs[0].Version != c.procVersions {
				t.Fatalf("procedure version %d, want %d", procs[0].Version, c.procVersions)
			}
			if got := strings.Contains(procs[0].Content, "Caution at step 2 (refund_order)"); got != c.pitfall {
				t.Fatalf("pitfall marked %v, want %v:\n%s", got, c.pitfall, procs[0].Content)
			}
		})
	}
}

func TestProceduresMergeInsteadOfPilingUp(t *testing.T) {
	t.Parallel()
	f := setup(t, admem.StrategyReflect)
	for _, o := range []string{"1001", "1002", "1003"} {
		f.record(t, refund(admem.OutcomeSuccess, o, false))
	}
	procs := f.items(t, admem.KindProcedure)
	if len(procs) != 1 || procs[0].Count != 3 || procs[0].Version != 3 {
		t.Fatalf("procedures: %s", describe(procs))
	}
	var st trajectories.ProcedureState
	if err := json.Unmarshal(procs[0].State, &st); err != nil {
		t.Fatal(err)
	}
	// The order id differs between runs: it became a placeholder.
	if len(st.Procedure.Params) == 0 || !strings.Contains(procs[0].Content, "{") {
		t.Fatalf("no placeholder for the order id: %s", procs[0].Content)
	}
}

func TestMistakeNoteCountsEachFailedStepOnceWithItsCorrection(t *testing.T) {
	t.Parallel()
	f := setup(t, admem.StrategyReflect)
	f.record(t, refund(admem.OutcomeFailure, "1001", true), refund(admem.OutcomeFailure, "1002", true))
	// The step.failed and trajectory.recorded events both learn the same
	// failed steps; each counts once.
	notes := f.items(t, admem.KindMistake)
	if len(notes) != 1 || notes[0].Count != 2 {
		t.Fatalf("notes: %s", describe(notes))
	}
	// An agent that fails, takes the step the call lacked, and makes the
	// same call again, which works, teaches the fix; its failure counts too.
	rec := refund(admem.OutcomeSuccess, "1003", true)
	rec.Steps = append(rec.Steps,
		admem.Step{Action: "check_refund_status", Args: map[string]any{"order_id": "1003"}, Status: admem.StepOK},
		admem.Step{Action: "refund_order", Args: map[string]any{"order_id": "1003", "amount": 120}, Status: admem.StepOK})
	f.record(t, rec)
	notes = f.items(t, admem.KindMistake)
	if len(notes) != 1 || notes[0].Count != 3 || !strings.Contains(notes[0].Content, "Fix: first call check_refund_status") {
		t.Fatalf("after the recovery: %s", describe(notes))
	}
}

func describe(its []store.LearnedItem) string {
	var b strings.Builder
	for _, it := range its {
		b.WriteString("\n" + string(it.Kind) + " " + it.Key + " count " + strconv.Itoa(it.Count) + " v" + strconv.Itoa(it.Version) + ": " + it.Content)
	}
	return b.String()
}
