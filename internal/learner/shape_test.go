package learner

import (
	"reflect"
	"strings"
	"testing"

	"github.com/admem/admem"
)

func TestShape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    any
		want string
	}{
		{"2026-01-05", "9-9-9"},
		{"05/01/2026", "9/9/9"},
		{"05.01.2026", "9.9.9"},
		{"20260105", "9"},
		{"dt=2026-01-05", "a=9-9-9"},
		{"1031.07", "9.9"},
		{"103107", "9"},
		{"$1031.07", "$9.9"},
		{"56.48 lb", "9.9 a"},
		{"ORD-123", "A-9"},
		{"ord-123", "a-9"},
		{"Ana.Berg@Corp.example", "Aa.Aa@Aa.a"},
		{"ana.berg@corp.example", "a.a@a.a"},
		{"15m", "9a"},
		{1031.07, "9.9"},
		{250.0, "9"},
		{true, "true"},
		{map[string]any{"a": 1.0}, ""},
		{nil, ""},
		{strings.Repeat("ab1", 40), strings.Repeat("a9", 16)},
	}
	for _, c := range cases {
		if got := Shape(c.v); got != c.want {
			t.Errorf("Shape(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestForm(t *testing.T) {
	t.Parallel()
	a := Action{Tool: "run_transform", Args: map[string]any{"job_id": "JOB-1", "partition": "2025-01-05", "mode": "full"}}
	b := Action{Tool: "run_transform", Args: map[string]any{"job_id": "JOB-77", "partition": "2025-02-11", "mode": "full"}}
	c := Action{Tool: "run_transform", Args: map[string]any{"job_id": "JOB-1", "partition": "20250105", "mode": "full"}}
	d := Action{Tool: "run_transform", Args: map[string]any{"job_id": "JOB-1", "partition": "2025-01-05", "mode": "delta"}}
	if Form(a) != Form(b) {
		t.Errorf("other instances, same writing: %s vs %s", Form(a), Form(b))
	}
	if Form(a) == Form(c) || a.Pattern() == c.Pattern() && Form(a) == Form(c) {
		t.Errorf("another date format has the same form %s", Form(c))
	}
	if Form(a) == Form(d) {
		t.Errorf("another vocabulary value has the same form %s", Form(d))
	}
	long := func(x string) Action {
		args := map[string]any{"last": x}
		for i := range 40 {
			args["field_"+strings.Repeat("x", i)] = "value"
		}
		return Action{Tool: "note", Args: args}
	}
	if f := Form(long("end")); len(f) > maxFormLen || f == Form(long("other end")) {
		t.Errorf("long forms: %d bytes, equal %v", len(f), f == Form(long("other end")))
	}
}

// A quota: the same read, called again after it succeeded, fails; the next
// call of the tool is about another target and teaches nothing about this one.
func TestDistillMistakesRepeatedCall(t *testing.T) {
	t.Parallel()
	price := func(sku string) map[string]any { return map[string]any{"sku": sku} }
	quota := "429: price lookups limited to 1 per SKU per invoice (sku SKU-7638)"
	line := map[string]any{"invoice_id": "INV-1", "sku": "SKU-7638", "unit_price": "160.50"}
	run := traj("q", "Invoice customer CUS-1 for SKU-7638 and SKU-4312", admem.OutcomeSuccess,
		ok("get_price", price("SKU-7638")), fail("get_price", price("SKU-7638"), quota), ok("get_price", price("SKU-4312")))
	// A similar run went on with the next step (written its own way).
	guide := traj("g", "Invoice customer CUS-2 for SKU-7638 and SKU-4312", admem.OutcomeSuccess,
		ok("get_price", price("SKU-7638")), ok("add_line_item", line), ok("get_price", price("SKU-4312")))
	notes := DistillMistakes([]admem.Trajectory{run, guide}, MistakeOptions{})
	if len(notes) != 1 {
		t.Fatalf("%d notes", len(notes))
	}
	n := notes[0]
	if !n.RepeatedCall || n.NewCall || !n.RepeatOnly() {
		t.Errorf("repeated %v new %v", n.RepeatedCall, n.NewCall)
	}
	if len(n.Corrections) != 0 {
		t.Errorf("a repeat was taught %+v", n.Corrections)
	}
	// A first call that fails the same way is a new call: the note is no
	// longer about repeats only.
	first := traj("r", "Invoice customer CUS-2 for SKU-1", admem.OutcomeFailure, fail("get_price", price("SKU-1"), quota))
	merged := MergeNotes(n, DistillMistakes([]admem.Trajectory{first}, MistakeOptions{})[0], MistakeOptions{})
	if !merged.RepeatedCall || !merged.NewCall || merged.RepeatOnly() {
		t.Errorf("merged repeated %v new %v", merged.RepeatedCall, merged.NewCall)
	}
}

// A removed tool never recovers under its own name; the call of the tool
// that replaced it, with the same arguments, is the fix.
func TestDistillMistakesReplacement(t *testing.T) {
	t.Parallel()
	args := map[string]any{"order_id": "ORD-27030", "amount": "1549.33", "reason": "changed_mind"}
	moved := map[string]any{"order_id": "ORD-27030", "amount": "1549.33", "reason": "changed_mind"}
	run := traj("d", "Refund order ORD-27030 for customer CUS-1", admem.OutcomeSuccess,
		ok("verify_identity", map[string]any{"customer_id": "CUS-1", "method": "otp"}),
		fail("refund_payment", args, "Gone: refund_payment is not available in Payments API 2024-06 (order ORD-27030)"),
		ok("close_ticket", map[string]any{"ticket_id": "TCK-1"}),
		ok("issue_refund", moved))
	n := DistillMistakes([]admem.Trajectory{run}, MistakeOptions{})[0]
	if len(n.Corrections) != 1 || n.Corrections[0].Do.Tool != "issue_refund" || n.Corrections[0].Kind != CorrectionRecovered {
		t.Fatalf("corrections %+v", n.Corrections)
	}
	if !n.Replaced() {
		t.Error("the note does not say its tool was replaced")
	}
	// The replacement may write the id another way.
	label := traj("l", "Ship order ORD-20027", admem.OutcomeSuccess,
		fail("print_label", map[string]any{"order_id": "ORD-20027"}, "Gone: print_label was retired in WMS 10 on 2025-06-01; order ORD-20027 has no label"),
		ok("generate_label", map[string]any{"order_id": "20027"}))
	if n := DistillMistakes([]admem.Trajectory{label}, MistakeOptions{})[0]; !n.Replaced() || n.Corrections[0].Do.Tool != "generate_label" {
		t.Errorf("print_label: corrections %+v", n.Corrections)
	}
	// An error about the call's target, not the tool, is not fixed by
	// another tool that takes the same arguments.
	cancel := map[string]any{"reservation_id": "NO6JO3"}
	run = traj("c", "Cancel reservation NO6JO3", admem.OutcomeFailure,
		fail("cancel_reservation", cancel, "Error: reservation NO6JO3 cannot be cancelled"), ok("get_reservation_details", cancel))
	n = DistillMistakes([]admem.Trajectory{run}, MistakeOptions{})[0]
	if len(n.Corrections) != 0 {
		t.Fatalf("corrections %+v", n.Corrections)
	}
	// Nor does a similar run's call of another tool on the same target
	// say that the tool was replaced.
	n.addCorrection(Correction{Kind: CorrectionAligned, Instead: ActionOf(run.Steps[0]), Do: ActionOf(run.Steps[1]), Text: "x", Support: 1})
	if n.Replaced() {
		t.Error("cancel_reservation replaced by get_reservation_details")
	}
}

// A similar task's run made the same call (its own ids) and it worked: that
// is no correction of the call, only of what came before it.
func TestDistillMistakesGuideOfAnotherTaskSameForm(t *testing.T) {
	t.Parallel()
	failed := traj("f", "Ship order ORD-20923 from WH-1", admem.OutcomeFailure,
		ok("pick_items", map[string]any{"order_id": "ORD-20923"}),
		fail("print_label", map[string]any{"order_id": "ORD-20923"}, "Gone: print_label was retired in WMS 10 on 2025-06-01; order ORD-20923 has no label"))
	guide := traj("s", "Ship order ORD-49186 from WH-1", admem.OutcomeSuccess,
		ok("pick_items", map[string]any{"order_id": "ORD-49186"}),
		ok("validate_address", map[string]any{"order_id": "ORD-49186"}),
		ok("print_label", map[string]any{"order_id": "ORD-49186"}))
	n := DistillMistakes([]admem.Trajectory{failed, guide}, MistakeOptions{})[0]
	for _, c := range n.Corrections {
		if c.Do.Tool == "print_label" {
			t.Errorf("another order's label taught %q", c.Text)
		}
	}
	if len(n.Corrections) != 1 || n.Corrections[0].Kind != CorrectionBefore || n.Corrections[0].Do.Tool != "validate_address" {
		t.Errorf("corrections %+v", n.Corrections)
	}
}

// A format rule: the failed and the working shapes of the argument the
// correction rewrote, which masking alone cannot tell apart.
func TestArgRules(t *testing.T) {
	t.Parallel()
	job := func(p string) map[string]any { return map[string]any{"job_id": "JOB-87678", "partition": p} }
	msg := "InvalidArgument: partition spec \"%s\" invalid for job JOB-87678: expected dt=YYYY-MM-DD"
	run := traj("p", "Run pipeline JOB-87678", admem.OutcomeSuccess,
		fail("run_transform", job("20250105"), strings.Replace(msg, "%s", "20250105", 1)),
		fail("run_transform", job("2025-01-05"), strings.Replace(msg, "%s", "2025-01-05", 1)),
		ok("run_transform", job("dt=2025-01-05")))
	n := DistillMistakes([]admem.Trajectory{run}, MistakeOptions{})[0]
	want := map[string]ArgRule{"partition": {Fail: []string{"9", "9-9-9"}, Fix: []string{"a=9-9-9"}}}
	if got := n.ArgRules(); !reflect.DeepEqual(got, want) {
		t.Errorf("rules %+v, want %+v", got, want)
	}
	// A correction whose shape also failed makes no rule.
	n.Shapes["partition"] = append(n.Shapes["partition"], "a=9-9-9")
	if got := n.ArgRules(); got != nil {
		t.Errorf("rules %+v from a refuted shape", got)
	}
	// Nor does a correction about something else than how it is written.
	q := DistillMistakes([]admem.Trajectory{traj("q", "t", admem.OutcomeSuccess,
		fail("get_price", map[string]any{"sku": "SKU-1"}, "429: quota"), ok("get_price", map[string]any{"sku": "SKU-1"}))}, MistakeOptions{})[0]
	if got := q.ArgRules(); got != nil {
		t.Errorf("rules %+v from a retry", got)
	}
}

// Corrections that can take the failed call's place come before what a
// similar run happened to do at that point, however often that was seen.
func TestCorrectionsInPlaceFirst(t *testing.T) {
	t.Parallel()
	legacy := Action{Tool: "refund_payment", Args: map[string]any{"order_id": "ORD-1", "amount": "1.00"}}
	n := MistakeNote{Signature: DistillMistakes([]admem.Trajectory{traj("x", "t", admem.OutcomeFailure,
		fail("refund_payment", legacy.Args, "Gone: refund_payment is not available"))}, MistakeOptions{})[0].Signature}
	n.addCorrection(Correction{Kind: CorrectionAligned, Instead: legacy, Do: Action{Tool: "close_ticket", Args: map[string]any{"ticket_id": "TCK-1"}}, Text: "a", Support: 5})
	n.addCorrection(Correction{Kind: CorrectionAligned, Instead: legacy, Do: Action{Tool: "issue_refund", Args: map[string]any{"order_id": "ORD-2", "amount": "2.00"}}, Text: "b", Support: 1})
	n.sortCorrections(3)
	if n.Corrections[0].Do.Tool != "issue_refund" {
		t.Errorf("first correction %+v", n.Corrections[0])
	}
}

func TestSameValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b any
		want bool
	}{
		{"ORD-20027", "ord-20027", true},
		{"ORD-20027", "20027", true},
		{"20027", "ORD-20027", true},
		{"ORD-20027", "ORD-20028", false},
		{"ORD-20027", "INV-20027", false},
		{"12", "AB-12", false},
		{"economy", "Economy", true},
		{"", "", false},
		{1.0, 1.0, false},
	}
	for _, c := range cases {
		if got := sameValue(c.a, c.b); got != c.want {
			t.Errorf("sameValue(%v, %v) = %v", c.a, c.b, got)
		}
	}
}

