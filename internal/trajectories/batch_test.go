package trajectories_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/events"
)

// learntState is what learning left in a tenant, without ids: each item's
// kind, key and count, and how many failed steps mistakes counted.
func learntState(t *testing.T, f fixture) []string {
	t.Helper()
	var out []string
	for _, kind := range []admem.EntryKind{admem.KindMistake, admem.KindProcedure} {
		for _, it := range f.items(t, kind) {
			key := it.Key
			if kind == admem.KindProcedure {
				key = "" // a procedure's key is its first source's
			}
			out = append(out, fmt.Sprintf("%s %s count=%d", kind, key, it.Count))
		}
	}
	sort.Strings(out)
	return out
}

func batchWork() []admem.Trajectory {
	var ts []admem.Trajectory
	for i := range 12 {
		order := fmt.Sprint(2000 + i)
		ts = append(ts, refund(admem.OutcomeSuccess, order, false), refund(admem.OutcomeFailure, order+"1", true))
		if i%3 == 0 {
			// An open trajectory's failed step is learnt at once.
			open := refund(admem.OutcomeUnknown, order+"2", true)
			open.Open = true
			ts = append(ts, open)
		}
	}
	return ts
}

// pending records the trajectories and returns their events, as the
// consumer would read them.
func pending(t *testing.T, f fixture, ts []admem.Trajectory) []admem.Event {
	t.Helper()
	ctx := context.Background()
	if _, err := f.svc.Record(ctx, f.p, ts); err != nil {
		t.Fatal(err)
	}
	evs, err := f.db.PendingEvents(ctx, f.p.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestBatchLearnsAsOneAtATimeAndRedeliveryChangesNothing learns the same
// trajectories event by event in one tenant and in batches in others:
// the batch leaves the same mistakes and procedure counts, a redelivered
// batch changes nothing, and two workers handling the same events at once
// neither double nor lose an effect.
func TestBatchLearnsAsOneAtATimeAndRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	one := setup(t, admem.StrategyAppendOnly)
	for _, ev := range pending(t, one, batchWork()) {
		if err := one.handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	want := learntState(t, one)
	if len(want) < 2 {
		t.Fatalf("nothing learnt: %v", want)
	}

	batched := setup(t, admem.StrategyAppendOnly)
	h := batched.l.BatchHandler(events.Learner.Ledger, batched.db, batched.db, nil, nil)
	evs := pending(t, batched, batchWork())
	for pass := range 2 {
		for i := 0; i < len(evs); i += 7 {
			for k, err := range h(ctx, evs[i:min(i+7, len(evs))]) {
				if err != nil {
					t.Fatalf("pass %d, %s: %v", pass, evs[i+k].Type, err)
				}
			}
		}
		if got := learntState(t, batched); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pass %d: batches learnt\n%v\none at a time\n%v", pass, got, want)
		}
	}

	twice := setup(t, admem.StrategyAppendOnly)
	h2 := twice.l.BatchHandler(events.Learner.Ledger, twice.db, twice.db, nil, nil)
	evs = pending(t, twice, batchWork())
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(evs))
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * 5; i < len(evs)+w*5; i += 10 {
				part := evs[max(0, i-5):min(i+5, len(evs))]
				for k, err := range h2(ctx, part) {
					if err != nil {
						// A failed event stays pending: deliver it again.
						if err := h2(ctx, part[k:k+1])[0]; err != nil {
							errs <- err
						}
					}
				}
			}
			for k, err := range h2(ctx, evs) {
				if err != nil {
					errs <- fmt.Errorf("%s: %w", evs[k].Type, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := learntState(t, twice); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("two workers learnt\n%v\none at a time\n%v", got, want)
	}
}
