package sim

import "testing"

// Every format of every kind is recognised as itself, so the world can tell
// which format an agent wrote.
func TestFormatsDetectThemselves(t *testing.T) {
	samples := map[string][]string{
		KindID: {"ORD-48213", "PAX-7"}, KindName: {"payments-api", "analytics.sales_daily"}, KindCode: {"JFK", "EUR"},
		KindEnum: {"card", "refund_issued"}, KindText: {"released 1.2.3"}, KindInt: {"3"}, KindPercent: {"5", "25"},
		KindDate: {"2025-03-15"}, KindTimestamp: {"2025-03-01T00:00:00Z"}, KindMoney: {"129.00", "0.50", "1297.61"},
		KindEmail: {"ana.silva@mail.example"}, KindDuration: {"15m", "1h"}, KindVersion: {"4.12.0"},
		KindWeight: {"2.50", "12.07"}, KindPartition: {"dt=2025-01-03"}, KindSeat: {"12A"},
		KindReason: {"damaged", "late_delivery"},
		KindToken:  {"etg_048213"}, KindMemo: {"customer asked to expedite", "second attempt"}, KindLabel: {"urgent", "sms"},
	}
	for name, k := range kinds {
		nats := samples[name]
		if len(nats) == 0 {
			t.Errorf("no samples for kind %s", name)
		}
		for _, nat := range nats {
			for i := range k.Formats {
				v := k.Render(i, nat)
				if got := k.Detect(v); got != i {
					t.Errorf("%s format %s of %q renders %q, detected as %d", name, k.Formats[i].Name, nat, v, got)
				}
				if !k.Equivalent(v, nat) {
					t.Errorf("%s: %q not equivalent to %q", name, v, nat)
				}
			}
		}
	}
}

func TestShape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ORD-48213", "A-9"}, {"2025-03-15", "9-9-9"}, {"03/15/2025", "9/9/9"}, {"$129", "$9"},
		{"129.00", "9.9"}, {"Jane.Doe@Example.com", "Aa.Aa@Aa.a"}, {"v4.12.0", "a9.9.9"}, {"", ""},
	} {
		if got := Shape(c.in); got != c.want {
			t.Errorf("Shape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	a := Action{Tool: "issue_refund", Args: map[string]string{"order_id": "ORD-1", "amount": "$129", "reason": "damaged"}}
	params := map[string]string{"order": "ORD-1"}
	for _, c := range []struct {
		name string
		p    Action
		want bool
	}{
		{"tool only", Action{Tool: "issue_refund"}, true},
		{"other tool", Action{Tool: "refund_payment"}, false},
		{"any tool", Action{Tool: "*", Args: map[string]string{"reason": "damaged"}}, true},
		{"wildcard", Action{Tool: "issue_refund", Args: map[string]string{"amount": "*"}}, true},
		{"shape", Action{Tool: "issue_refund", Args: map[string]string{"amount": "~$9"}}, true},
		{"other shape", Action{Tool: "issue_refund", Args: map[string]string{"amount": "~9.9"}}, false},
		{"placeholder", Action{Tool: "issue_refund", Args: map[string]string{"order_id": "{order}"}}, true},
		{"unknown placeholder", Action{Tool: "issue_refund", Args: map[string]string{"order_id": "{nope}"}}, false},
		{"literal", Action{Tool: "issue_refund", Args: map[string]string{"reason": "wrong_item"}}, false},
		{"missing arg", Action{Tool: "issue_refund", Args: map[string]string{"currency": "*"}}, false},
	} {
		if got := MatchPattern(c.p, a, params); got != c.want {
			t.Errorf("%s: MatchPattern = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestResolve(t *testing.T) {
	a := Action{Tool: "verify_identity", Args: map[string]string{"customer_id": "{customer}", "method": "otp"}}
	got, ok := Resolve(a, map[string]string{"customer": "CUS-9"})
	if !ok || got.Args["customer_id"] != "CUS-9" || got.Args["method"] != "otp" || a.Args["customer_id"] != "{customer}" {
		t.Fatalf("Resolve = %v, %v (input now %v)", got, ok, a)
	}
	if _, ok := Resolve(a, nil); ok {
		t.Fatal("Resolve with a missing parameter succeeded")
	}
}

func TestDefaultSignature(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"refund blocked: customer CUS-1312 (trace 31684)", "refund blocked: customer CUS-77 (trace 5)"},
		{`invalid date "03/15/2025"`, `invalid date "11/02/2024"`},
	} {
		if DefaultSignature("t", c.a) != DefaultSignature("t", c.b) {
			t.Errorf("%q and %q should share a signature", c.a, c.b)
		}
	}
	if DefaultSignature("t", `invalid date "03/15/2025"`) == DefaultSignature("t", `invalid date "15.03.2025"`) {
		t.Error("different wrong formats should not share a signature")
	}
	if DefaultSignature("a", "x 1") == DefaultSignature("b", "x 1") {
		t.Error("the tool is part of the signature")
	}
}