func TestRepeats(t *testing.T) {
	t.Parallel()
	job := func(id string) Action { return Action{Tool: "get_job_status", Args: map[string]any{"job_id": id}} }
	cases := []struct {
		a, b Action
		want bool
	}{
		{job("JOB-64532"), job("JOB-64532"), true},
		{job("64532"), job("JOB-64532"), true},
		{job("job-64532"), job("JOB-64532"), true},
		{job("JOB-64533"), job("JOB-64532"), false},
		{Action{Tool: "get_job_log", Args: map[string]any{"job_id": "JOB-64532"}}, job("JOB-64532"), false},
		{Action{Tool: "get_job_status", Args: map[string]any{"job_id": "JOB-64532", "verbose": true}}, job("JOB-64532"), false},
		{Action{Tool: "get_metrics", Args: map[string]any{"service": "auth-svc", "window": "15m"}}, Action{Tool: "get_metrics", Args: map[string]any{"service": "AUTH-SVC", "window": "15m"}}, true},
		{Action{Tool: "get_metrics", Args: map[string]any{"service": "auth-svc", "window": "15m"}}, Action{Tool: "get_metrics", Args: map[string]any{"service": "auth-svc", "window": "1h"}}, false},
	}
	for _, c := range cases {
		if got := Repeats(c.a, c.b); got != c.want {
			t.Errorf("Repeats(%s, %s) = %v", c.a.Text(), c.b.Text(), got)
		}
	}
	// A quota failure that repeats the earlier call with its id written
	// another way is a repeat.
	run := traj("q", "Poll job JOB-64532", admem.OutcomeFailure,
		ok("get_job_status", job("JOB-64532").Args), fail("get_job_status", job("64532").Args, "429: get_job_status allows 1 call per job per 60s (job JOB-64532)"))
	if n := DistillMistakes([]admem.Trajectory{run}, MistakeOptions{})[0]; !n.RepeatOnly() {
		t.Errorf("repeated %v new %v", n.RepeatedCall, n.NewCall)
	}
}
