package learner

import (
	"reflect"
	"slices"
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

// A precondition: the very same call worked once another tool's step about
// the same things had been taken. That step is the fix, not the call.
func TestDistillMistakesMissingStep(t *testing.T) {
	t.Parallel()
	promote := map[string]any{"build_id": "BLD-3045", "region": "eu-west-3", "service": "ledger"}
	run := traj("p", "Roll out ledger BLD-3045", admem.OutcomeSuccess,
		ok("check_health", map[string]any{"service": "ledger", "region": "us-east-1"}),
		fail("promote_release", promote, "FailedPrecondition: promotion of build BLD-3045 blocked: no health check for eu-west-3"),
		ok("get_metrics", map[string]any{"window": "15m"}),
		ok("check_health", map[string]any{"service": "ledger", "region": "eu-west-3"}),
		ok("promote_release", map[string]any{"build_id": "3045", "region": "EU-WEST-3", "service": "ledger"}))
	n := DistillMistakes([]admem.Trajectory{run}, MistakeOptions{})[0]
	if len(n.Corrections) == 0 || n.Corrections[0].Kind != CorrectionMissing {
		t.Fatalf("corrections %+v", n.Corrections)
	}
	if c := n.Corrections[0]; c.Do.Tool != "check_health" || c.Do.Args["region"] != "eu-west-3" {
		t.Fatalf("missing step %+v", c.Do)
	}
	need, found := n.MissingStep()
	if !found || need.Tool != "check_health" || !slices.Equal(need.Keys, []string{"region", "service"}) {
		t.Fatalf("need %+v %v", need, found)
	}
	west := Action{Tool: "promote_release", Args: map[string]any{"build_id": "BLD-9", "region": "eu-west-3", "service": "ledger"}}
	for _, c := range []struct {
		done []Action
		want bool
	}{
		{nil, false},
		{[]Action{{Tool: "check_health", Args: map[string]any{"service": "ledger", "region": "us-east-1"}}}, false},
		{[]Action{{Tool: "check_health", Args: map[string]any{"service": "Ledger", "region": "eu-west-3"}}}, true},
		{[]Action{{Tool: "get_metrics", Args: map[string]any{"service": "ledger", "region": "eu-west-3"}}}, false},
	} {
		if got := need.Met(west, c.done); got != c.want {
			t.Errorf("Met after %+v = %v", c.done, got)
		}
	}
	// The call worked written another way (the same digits): a format
	// fix, whatever happened in between.
	price := func(p string) map[string]any {
		return map[string]any{"invoice_id": "INV-1", "sku": "SKU-7", "unit_price": p}
	}
	cents := traj("c", "Invoice INV-1", admem.OutcomeSuccess,
		fail("add_line_item", price("111.75"), "InvalidArgument: unit_price \"111.75\" rejected: Billing API v2 takes integer cents"),
		ok("get_price", map[string]any{"sku": "SKU-7"}),
		ok("add_line_item", price("11175")))
	n = DistillMistakes([]admem.Trajectory{cents}, MistakeOptions{})[0]
	if len(n.Corrections) != 1 || n.Corrections[0].Kind != CorrectionRecovered || n.Corrections[0].Do.Args["unit_price"] != "11175" {
		t.Fatalf("format fix taken for a missing step: %+v", n.Corrections)
	}
	// The same call worked again with nothing new in between: a retry, not
	// a missing step, and no fix worth ranking above others.
	retry := traj("r", "Roll out ledger BLD-3045", admem.OutcomeSuccess,
		ok("check_health", map[string]any{"service": "ledger", "region": "eu-west-3"}),
		fail("promote_release", promote, "Unavailable: try again"),
		ok("check_health", map[string]any{"service": "ledger", "region": "eu-west-3"}),
		ok("promote_release", promote))
	n = DistillMistakes([]admem.Trajectory{retry}, MistakeOptions{})[0]
	if len(n.Corrections) != 1 || n.Corrections[0].Kind != CorrectionRecovered || n.inPlace(n.Corrections[0], n.subjectArg()) {
		t.Fatalf("retry corrections %+v", n.Corrections)
	}
	if _, ok := n.MissingStep(); ok {
		t.Fatal("a retry needs no step")
	}
}

// The agent's own recovery outranks fixes read off other runs, however
// often those were taught: ten failures aligned with the same similar run
// must not crowd out the replacement seen to work once.
func TestRecoveryOutranksAlignedGuesses(t *testing.T) {
	t.Parallel()
	legacy := Action{Tool: "add_user_to_group", Args: map[string]any{"user_id": "UID-1", "group_id": "GRP-3"}}
	n := MistakeNote{Signature: DistillMistakes([]admem.Trajectory{traj("x", "t", admem.OutcomeFailure,
		fail(legacy.Tool, legacy.Args, "Gone: add_user_to_group is not available"))}, MistakeOptions{})[0].Signature}
	n.addCorrection(Correction{Kind: CorrectionAligned, Instead: legacy, Do: Action{Tool: "audit_group", Args: map[string]any{"group_id": "GRP-9"}}, Text: "a", Support: 10})
	n.addCorrection(Correction{Kind: CorrectionAligned, Instead: legacy, Do: Action{Tool: "send_welcome", Args: map[string]any{"user_id": "UID-2", "email": "x@y.example"}}, Text: "b", Support: 5})
	n.addCorrection(Correction{Kind: CorrectionAligned, Instead: Action{Tool: "create_user", Args: map[string]any{"user_id": "UID-1"}}, Do: Action{Tool: "create_user", Args: map[string]any{"user_id": "uid-1"}}, Text: "c", Support: 5})
	n.addCorrection(Correction{Kind: CorrectionRecovered, Instead: legacy, Do: Action{Tool: "add_to_group", Args: map[string]any{"user_id": "UID-1", "group_id": "GRP-3"}}, Text: "d", Support: 1})
	n.sortCorrections(3)
	if n.Corrections[0].Do.Tool != "add_to_group" || !n.Replaced() {
		t.Fatalf("corrections %+v", n.Corrections)
	}
}

// After a drift the fix that used to work stops being taught and a new
// recovery writes the argument another way: the new one comes first at
// once, however much support the old one gathered.
func TestNewerRecoverySupersedesDriftedFix(t *testing.T) {
	t.Parallel()
	gone := "Gone: trigger_job has been removed"
	run := func(id, since, fixed string) admem.Trajectory {
		return traj(id, "Load partitions from SRC-1 since "+since, admem.OutcomeSuccess,
			fail("trigger_job", map[string]any{"source_id": "SRC-1", "since": since}, gone),
			ok("run_extract", map[string]any{"source_id": "SRC-1", "since": fixed}))
	}
	opt := MistakeOptions{}
	note := DistillMistakes([]admem.Trajectory{run("a0", "2025-04-01T00:00:00Z", "2025-04-01T00:00:00Z")}, opt)[0]
	for i := range 12 {
		in := DistillMistakes([]admem.Trajectory{run("a"+itoa(i+1), "2025-04-01T00:00:00Z", "2025-04-01T00:00:00Z")}, opt)[0]
		note = MergeNotes(note, in, opt)
	}
	if got := note.Corrections[0].Do.Args["since"]; got != "2025-04-01T00:00:00Z" || note.Corrections[0].Support != 13 {
		t.Fatalf("before the drift: %+v", note.Corrections[0])
	}
	note = MergeNotes(note, DistillMistakes([]admem.Trajectory{run("b1", "2025-04-01T00:00:00Z", "1743465600")}, opt)[0], opt)
	if got := note.Corrections[0].Do.Args["since"]; got != "1743465600" {
		t.Fatalf("after the drift: %+v", note.Corrections)
	}
	if len(note.Corrections) != 1 {
		t.Fatalf("the old fix stays: %+v", note.Corrections)
	}
	// A merge that teaches nothing leaves the note (and its clock) alone.
	if again := MergeNotes(note, MistakeNote{ID: note.ID, Signature: note.Signature}, opt); again.Clock != note.Clock {
		t.Fatalf("clock moved: %d -> %d", note.Clock, again.Clock)
	}
}

// The argument an error message names first gets a rule from its failing
// shapes alone until a correction shows the fix.
func TestArgRulesFromTheMessage(t *testing.T) {
	t.Parallel()
	price := func(p, sku string) map[string]any {
		return map[string]any{"invoice_id": "INV-1", "sku": sku, "unit_price": p}
	}
	msg := func(p, sku string) string {
		return "InvalidArgument: unit_price \"" + p + "\" rejected: Billing API v2 expects integer minor units (sku " + sku + ")"
	}
	run := traj("d", "Invoice INV-1", admem.OutcomeFailure,
		fail("add_line_item", price("111.75", "7"), msg("111.75", "SKU-7")),
		fail("add_line_item", price("$12.50", "7"), msg("$12.50", "SKU-7")))
	n := DistillMistakes([]admem.Trajectory{run}, MistakeOptions{})[0]
	if got := n.subjectArg(); got != "unit_price" {
		t.Fatalf("subject %q of %q", got, n.Signature.Template)
	}
	rules := n.ArgRules()
	if r, ok := rules["unit_price"]; !ok || len(r.Fix) != 0 || !slices.Equal(r.Fail, []string{"$9.9", "9.9"}) {
		t.Fatalf("rules %+v", rules)
	}
	if _, ok := rules["sku"]; ok {
		t.Fatalf("sku ruled: %+v", rules)
	}
	// Once a correction rewrites it, the rule has its fix; an argument the
	// correction also writes another way (the sku's prefix) is no rule:
	// the message says what was wrong.
	n.addCorrection(newCorrection(CorrectionRecovered, ActionOf(run.Steps[1]), Action{Tool: "add_line_item", Args: price("11175", "SKU-7")}, "d"))
	rules = n.ArgRules()
	if r := rules["unit_price"]; !slices.Equal(r.Fix, []string{"9"}) {
		t.Fatalf("rule with fix %+v", r)
	}
	if r, ok := rules["sku"]; ok {
		t.Fatalf("sku ruled after a correction writing it another way: %+v", r)
	}
	// An error about a value (data residency must be the user's region):
	// the correction writes another value the same way, and an id another
	// way; neither is a format rule.
	user := func(uid, residency string) map[string]any {
		return map[string]any{"email": "kai.sato@corp.example", "residency": residency, "user_id": uid}
	}
	region := traj("r", "Onboard UID-42660", admem.OutcomeSuccess,
		fail("create_user", user("UID-42660", "us"), "PermissionDenied: user creation rejected for UID-42660: organisation of CUS-1 requires in-region data residency (apac)"),
		ok("create_user", user("42660", "apac")))
	rn := DistillMistakes([]admem.Trajectory{region}, MistakeOptions{})[0]
	if got := rn.subjectArg(); got != "residency" {
		t.Fatalf("subject %q of %q", got, rn.Signature.Template)
	}
	if got := rn.ArgRules(); got != nil {
		t.Fatalf("rules %+v from a value correction", got)
	}
	for tmpl, want := range map[string]string{
		"partition spec <STR> invalid for job <ID>: expected dt=YYYY-MM-DD":      "",
		"since <STR> rejected: connector v5 expects epoch seconds (source <ID>)": "since",
		"email address for user <ID> must be lowercase (directory <ID>)":         "email",
		"refund of <NUM> exceeds agent limit <NUM> for order <ID>":               "",
	} {
		m := MistakeNote{Signature: n.Signature, Shapes: map[string][]string{"since": {"x"}, "email": {"x"}, "job_id": {"x"}, "order_id": {"x"}, "source_id": {"x"}}}
		m.Signature.Template = tmpl
		if got := m.subjectArg(); got != want {
			t.Errorf("subject of %q = %q, want %q", tmpl, got, want)
		}
	}
}

// A tool whose calls fail in every form with a message naming it is gone,
// before any replacement is known; a quota or a fixed format is not.
func TestToolGone(t *testing.T) {
	t.Parallel()
	gone := func(uid string) admem.Step {
		return fail("add_user_to_group", map[string]any{"group_id": "GRP-430", "user_id": uid},
			"Gone: 404 Not Found: add_user_to_group is not available in Directory API v2 (user UID-1)")
	}
	n := DistillMistakes([]admem.Trajectory{traj("a", "t", admem.OutcomeFailure, gone("UID-1"), gone("1"))}, MistakeOptions{})[0]
	if !n.ToolGone() {
		t.Fatalf("two forms failed: %+v", n.FailedForms)
	}
	// One form is enough when the error's class says the tool is gone for
	// good; with another class the tool may be fine written another way.
	once := gone("UID-1")
	once.ErrorType = "Gone"
	n = DistillMistakes([]admem.Trajectory{traj("a", "t", admem.OutcomeFailure, once)}, MistakeOptions{})[0]
	if n.Signature.Class != "Gone" || !n.ToolGone() {
		t.Fatalf("class %q: one Gone form is a gone tool", n.Signature.Class)
	}
	missing := fail("add_user_to_group", map[string]any{"group_id": "GRP-430", "user_id": "1"},
		"NotFound: add_user_to_group: no user 1 in directory DIR-3")
	n = DistillMistakes([]admem.Trajectory{traj("a", "t", admem.OutcomeFailure, missing)}, MistakeOptions{})[0]
	if n.ToolGone() {
		t.Fatal("one form of another class is not enough")
	}
	poll := func() admem.Step { return ok("get_job_status", map[string]any{"job_id": "JOB-1"}) }
	quota := fail("get_job_status", map[string]any{"job_id": "1"}, "ResourceExhausted: 429: get_job_status allows 1 call per job per 60s")
	n = DistillMistakes([]admem.Trajectory{traj("q", "t", admem.OutcomeFailure, poll(), quota)}, MistakeOptions{})[0]
	if n.ToolGone() {
		t.Fatal("a quota is not a gone tool")
	}
}
