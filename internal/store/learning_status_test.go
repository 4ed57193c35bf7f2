package store_test

import (
	"context"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
)

// TestLearningStatusIsPerTenantAndSettledOnlyByItsTenant: each tenant's
// status counts its own events only, and settling an event in another
// tenant's transaction (the settle function runs with its owner's rights,
// past row-level security) changes nothing.
func TestLearningStatusIsPerTenantAndSettledOnlyByItsTenant(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	a, b := testenv.Tenant(t, db, "status-a"), testenv.Tenant(t, db, "status-b")
	failed := admem.Trajectory{Task: "t", Outcome: admem.OutcomeFailure,
		Steps: []admem.Step{{Action: "x", Status: admem.StepError, Error: "Error: boom"}}}
	for _, ten := range []string{a, b} {
		if _, err := db.RecordTrajectories(ctx, ten, []store.NewTrajectory{{Trajectory: failed}}); err != nil {
			t.Fatal(err)
		}
	}
	consumers := []string{"one", "two"}
	status := func(ten string) admem.LearningStatus {
		t.Helper()
		st, err := db.LearningStatus(ctx, ten, consumers)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// Written, not relayed: pending for every consumer.
	if st := status(a); st.PendingEvents != 2 || st.OldestPendingAt.IsZero() || !st.LastProcessedAt.IsZero() {
		t.Fatalf("tenant a before the relay: %+v", st)
	}
	evsA, err := db.PendingEvents(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RelayOutbox(ctx, 100, consumers, func([]admem.Event) ([]string, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	// Tenant b settles a's events, under both names: nothing changes.
	for _, ev := range evsA {
		for _, c := range consumers {
			for _, processed := range []bool{true, false} {
				if err := db.SettleEvent(ctx, b, c, ev.ID, processed); err != nil {
					t.Fatal(err)
				}
			}
			if ok, err := db.Processed(ctx, b, c, ev.ID); err != nil || ok {
				t.Fatalf("tenant b recorded tenant a's event %s as processed (%v)", ev.ID, err)
			}
		}
	}
	if st := status(a); st.PendingEvents != 2 {
		t.Fatalf("tenant a after tenant b settled its events: %+v", st)
	}
	// Consumer one finishes both, consumer two gives one up: one pending.
	for i, ev := range evsA {
		if err := db.SettleEvent(ctx, a, "one", ev.ID, true); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := db.SettleEvent(ctx, a, "two", ev.ID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := status(a); st.PendingEvents != 1 || st.LastProcessedAt.IsZero() {
		t.Fatalf("tenant a with one event left for consumer two: %+v", st)
	}
	// A consumer no longer listed is not waited for.
	if st, err := db.LearningStatus(ctx, a, []string{"one"}); err != nil || st.PendingEvents != 0 || !st.OldestPendingAt.IsZero() {
		t.Fatalf("tenant a waiting for consumer one only: %+v (%v)", st, err)
	}
	if st := status(b); st.PendingEvents != 2 || !st.LastProcessedAt.IsZero() {
		t.Fatalf("tenant b: %+v", st)
	}
}
