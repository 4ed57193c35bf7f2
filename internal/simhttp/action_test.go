package simhttp

import (
	"testing"

	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/sim"
)

func TestParseActionRoundTrip(t *testing.T) {
	for _, args := range []map[string]any{
		{},
		{"order_id": "ORD-48213", "amount": "12.50"},
		{"date": "03/15/2025", "note": "a value, with comma and \"quotes\"", "x": "{city}"},
		{"when": "10:30", "email": "Ann.Lee@example.com", "nested": map[string]any{"k": "v, w"}},
	} {
		text := signature.CanonicalAction("book_flight", args, signature.ActionOptions{})
		a, ok := ParseAction(text, false)
		if !ok || a.Tool != "book_flight" {
			t.Fatalf("%s: parsed %v %v", text, a, ok)
		}
		for k, v := range args {
			if s, isStr := v.(string); isStr && a.Args[k] != s {
				t.Errorf("%s: arg %s = %q, want %q", text, k, a.Args[k], s)
			}
		}
		if len(a.Args) != len(args) {
			t.Errorf("%s: %d args, want %d", text, len(a.Args), len(args))
		}
	}
	for _, bad := range []string{"", "no call", "tool(", "two words(a=1)"} {
		if _, ok := ParseAction(bad, false); ok {
			t.Errorf("%q parsed as a call", bad)
		}
	}
	masked := signature.CanonicalAction("refund", map[string]any{"order_id": "ORD-48213", "reason": "damaged"},
		signature.ActionOptions{Literals: signature.MaskLiterals})
	a, ok := ParseAction(masked, true)
	if !ok || a.Args["reason"] != "damaged" || a.Args["order_id"] != "*" {
		t.Errorf("masked %s parsed as %v", masked, a)
	}
}

func TestParseMistakeAndProcedure(t *testing.T) {
	note := `Mistake (seen 3× in 2 runs) when booking a flight: the date is wrong, after search_flights: ` +
		`book_flight(date=<DATE>, fare=economy) fails with "validation: date must be YYYY-MM-DD". ` +
		`Fix: instead of book_flight(…), do book_flight(date=2025-03-15, fare=economy).`
	it, ok := ParseMistake("n1", note)
	if !ok {
		t.Fatal("note not parsed")
	}
	want := sim.Action{Tool: "book_flight", Args: map[string]string{"date": "*", "fare": "economy"}}
	if it.Kind != sim.ItemMistake || it.Pattern == nil || !it.Pattern.Equal(want) {
		t.Errorf("pattern %v, want %v", it.Pattern, want)
	}
	if it.After != "search_flights" || it.Signature != "validation: date must be YYYY-MM-DD" {
		t.Errorf("after %q signature %q", it.After, it.Signature)
	}
	if it.Correction == nil || it.Correction.Args["date"] != "2025-03-15" {
		t.Errorf("correction %v", it.Correction)
	}
	if _, ok := ParseMistake("n2", "Mistake: something vague happened"); ok {
		t.Error("a note without a call parsed")
	}

	proc := "Procedure (v2, 4 ok / 1 failed) for: refund a damaged order\n" +
		`1. lookup_order(order_id="{order_id}")` + "\n" +
		`2. refund(amount=12.50, order_id="{order_id}", reason=damaged)` + "\nFill in: order_id"
	p, ok := ParseProcedure("p1", proc)
	if !ok || len(p.Steps) != 2 || p.Steps[1].Tool != "refund" || p.Steps[1].Args["order_id"] != "{order_id}" || p.Steps[1].Args["amount"] != "12.50" {
		t.Errorf("procedure parsed as %+v", p.Steps)
	}
}

