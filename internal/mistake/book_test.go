package mistake

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem"
)

// traj builds a closed trajectory from steps written as (tool, args,
// error) triples; an empty error is a step that worked.
type step struct {
	tool string
	args map[string]any
	err  string
	obs  string
}

func traj(id, task string, steps ...step) admem.Trajectory {
	t := admem.Trajectory{ID: id, Task: task, Scope: admem.Scope{AgentID: "a", SessionID: id}}
	for i, s := range steps {
		st := admem.Step{Index: i, Action: s.tool, Args: s.args, Status: admem.StepOK, Observation: s.obs}
		if st.Observation == "" {
			st.Observation = "ok"
		}
		if s.err != "" {
			st.Status, st.Error, st.Observation = admem.StepError, s.err, ""
		}
		t.Steps = append(t.Steps, st)
	}
	return t
}

var at = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func learn(b *Book, ts ...admem.Trajectory) {
	for _, t := range ts {
		b.LearnClosed(t, nil, at)
		b.Reset()
	}
}

func risk(b *Book, task string, before []admem.Step, c Call) Assessment {
	return b.Assess(&Situation{Task: task, Steps: before}, c)
}

func args(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// A format mistake generalises to other values written the same way, and
// not to the format that works; the agent's own recovery is suggested,
// instantiated with the request's value.
func TestFormatMistake(t *testing.T) {
	b := NewBook()
	for i := range 6 {
		day := fmt.Sprintf("2025-03-%02d", i+1)
		bad := fmt.Sprintf("%02d/03/2025", i+1)
		tr := traj(fmt.Sprint("t", i), "book a slot for order ORD-"+fmt.Sprint(100+i)+" on "+day,
			step{tool: "get_order", args: args("order_id", fmt.Sprint("ORD-", 100+i))},
			step{tool: "book_slot", args: args("order_id", fmt.Sprint("ORD-", 100+i), "day", bad), err: `invalid day "` + bad + `": expected YYYY-MM-DD`},
			step{tool: "book_slot", args: args("order_id", fmt.Sprint("ORD-", 100+i), "day", day)},
		)
		if i%2 == 1 { // half the runs get it right at once
			tr = traj(tr.ID, tr.Task, step{tool: "get_order", args: args("order_id", fmt.Sprint("ORD-", 100+i))},
				step{tool: "book_slot", args: args("order_id", fmt.Sprint("ORD-", 100+i), "day", day)})
		}
		learn(b, tr)
	}
	task := "book a slot for order ORD-900 on 2025-07-09"
	bad := risk(b, task, nil, Call{Tool: "book_slot", Args: args("order_id", "ORD-900", "day", "09/07/2025")})
	good := risk(b, task, nil, Call{Tool: "book_slot", Args: args("order_id", "ORD-900", "day", "2025-07-09")})
	if bad.Risk < 0.5 || good.Risk >= 0.5 {
		t.Fatalf("risk: wrong format %.2f (want ≥ 0.5), right format %.2f (want < 0.5); rule %+v", bad.Risk, good.Risk, bad.Matches)
	}
	s := b.Suggest(&Situation{Task: task}, Call{Tool: "book_slot", Args: args("order_id", "ORD-900", "day", "09/07/2025")}, &bad, 0.5, nil)
	if s == nil || s.Call == nil || s.Call.Args["day"] != "2025-07-09" || s.Call.Args["order_id"] != "ORD-900" {
		t.Fatalf("suggestion %+v, want book_slot with day 2025-07-09 for ORD-900", s)
	}
}

// A transient fault (the identical call worked when retried at once) never
// makes a call risky, and a retry is answered as transient.
func TestTransientFault(t *testing.T) {
	b := NewBook()
	for i := range 5 {
		id := fmt.Sprint("JOB-", 500+i)
		c := step{tool: "poll_job", args: args("job_id", id)}
		fail := c
		fail.err = `{"status":503,"error":{"message":"upstream timed out, retry later"}}`
		learn(b, traj(fmt.Sprint("t", i), "check job "+id, fail, c))
	}
	a := risk(b, "check job JOB-999", nil, Call{Tool: "poll_job", Args: args("job_id", "JOB-999")})
	if a.Risk != 0 {
		t.Fatalf("fresh call risk %.2f, want 0", a.Risk)
	}
	before := traj("x", "check job JOB-999", step{tool: "poll_job", args: args("job_id", "JOB-999"), err: `{"status":503,"error":{"message":"upstream timed out, retry later"}}`}).Steps
	a = risk(b, "check job JOB-999", before, Call{Tool: "poll_job", Args: args("job_id", "JOB-999")})
	if a.Risk != 0 || a.Kind != KindTransient {
		t.Fatalf("retry after a transient fault: risk %.2f kind %q, want 0 and transient", a.Risk, a.Kind)
	}
}

// A precondition: calls of a tool fail unless a step of another tool about
// the same entity came first; after that step they work.
func TestMissingPriorStep(t *testing.T) {
	b := NewBook()
	for i := range 6 {
		acct := fmt.Sprint("ACC-", 300+i)
		if i%2 == 0 {
			learn(b, traj(fmt.Sprint("t", i), "close account "+acct,
				step{tool: "close_account", args: args("account_id", acct), err: "account " + acct + " has open holds"},
				step{tool: "release_holds", args: args("account_id", acct)},
				step{tool: "close_account", args: args("account_id", acct)}))
		} else {
			learn(b, traj(fmt.Sprint("t", i), "close account "+acct,
				step{tool: "release_holds", args: args("account_id", acct)},
				step{tool: "close_account", args: args("account_id", acct)}))
		}
	}
	task := "close account ACC-777"
	c := Call{Tool: "close_account", Args: args("account_id", "ACC-777")}
	without := risk(b, task, nil, c)
	with := risk(b, task, traj("y", task, step{tool: "release_holds", args: args("account_id", "ACC-777")}).Steps, c)
	if without.Risk < 0.5 || with.Risk >= 0.5 {
		t.Fatalf("risk without the prior step %.2f (want ≥ 0.5), with it %.2f (want < 0.5)", without.Risk, with.Risk)
	}
	s := b.Suggest(&Situation{Task: task}, c, &without, 0.5, nil)
	if s == nil || s.Call == nil || s.Call.Tool != "release_holds" || s.Call.Args["account_id"] != "ACC-777" {
		t.Fatalf("suggestion %+v, want release_holds for ACC-777", s)
	}
}

// A context that holds only the latest steps of a run (its first step's
// index is above 0) cannot show that a step was never taken: the missing
// prior step weighs less there than in a whole run.
func TestPartialContext(t *testing.T) {
	b := NewBook()
	for i := range 6 {
		acct := fmt.Sprint("ACC-", 300+i)
		learn(b, traj(fmt.Sprint("t", i), "close account "+acct,
			step{tool: "close_account", args: args("account_id", acct), err: "account " + acct + " has open holds; call release_holds first"},
			step{tool: "release_holds", args: args("account_id", acct)},
			step{tool: "close_account", args: args("account_id", acct)}))
	}
	task := "close account ACC-777 and report"
	c := Call{Tool: "close_account", Args: args("account_id", "ACC-777")}
	run := traj("y", task,
		step{tool: "lookup_report", args: args("report_id", "RP-1")},
		step{tool: "lookup_report", args: args("report_id", "RP-2")}).Steps
	whole := risk(b, task, run, c)
	latest := risk(b, task, run[1:], c)
	if whole.Risk < 0.5 || latest.Risk >= whole.Risk {
		t.Fatalf("risk in the whole run %.2f (want ≥ 0.5), in its latest step alone %.2f (want less)", whole.Risk, latest.Risk)
	}
	// A failure in the context is seen whatever the context's start.
	failed := append(run[1:], admem.Step{Index: 2, Action: "close_account", Args: args("account_id", "ACC-777"), Status: admem.StepError, Error: "account ACC-777 has open holds; call release_holds first"})
	if again := risk(b, task, failed, c); again.Risk < 0.5 {
		t.Fatalf("risk after the identical call failed in a partial context %.2f, want ≥ 0.5", again.Risk)
	}
}

// A state-dependent failure: one entity fails, the same call about others
// works. Only calls about that entity are risky.
func TestStateDependent(t *testing.T) {
	b := NewBook()
	var ts []admem.Trajectory
	for i := range 8 {
		ts = append(ts, traj(fmt.Sprint("ok", i), "ship order", step{tool: "ship", args: args("order_id", fmt.Sprint("ORD-", 10+i))}))
	}
	ts = append(ts, traj("f1", "ship order ORD-99", step{tool: "ship", args: args("order_id", "ORD-99"), err: "order ORD-99 is locked"}))
	ts = append(ts, traj("f2", "ship order ORD-99", step{tool: "ship", args: args("order_id", "ORD-99"), err: "order ORD-99 is locked"}))
	learn(b, ts...)
	same := risk(b, "ship order ORD-99", nil, Call{Tool: "ship", Args: args("order_id", "ORD-99")})
	other := risk(b, "ship order ORD-55", nil, Call{Tool: "ship", Args: args("order_id", "ORD-55")})
	if same.Risk < 0.5 || other.Risk >= 0.5 {
		t.Fatalf("risk same entity %.2f (want ≥ 0.5), other entity %.2f (want < 0.5)", same.Risk, other.Risk)
	}
	if same.Kind != KindState {
		t.Fatalf("kind %q, want state", same.Kind)
	}
}

// A repeat: the call fails only when it repeats one that already worked.
func TestRepeat(t *testing.T) {
	b := NewBook()
	for i := range 4 {
		sku := fmt.Sprint("SKU-", 40+i)
		learn(b, traj(fmt.Sprint("t", i), "price "+sku,
			step{tool: "get_price", args: args("sku", sku)},
			step{tool: "get_price", args: args("sku", sku), err: "price lookups limited to 1 per sku"}))
	}
	task := "price SKU-77"
	first := risk(b, task, nil, Call{Tool: "get_price", Args: args("sku", "SKU-77")})
	again := risk(b, task, traj("z", task, step{tool: "get_price", args: args("sku", "SKU-77")}).Steps, Call{Tool: "get_price", Args: args("sku", "77")})
	if first.Risk >= 0.5 || again.Risk < 0.5 {
		t.Fatalf("risk first call %.2f (want < 0.5), repeat %.2f (want ≥ 0.5)", first.Risk, again.Risk)
	}
}

// A value the agent made up (a default not in the task) fails where the
// task's own value works; the fix takes the value from the task.
func TestUngroundedValue(t *testing.T) {
	b := NewBook()
	for i, cur := range []string{"EUR", "GBP", "EUR", "JPY", "AUD", "EUR"} {
		task := fmt.Sprintf("pay invoice INV-%d [currency %s]", 70+i, cur)
		inv := fmt.Sprint("INV-", 70+i)
		learn(b, traj(fmt.Sprint("t", i), task,
			step{tool: "pay", args: args("invoice_id", inv, "currency", "USD"), err: "currency USD does not match the account"},
			step{tool: "pay", args: args("invoice_id", inv, "currency", cur)}))
	}
	learn(b, traj("us", "pay invoice INV-9 [currency USD]", step{tool: "pay", args: args("invoice_id", "INV-9", "currency", "USD")}))
	task := "pay invoice INV-123 [currency SGD]"
	c := Call{Tool: "pay", Args: args("invoice_id", "INV-123", "currency", "USD")}
	a := risk(b, task, nil, c)
	ok := risk(b, "pay invoice INV-124 [currency USD]", nil, Call{Tool: "pay", Args: args("invoice_id", "INV-124", "currency", "USD")})
	if a.Risk < 0.5 || ok.Risk >= 0.5 {
		t.Fatalf("made-up currency risk %.2f (want ≥ 0.5), the task's own %.2f (want < 0.5)", a.Risk, ok.Risk)
	}
	s := b.Suggest(&Situation{Task: task}, c, &a, 0.5, nil)
	if s == nil || s.Call == nil || s.Call.Args["currency"] != "SGD" {
		t.Fatalf("suggestion %+v, want currency SGD from the task", s)
	}
}

// A removed tool: every call fails; the replacement the agent moved to is
// suggested with the candidate's own values.
func TestReplacedTool(t *testing.T) {
	b := NewBook()
	for i := range 4 {
		o := fmt.Sprint("ORD-", 60+i)
		learn(b, traj(fmt.Sprint("t", i), "label "+o,
			step{tool: "print_tag", args: args("order_id", o), err: "410 Gone: print_tag was retired"},
			step{tool: "make_tag", args: args("order_id", o)}))
	}
	c := Call{Tool: "print_tag", Args: args("order_id", "ORD-1")}
	a := risk(b, "label ORD-1", nil, c)
	if a.Risk < 0.5 {
		t.Fatalf("risk of a removed tool %.2f, want ≥ 0.5", a.Risk)
	}
	s := b.Suggest(&Situation{Task: "label ORD-1"}, c, &a, 0.5, nil)
	if s == nil || s.Call == nil || s.Call.Tool != "make_tag" || s.Call.Args["order_id"] != "ORD-1" {
		t.Fatalf("suggestion %+v, want make_tag for ORD-1", s)
	}
}

// No suggestion ever carries a value of another trajectory that the
// request does not hold.
func TestNoForeignLiterals(t *testing.T) {
	b := NewBook()
	for i := range 3 {
		learn(b, traj(fmt.Sprint("t", i), "notify the customer",
			step{tool: "notify", args: args("email", "ana.berg@example.com"), err: "recipient not verified"},
			step{tool: "notify", args: args("email", "jon.wei@example.com")}))
	}
	c := Call{Tool: "notify", Args: args("email", "ana.berg@example.com")}
	a := risk(b, "notify the customer", nil, c)
	if s := b.Suggest(&Situation{Task: "notify the customer"}, c, &a, 0.5, nil); s != nil && s.Call != nil {
		t.Fatalf("suggested %v: its e-mail comes from another trajectory", s.Call.Text())
	}
}

// A bound the error states ("too large: 767.01 > 700") is the rule: calls
// over it are flagged from the first failure, calls under it are not, and
// a text too long is told by its length.
func TestStatedLimit(t *testing.T) {
	b := NewBook()
	learn(b, traj("t1", "pay invoice INV-1",
		step{tool: "pay", args: args("invoice", "INV-1", "total", 767.01), err: "total too large: 767.01 > 700.00; split into several requests (request id 10000)"},
		step{tool: "pay", args: args("invoice", "INV-1", "total", 400.0)},
		step{tool: "pay", args: args("invoice", "INV-1", "total", 367.01)}))
	learn(b, traj("t2", "note on case CS-1",
		step{tool: "note", args: args("case", "CS-1", "remarks", strings.Repeat("x", 100)), err: "field 'remarks' too long: 100 > 43"},
		step{tool: "note", args: args("case", "CS-1", "remarks", "short")}))
	for _, c := range []struct {
		call Call
		want bool
	}{
		{Call{Tool: "pay", Args: args("invoice", "INV-9", "total", 950.5)}, true},
		{Call{Tool: "pay", Args: args("invoice", "INV-9", "total", "$1,200.00")}, true},
		{Call{Tool: "pay", Args: args("invoice", "INV-9", "total", 650)}, false},
		{Call{Tool: "note", Args: args("case", "CS-9", "remarks", strings.Repeat("y", 60))}, true},
		{Call{Tool: "note", Args: args("case", "CS-9", "remarks", "fine")}, false},
	} {
		a := risk(b, "work", nil, c.call)
		if (a.Risk >= 0.5) != c.want {
			t.Errorf("%s: risk %.2f, want flagged %v", c.call.Text(), a.Risk, c.want)
		}
	}
}

// An error about the order of two of the call's dates is a rule on their
// order, whatever the dates or how they are written.
func TestDateOrder(t *testing.T) {
	b := NewBook()
	learn(b, traj("t1", "book room RM-1",
		step{tool: "book", args: args("room", "RM-1", "valid_from", "2025-07-07", "valid_until", "2025-06-23"), err: "invalid range: valid_until must not precede valid_from (2025-06-23 < 2025-07-07)"},
		step{tool: "book", args: args("room", "RM-1", "valid_from", "2025-06-23", "valid_until", "2025-07-07")}))
	for _, c := range []struct {
		from, until string
		want        bool
	}{
		{"2025-09-10", "2025-09-01", true},
		{"10.09.2025", "01.09.2025", true},
		{"2025-09-01", "2025-09-10", false},
	} {
		a := risk(b, "book", nil, Call{Tool: "book", Args: args("room", "RM-7", "valid_from", c.from, "valid_until", c.until)})
		if (a.Risk >= 0.5) != c.want {
			t.Errorf("from %s until %s: risk %.2f, want flagged %v", c.from, c.until, a.Risk, c.want)
		}
	}
}

// What a rule states suggests its own fix when no recovery taught one: the
// dates of a wrong order swapped, a value over a stated bound split, both
// made of the request's own values.
func TestRuleFixes(t *testing.T) {
	b := NewBook()
	learn(b, traj("t1", "book room RM-1",
		step{tool: "book", args: args("room", "RM-1", "valid_from", "2025-07-07", "valid_until", "2025-06-23"), err: "valid_until 2025-06-23 is before valid_from 2025-07-07"}))
	learn(b, traj("t2", "pay invoice INV-1",
		step{tool: "pay", args: args("invoice", "INV-1", "total", "$767.01"), err: "total too large: 767.01 > 700.00; split into several requests"}))
	c := Call{Tool: "book", Args: args("room", "RM-7", "valid_from", "2025-09-10", "valid_until", "2025-09-01")}
	a := risk(b, "book", nil, c)
	s := b.Suggest(&Situation{Task: "book"}, c, &a, 0.5, nil)
	if a.Risk < 0.5 || s == nil || s.Call == nil || s.Call.Args["valid_from"] != "2025-09-01" || s.Call.Args["valid_until"] != "2025-09-10" {
		t.Fatalf("order: risk %.2f, suggestion %+v", a.Risk, s)
	}
	c = Call{Tool: "pay", Args: args("invoice", "INV-9", "total", "$1,500.00")}
	a = risk(b, "pay", nil, c)
	s = b.Suggest(&Situation{Task: "pay"}, c, &a, 0.5, nil)
	if a.Risk < 0.5 || s == nil || s.Call == nil || s.Call.Args["total"] != "$500.00" {
		t.Fatalf("limit: risk %.2f, suggestion %+v", a.Risk, s)
	}
}

// A newer error that names a tool as the one to call now supersedes an
// older "no such tool" about it, until that tool fails so again.
func TestRenamedToolSupersedes(t *testing.T) {
	b := NewBook()
	early, later := at, at.Add(time.Hour)
	b.LearnClosed(traj("t1", "schedule load LD-1",
		step{tool: "new_schedule", args: args("load", "LD-1"), err: "unknown operation 'new_schedule'"},
		step{tool: "schedule", args: args("load", "LD-1")}), nil, early)
	b.Reset()
	c := Call{Tool: "new_schedule", Args: args("load", "LD-2")}
	if a := risk(b, "schedule", nil, c); a.Risk < 0.5 {
		t.Fatalf("the unknown tool is not flagged at first: %.2f", a.Risk)
	}
	b.LearnClosed(traj("t2", "schedule load LD-3",
		step{tool: "schedule", args: args("load", "LD-3"), err: "schedule was renamed to new_schedule"}), nil, later)
	b.Reset()
	if a := risk(b, "schedule", nil, c); a.Risk >= 0.5 {
		t.Fatalf("the renamed tool is still flagged: %.2f", a.Risk)
	}
	if a := risk(b, "schedule", nil, Call{Tool: "schedule", Args: args("load", "LD-2")}); a.Risk < 0.5 {
		t.Fatalf("the old name is not flagged: %.2f", a.Risk)
	}
}

// The gate decides what Suggest may make a call: a fix whose recoveries do
// not count is not suggested (the rule's own fixes go with their
// mistake), and a fix calling a tool the gate refuses is said in words,
// with the reason.
func TestSuggestGate(t *testing.T) {
	b := NewBook()
	for i, id := range []string{"t1", "t2"} {
		user := fmt.Sprintf("U-%d", 100+i)
		learn(b, traj(id, "rotate the keys of "+user,
			step{tool: "rotate_keys", args: args("user_id", user), err: "Error: key store rejected the request"},
			step{tool: "reissue_keys", args: args("user_id", user)}))
	}
	c := Call{Tool: "rotate_keys", Args: args("user_id", "U-900")}
	a := risk(b, "rotate_keys", nil, c)
	sit := &Situation{Task: "rotate the keys of U-900"}
	if s := b.Suggest(sit, c, &a, 0.5, nil); s == nil || s.Call == nil || s.Call.Tool != "reissue_keys" {
		t.Fatalf("ungated: %+v (risk %.2f)", s, a.Risk)
	}
	refuse := &Gate{Refusal: func(candidate, tool string) string {
		if tool != candidate {
			return tool + " writes"
		}
		return ""
	}}
	s := b.Suggest(sit, c, &a, 0.5, refuse)
	if s == nil || s.Call != nil || s.Refused != "reissue_keys writes" || !strings.Contains(s.Text, "reissue_keys") {
		t.Fatalf("refused: %+v", s)
	}
	unvouchedFix := &Gate{Vouched: func(m *Mistake, f *Fix) bool { return f == nil }}
	if s := b.Suggest(sit, c, &a, 0.5, unvouchedFix); s != nil && s.Fix != nil {
		t.Fatalf("a fix that does not count was suggested: %+v", s)
	}
	unvouched := &Gate{Vouched: func(*Mistake, *Fix) bool { return false }}
	if s := b.Suggest(sit, c, &a, 0.5, unvouched); s != nil {
		t.Fatalf("a mistake that does not count gave advice: %+v", s)
	}
}

func TestWithoutSettlesTheRisk(t *testing.T) {
	b := NewBook()
	learn(b, traj("t1", "pay invoice INV-1",
		step{tool: "pay", args: args("invoice", "INV-1", "total", "$767.01"), err: "total too large: 767.01 > 700.00; split into several requests"}))
	a := risk(b, "pay", nil, Call{Tool: "pay", Args: args("invoice", "INV-9", "total", "$1,500.00")})
	if a.Risk < 0.5 || len(a.Matches) == 0 {
		t.Fatalf("risk %.2f", a.Risk)
	}
	kept, out := a.Without(func(*Mistake) bool { return true })
	if kept.Risk != 0 || len(kept.Matches) != 0 || len(out) != len(a.Matches) || kept.Kind != "" {
		t.Fatalf("without every mistake: %+v, %d out", kept, len(out))
	}
	if same, out := a.Without(func(*Mistake) bool { return false }); same.Risk != a.Risk || out != nil {
		t.Fatalf("without none: %.2f, %v", same.Risk, out)
	}
}
