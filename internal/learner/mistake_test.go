package learner

import (
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/signature"
)

const changeTask = "Change reservation XEWRD9 from ATL to LAX to a nonstop flight on May 21, pay with the gift card"

func changeFlights(flight, date string) map[string]any {
	return map[string]any{
		"reservation_id": "XEWRD9", "cabin": "economy", "payment_id": "gift_card_3166319",
		"flights": []any{map[string]any{"flight_number": flight, "date": date}},
	}
}

func changeRun(id string, outcome admem.Outcome, last ...admem.Step) admem.Trajectory {
	steps := []admem.Step{
		ok("get_reservation_details", map[string]any{"reservation_id": "XEWRD9"}),
		ok("search_direct_flight", map[string]any{"origin": "ATL", "destination": "LAX", "date": "2024-05-21"}),
	}
	return traj(id, changeTask, outcome, append(steps, last...)...)
}

func noteByTemplate(t *testing.T, notes []MistakeNote, tmpl string) MistakeNote {
	t.Helper()
	for _, n := range notes {
		if n.Signature.Template == tmpl {
			return n
		}
	}
	t.Fatalf("no note with template %q among %d notes", tmpl, len(notes))
	return MistakeNote{}
}

func TestDistillMistakesRecovered(t *testing.T) {
	t.Parallel()
	// noah's run fails a booking, calculates, and books again successfully.
	notes := DistillMistakes(bookingRuns()[1:2], MistakeOptions{})
	if len(notes) != 1 {
		t.Fatalf("%d notes, want 1", len(notes))
	}
	n := notes[0]
	if n.Count != 1 || !reflect.DeepEqual(n.TrajectoryIDs, []string{"t2"}) || n.After != "search_direct_flight" {
		t.Errorf("note %+v", n)
	}
	if len(n.Corrections) != 1 {
		t.Fatalf("corrections %+v", n.Corrections)
	}
	c := n.Corrections[0]
	const want = "instead of book_reservation(payment_methods=[{amount=250, payment_id=credit_card_7815826}], …), do book_reservation(payment_methods=[{amount=300, payment_id=credit_card_7815826}], …)"
	if c.Kind != CorrectionRecovered || c.Text != want || c.From != "t2" {
		t.Errorf("correction %s %q from %s\nwant %q", c.Kind, c.Text, c.From, want)
	}
	if c.Do.Args["payment_methods"].([]any)[0].(map[string]any)["amount"] != 300.0 {
		t.Errorf("structured B %+v", c.Do)
	}
}

func TestDistillMistakesAligned(t *testing.T) {
	t.Parallel()
	failed := changeRun("f1", admem.OutcomeFailure,
		fail("update_reservation_flights", changeFlights("HAT030", "2024-05-13"), "Error: flight HAT030 not available on date 2024-05-13"))
	failed2 := changeRun("f2", admem.OutcomeFailure,
		fail("update_reservation_flights", changeFlights("HAT223", "2024-05-14"), "Error: flight HAT223 not available on date 2024-05-14"))
	success := changeRun("s1", admem.OutcomeSuccess,
		ok("update_reservation_flights", changeFlights("HAT052", "2024-05-21")))
	unrelated := traj("u1", "Cancel reservation NO6JO3 because of a schedule change", admem.OutcomeSuccess,
		ok("update_reservation_flights", changeFlights("HAT999", "2024-05-30")))
	notes := DistillMistakes([]admem.Trajectory{unrelated, failed, success, failed2}, MistakeOptions{})
	if len(notes) != 1 {
		t.Fatalf("%d notes, want 1", len(notes))
	}
	n := notes[0]
	if n.Count != 2 || !reflect.DeepEqual(n.TrajectoryIDs, []string{"f1", "f2"}) || n.Signature.Template != "flight <ID> not available on date <DATE>" {
		t.Errorf("note %+v", n)
	}
	if len(n.Corrections) != 2 {
		t.Fatalf("corrections %+v", n.Corrections)
	}
	c := n.Corrections[0]
	const want = "instead of update_reservation_flights(flights=[{date=2024-05-13, flight_number=HAT030}], …), do update_reservation_flights(flights=[{date=2024-05-21, flight_number=HAT052}], …)"
	if c.Kind != CorrectionAligned || c.Text != want || c.From != "s1" || c.Instead.Tool != "update_reservation_flights" {
		t.Errorf("correction %s %q from %s\nwant %q", c.Kind, c.Text, c.From, want)
	}
	if n.When != "Change reservation XEWRD9 from ATL to LAX to a nonstop flight on May 21, pay with …" {
		t.Errorf("when %q", n.When)
	}
	const render = `Mistake (seen 2× in 2 runs) when Change reservation XEWRD9 from ATL to LAX to a nonstop flight on May 21, pay with …, after search_direct_flight: update_reservation_flights(cabin=economy, flights=[{date=<DATE>, flight_number=<ID>}], payment_id=<ID>, reservation_id=<ID>) fails with "Error: flight <ID> not available on date <DATE>". Fix: instead of update_reservation_flights(flights=[{date=2024-05-13, flight_number=HAT030}], …), do update_reservation_flights(flights=[{date=2024-05-21, flight_number=HAT052}], …).`
	if got := n.Render(); got != render {
		t.Errorf("Render:\n%s\nwant\n%s", got, render)
	}
}