func TestStructuredMistakeAndProcedure(t *testing.T) {
	m := &client.Mistake{Tool: "book_flight", DoingPattern: "book_flight(date=<DATE>, fare=economy)",
		Correction: &client.Correction{Kind: "before", Do: "verify_fare(fare=economy)"}}
	m.FailsWith.ErrorClass, m.FailsWith.MessageTemplate = "InvalidArgument", "fare <STR> not acknowledged"
	it, ok := toItem("n1", "mistake", "text", m, nil)
	want := sim.Action{Tool: "book_flight", Args: map[string]string{"date": "*", "fare": "economy"}}
	if !ok || it.Kind != sim.ItemMistake || it.Pattern == nil || !it.Pattern.Equal(want) {
		t.Fatalf("pattern %v %v, want %v", it.Pattern, ok, want)
	}
	if it.Signature != "InvalidArgument: fare <STR> not acknowledged" {
		t.Errorf("signature %q", it.Signature)
	}
	if it.Correction == nil || it.Correction.Tool != "verify_fare" || it.Correction.Args["fare"] != "economy" {
		t.Errorf("correction %v", it.Correction)
	}
	// Only what changed is the correction; "retry the same call" is none.
	m.Correction = &client.Correction{Kind: "aligned", Instead: "book_flight(date=03/15/2025, fare=economy)", Do: "book_flight(date=2025-03-15, fare=economy)"}
	it, _ = toItem("n1", "mistake", "text", m, nil)
	if c := it.Correction; c == nil || c.Tool != "book_flight" || len(c.Args) != 1 || c.Args["date"] != "2025-03-15" {
		t.Errorf("correction %v, want book_flight(date=2025-03-15)", c)
	}
	m.Correction = &client.Correction{Kind: "recovered", Instead: "book_flight(date=2025-03-15, fare=economy)", Do: "book_flight(date=2025-03-15, fare=economy)"}
	if it, _ = toItem("n1", "mistake", "text", m, nil); it.Correction != nil {
		t.Errorf("retrying the same call read as the correction %v", it.Correction)
	}
	if _, ok := toItem("n2", "mistake", "text", &client.Mistake{DoingPattern: "not a call"}, nil); ok {
		t.Error("a note without a call pattern was read")
	}

	p := &client.Procedure{}
	p.Script = append(p.Script, struct {
		Args    map[string]interface{} `json:"args"`
		Support int                    `json:"support"`
		Text    string                 `json:"text"`
		Tool    string                 `json:"tool"`
	}{Args: map[string]any{"order_id": "{order_id}", "reason": "damaged"}, Tool: "refund"})
	pi, ok := toItem("p1", "procedure", "no numbered lines here", nil, p)
	if !ok || len(pi.Steps) != 1 || pi.Steps[0].Tool != "refund" || pi.Steps[0].Args["order_id"] != "{order_id}" {
		t.Errorf("procedure read as %+v", pi.Steps)
	}
	if _, ok := toItem("p2", "procedure", "no numbered lines here", nil, &client.Procedure{}); ok {
		t.Error("an empty procedure was read")
	}
}

func TestSuggestionIsWhatChanges(t *testing.T) {
	full := `issue_refund(amount=1031.07, order_id=ORD-35924, reason=late_delivery)`
	cases := []struct {
		name, text string
		action     *string
		want       string
	}{
		{"same tool: only the changed argument", `instead of issue_refund(amount="$1031.07", …), do issue_refund(amount=1031.07, …)`, &full, "issue_refund(amount=1031.07)"},
		{"another tool: the whole call", `instead of refund_payment(…), do issue_refund(amount=1031.07, order_id=ORD-35924, reason=late_delivery)`, &full, full},
		{"a step before: the action", `before issue_refund(…), do verify_identity(customer_id=CUS-1, method=otp)`, &full, full},
		{"retry: the action", `retry issue_refund(amount=1.00): the same call worked later`, &full, full},
		{"no action, a diff", `instead of a(x=1, …), do a(x=2, …)`, nil, "a(x=2)"},
	}
	for _, c := range cases {
		got := suggestion(c.text, c.action)
		if got == nil || got.String() != c.want {
			t.Errorf("%s: got %v, want %s", c.name, got, c.want)
		}
	}
	if got := suggestion("no call here", nil); got != nil {
		t.Errorf("no call: got %v", got)
	}
}
