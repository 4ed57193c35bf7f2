package faulttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
	"github.com/admem/admem/internal/trajectories"
	"github.com/jackc/pgx/v5"
)

// workload records trajectories through the API and remembers what the
// acknowledged ones must have taught: every failed step counted once in its
// signature's mistake note and cluster, every success supporting one
// procedure once, every step once in its tool's history and once as an
// adapter example.
type workload struct {
	tag string

	mu          sync.Mutex
	ids         map[int]string // trajectory number → id, once acknowledged
	failedBySig map[string]int
	successes   []string
	steps       map[string]int // tool → steps
	failed      int
	examples    int         // labelled steps: adapter examples
	statuses    map[int]int // HTTP statuses seen, retries included
}

func newWorkload(tag string) *workload {
	return &workload{tag: tag, ids: map[int]string{}, failedBySig: map[string]int{}, steps: map[string]int{}, statuses: map[int]int{}}
}

// trajectory i books an order: it looks the user up, then the booking
// fails with one of three errors; every third run recovers with a second,
// successful booking.
func trajectory(i int) admem.Trajectory {
	errs := []string{"Error: order %s not found", "Error: payment method for order %s denied", "Error: seat limit exceeded for order %s"}
	order := fmt.Sprintf("O%05d", i)
	steps := []admem.Step{
		{Action: "search", Args: map[string]any{"user_id": fmt.Sprintf("u_%d", i)}, Status: admem.StepOK},
		{Action: "book", Args: map[string]any{"order_id": order}, Status: admem.StepError, Error: fmt.Sprintf(errs[i%3], order)},
	}
	outcome := admem.OutcomeFailure
	if i%3 == 0 {
		steps = append(steps, admem.Step{Action: "book", Args: map[string]any{"order_id": order, "mode": "safe"}, Status: admem.StepOK})
		outcome = admem.OutcomeSuccess
	}
	return admem.Trajectory{Task: "book a flight for the user with order " + order, Steps: steps, Outcome: outcome}
}

func body(tr admem.Trajectory) map[string]any {
	var steps []any
	for _, s := range tr.Steps {
		st := map[string]any{"action": s.Action, "args": s.Args, "status": string(s.Status)}
		if s.Error != "" {
			st["error"] = s.Error
		}
		steps = append(steps, st)
	}
	return map[string]any{"task": tr.Task, "steps": steps, "outcome": string(tr.Outcome)}
}