func TestDistillMistakesDivergence(t *testing.T) {
	t.Parallel()
	cancel := map[string]any{"reservation_id": "NO6JO3"}
	task := "Cancel reservation NO6JO3 because of a schedule change"
	tests := []struct {
		name     string
		failed   admem.Trajectory
		success  admem.Trajectory
		wantKind CorrectionKind
		wantText string
	}{
		{
			name:     "guide made the same call after a step the failing run skipped",
			failed:   traj("f", task, admem.OutcomeFailure, fail("cancel_reservation", cancel, "Error: reservation NO6JO3 cannot be cancelled")),
			success:  traj("s", task, admem.OutcomeSuccess, ok("get_reservation_details", cancel), ok("cancel_reservation", cancel)),
			wantKind: CorrectionBefore,
			wantText: "before cancel_reservation(…), do get_reservation_details(reservation_id=NO6JO3)",
		},
		{
			name:     "guide used another tool at that point",
			failed:   traj("f", task, admem.OutcomeFailure, ok("get_reservation_details", cancel), fail("cancel_reservation", cancel, "Error: reservation NO6JO3 cannot be cancelled")),
			success:  traj("s", task, admem.OutcomeSuccess, ok("get_reservation_details", cancel), ok("transfer_to_human_agents", map[string]any{"summary": "basic economy, no insurance"})),
			wantKind: CorrectionAligned,
			wantText: `instead of cancel_reservation(…), do transfer_to_human_agents(summary="basic economy, no insurance")`,
		},
		{
			name: "guide never made the call",
			failed: traj("f", task, admem.OutcomeFailure, ok("get_reservation_details", cancel), fail("cancel_reservation", cancel, "Error: reservation NO6JO3 cannot be cancelled"),
				ok("get_reservation_details", cancel), ok("get_user_details", map[string]any{"user_id": "mia_li_3668"})),
			success: traj("s", task, admem.OutcomeSuccess, ok("get_reservation_details", cancel), ok("get_reservation_details", cancel),
				ok("get_user_details", map[string]any{"user_id": "mia_li_3668"}), ok("send_certificate", map[string]any{"user_id": "mia_li_3668", "amount": 50.0})),
			wantKind: CorrectionAligned,
			wantText: "instead of cancel_reservation(…), do send_certificate(amount=50, user_id=mia_li_3668)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			notes := DistillMistakes([]admem.Trajectory{tc.failed, tc.success}, MistakeOptions{})
			if len(notes) != 1 || len(notes[0].Corrections) != 1 {
				t.Fatalf("notes %+v", notes)
			}
			c := notes[0].Corrections[0]
			if c.Kind != tc.wantKind || c.Text != tc.wantText {
				t.Errorf("got %s %q\nwant %s %q", c.Kind, c.Text, tc.wantKind, tc.wantText)
			}
		})
	}
}

func TestDistillMistakesGrouping(t *testing.T) {
	t.Parallel()
	pay := func(id, user, card string) admem.Trajectory {
		return traj(id, bookTask(user, 20), admem.OutcomeFailure,
			ok("think", map[string]any{"thought": "pay with the card"}),
			fail("think", nil, "Error: ignored tools never make notes"),
			fail("book_reservation", booking(user, "2024-05-20", "HAT136", card, 255), "Error: payment method "+card+" not found"))
	}
	runs := []admem.Trajectory{
		pay("p1", "mia_li_3668", "certificate_7504069"),
		pay("p2", "ivan_muller_7015", "certificate_4856383"),
		traj("p3", "Look up user", admem.OutcomeFailure, fail("get_user_details", map[string]any{"user_id": "x_1"}, "Error: user x_1 not found")),
	}
	notes := DistillMistakes(runs, MistakeOptions{})
	if len(notes) != 2 {
		t.Fatalf("%d notes, want 2: %+v", len(notes), notes)
	}
	n := noteByTemplate(t, notes, "payment method <ID> not found")
	if n.Count != 2 || len(n.Tasks) != 2 || n.ID != signature.Normalize("book_reservation", "", "Error: payment method gift_card_1 not found").ID() {
		t.Errorf("note %+v", n)
	}
	if notes[0].ID != n.ID {
		t.Errorf("notes not ordered by count")
	}
	if !strings.HasPrefix(n.When, "tasks about: book one way economy flight jfk sea 20 user insurance") {
		t.Errorf("when %q", n.When)
	}

	// The result does not depend on input order.
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 5; i++ {
		r.Shuffle(len(runs), func(a, b int) { runs[a], runs[b] = runs[b], runs[a] })
		if got := DistillMistakes(runs, MistakeOptions{}); !reflect.DeepEqual(got, notes) {
			t.Fatal("shuffled input changed the notes")
		}
	}
}

func TestMergeNotes(t *testing.T) {
	t.Parallel()
	a := DistillMistakes(bookingRuns()[1:2], MistakeOptions{})[0]
	b := a
	b.TrajectoryIDs = []string{"t9"}
	b.Tasks = []string{bookTask("zoe_1", 22)}
	m := MergeNotes(a, b, MistakeOptions{})
	if m.Count != 2 || !reflect.DeepEqual(m.TrajectoryIDs, []string{"t2", "t9"}) || len(m.Corrections) != 1 || m.Corrections[0].Support != 2 {
		t.Errorf("merged %+v", m)
	}
	if a.Count != 1 || a.Corrections[0].Support != 1 {
		t.Errorf("MergeNotes modified its input: %+v", a)
	}
}