// record posts trajectory i through api until it is acknowledged (201, or
// the replay of an earlier attempt under the same Idempotency-Key), retrying
// on transport errors, 503 and 409 (a key a dead request still holds) until
// deadline. Any other status fails the test; a 5xx other than 503 too.
func (w *workload) record(t *testing.T, d *deployment, api func() *testenv.Process, key string, i int, deadline time.Time) error {
	tr := trajectory(i)
	b := body(tr)
	idem := fmt.Sprintf("%s-%d", w.tag, i)
	for {
		r, err := d.send(context.Background(), api(), "POST", "/v1/trajectories", key, b, "Idempotency-Key", idem)
		if err == nil {
			w.mu.Lock()
			w.statuses[r.Status]++
			w.mu.Unlock()
		}
		switch {
		case err != nil:
		case r.Status == http.StatusCreated || r.Status == http.StatusOK:
			var out struct{ ID string }
			if err := r.decode(&out); err != nil || out.ID == "" {
				return fmt.Errorf("trajectory %d: acknowledged without an id: %s", i, r.Body)
			}
			w.acknowledged(i, out.ID, tr)
			return nil
		case r.Status == http.StatusServiceUnavailable:
			if r.Header.Get("Retry-After") == "" {
				return fmt.Errorf("trajectory %d: 503 without Retry-After: %s", i, r.Body)
			}
		case r.Status == http.StatusConflict:
		default:
			return fmt.Errorf("trajectory %d: %d %s", i, r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%d %s", r.Status, r.Body)
			}
			return fmt.Errorf("trajectory %d: not acknowledged by the deadline (last answer: %v)", i, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// labelled is how many labelled steps (adapter examples) the acknowledged
// trajectories hold.
func (w *workload) labelled() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.examples
}

func (w *workload) acknowledged(i int, id string, tr admem.Trajectory) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if prev, ok := w.ids[i]; ok {
		if prev != id {
			panic(fmt.Sprintf("trajectory %d acknowledged as %s and %s", i, prev, id))
		}
		return
	}
	w.ids[i] = id
	for _, s := range tr.Steps {
		w.steps[s.Action]++
		if s.Failed() {
			w.failedBySig[signature.FromStep(s).ID()]++
			w.failed++
		}
	}
	if tr.Outcome == admem.OutcomeSuccess {
		w.successes = append(w.successes, id)
	}
	w.examples += len(failures.Label(tr))
}

// run records trajectories from..to-1 with n concurrent clients, each
// trajectory until acknowledged; it returns the first error.
func (w *workload) run(t *testing.T, d *deployment, api func(i int) *testenv.Process, key string, from, to, n int, deadline time.Time) error {
	var wg sync.WaitGroup
	next := make(chan int)
	errc := make(chan error, n)
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := w.record(t, d, func() *testenv.Process { return api(i) }, key, i, deadline); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := from; i < to; i++ {
		select {
		case next <- i:
		case err = <-errc:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

// checkEffects asserts from the database that every acknowledged
// trajectory is stored once and taught exactly what it should, once: the
// outbox is settled and every event processed once, nothing dead-lettered,
// each signature's mistake note and failure clusters count its failed
// steps, procedures are supported by each success once, each tool's history
// counts its steps, each step is one adapter example, and adapter versions
// are numbered without gaps and trained each example as new at most once.
func checkEffects(t *testing.T, pg testenv.Postgres, tenantID string, w *workload) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()

	// Trajectories: exactly the acknowledged ones.
	rows, err := owner.Query(ctx, `SELECT id::text FROM trajectories WHERE tenant_id = $1`, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var acked []string
	for _, id := range w.ids {
		acked = append(acked, id)
	}
	sort.Strings(stored)
	sort.Strings(acked)
	if !slices.Equal(stored, acked) {
		t.Errorf("%d trajectories stored, %d acknowledged (they differ)", len(stored), len(acked))
	}

	// Events: all relayed, settled, and processed once; none dead (a
	// restored database may have dead letters of events it does not hold).
	var outbox, unsettled, processed, dead int
	if err := owner.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM outbox WHERE tenant_id = $1),
		(SELECT count(*) FROM outbox WHERE tenant_id = $1 AND (relayed_at IS NULL OR pending_consumers <> '{}')),
		(SELECT count(*) FROM processed_events p WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = p.event_id)),
		(SELECT count(*) FROM dead_letters d WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = d.event_id))`, tenantID).Scan(&outbox, &unsettled, &processed, &dead); err != nil {
		t.Fatal(err)
	}
	if unsettled != 0 || processed != outbox || dead != 0 {
		t.Errorf("events: %d in the outbox, %d unsettled, %d processed, %d dead-lettered", outbox, unsettled, processed, dead)
	}

	// Mistake notes and procedures, through the application role.
	db, err := store.Open(ctx, pg.AppURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	items, err := db.ActiveItems(ctx, tenantID, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]int{}
	support := map[string]int{}
	counted, truncated := 0, false
	for _, it := range items {
		switch it.Kind {
		case admem.KindMistake:
			var m mistake.Mistake
			if err := json.Unmarshal(it.State, &m); err != nil {
				t.Fatal(err)
			}
			if m.Failures != it.Count {
				t.Errorf("mistake %s: state counts %d, row %d", it.Key, m.Failures, it.Count)
			}
			notes[it.Key] += m.Failures
		case admem.KindProcedure:
			var p trajectories.ProcedureState
			if err := json.Unmarshal(it.State, &p); err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Procedure.Sources {
				support[s]++
			}
			// A procedure lists its latest sources and counts them all.
			counted += p.Procedure.Successes()
			truncated = truncated || p.Procedure.Successes() > len(p.Procedure.Sources)
		}
	}
	for sig, want := range w.failedBySig {
		if notes[sig] != want {
			t.Errorf("mistake note %s counts %d failed steps, want %d", sig, notes[sig], want)
		}
	}
	if len(notes) != len(w.failedBySig) {
		t.Errorf("%d mistake notes, want %d", len(notes), len(w.failedBySig))
	}
	lost, twice := 0, 0
	for _, id := range w.successes {
		switch n := support[id]; {
		case n == 0 && !truncated:
			lost++
		case n > 1:
			twice++
		}
		delete(support, id)
	}
	if lost != 0 || twice != 0 || len(support) != 0 || counted != len(w.successes) {
		t.Errorf("procedure support: of %d successes %d support no procedure, %d more than one; %d sources are not successes; procedures count %d",
			len(w.successes), lost, twice, len(support), counted)
	}

	// Failure clusters count each failed step once.
	var clustered int
	if err := owner.QueryRow(ctx, `SELECT coalesce(sum(count), 0) FROM failure_clusters WHERE tenant_id = $1`, tenantID).Scan(&clustered); err != nil {
		t.Fatal(err)
	}
	if clustered != w.failed {
		t.Errorf("failure clusters count %d failed steps, want %d", clustered, w.failed)
	}

	// Tool histories count each step once; each labelled step is one
	// adapter example.
	for tool, want := range w.steps {
		var calls int
		err := owner.QueryRow(ctx, `SELECT coalesce((SELECT calls FROM tool_histories WHERE tenant_id = $1 AND tool = $2), 0)`,
			tenantID, tool).Scan(&calls)
		if err != nil {
			t.Fatal(err)
		}
		if calls != want {
			t.Errorf("tool %s: %d calls in its history, %d steps recorded", tool, calls, want)
		}
	}
	var examples int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM adapter_examples WHERE tenant_id = $1`, tenantID).Scan(&examples); err != nil {
		t.Fatal(err)
	}
	if examples != w.examples {
		t.Errorf("%d adapter examples, %d labelled steps recorded", examples, w.examples)
	}

	// Adapter versions: 1..n without gaps, at most one active, and the
	// new examples the versions trained on add up to the examples trained
	// through (none trained as new twice, none skipped).
	var versions, maxVersion, active, trainedNew, through int
	if err := owner.QueryRow(ctx, `SELECT count(*), coalesce(max(version), 0), count(*) FILTER (WHERE status = 'active'),
			coalesce(sum((metrics->>'new_examples')::int), 0),
			(SELECT count(*) FROM adapter_examples e WHERE e.tenant_id = $1
				AND e.id <= coalesce((SELECT trained_through FROM adapter_state s WHERE s.tenant_id = $1), 0))
		FROM adapter_versions WHERE tenant_id = $1`, tenantID).Scan(&versions, &maxVersion, &active, &trainedNew, &through); err != nil {
		t.Fatal(err)
	}
	if versions != maxVersion || active > 1 || trainedNew != through {
		t.Errorf("adapter versions: %d numbered up to %d, %d active; they trained %d new examples, %d examples trained through",
			versions, maxVersion, active, trainedNew, through)
	}
	t.Logf("checked: %d trajectories, %d events, %d failed steps in %d notes, %d successes, %d adapter examples, %d adapter versions",
		len(stored), outbox, w.failed, len(notes), len(w.successes), examples, versions)
}

// statusSummary renders the HTTP statuses the workload saw.
func (w *workload) statusSummary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var keys []int
	for k := range w.statuses {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf(" %d×%d", w.statuses[k], k)
	}
	return s
}

// feeder records trajectories one after the other, one every period at
// most, until stopped, each until acknowledged.
type feeder struct {
	stop chan struct{}
	done chan error
	next int
}

// feed starts recording trajectories from number from on through api.
func (w *workload) feed(t *testing.T, d *deployment, api func() *testenv.Process, key string, from int, period time.Duration) *feeder {
	f := &feeder{stop: make(chan struct{}), done: make(chan error, 1), next: from}
	go func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-f.stop:
				f.done <- nil
				return
			case <-tick.C:
			}
			if err := w.record(t, d, api, key, f.next, time.Now().Add(2*time.Minute)); err != nil {
				f.done <- err
				return
			}
			f.next++
		}
	}()
	return f
}

// Stop stops the feeder after the trajectory in flight and returns its
// error and the next trajectory number.
func (f *feeder) Stop() (int, error) {
	close(f.stop)
	err := <-f.done
	return f.next, err
}
