package sim

import (
	"fmt"
	"strconv"
)

// Argument spec shorthands for the family tables.
func key(name, kind string) ArgSpec { return ArgSpec{Name: name, Kind: kind, Key: true} }
func arg(name, kind string) ArgSpec { return ArgSpec{Name: name, Kind: kind} }
func ctxArg(name, kind, def string) ArgSpec {
	return ArgSpec{Name: name, Kind: kind, Default: def}
}

// legacyPair returns a tool and its deprecated twin with the same arguments.
func legacyPair(modern, legacy, doc string, read bool, args ...ArgSpec) []ToolSpec {
	return []ToolSpec{
		{Name: modern, Doc: doc, Args: args, Read: read, Alt: legacy},
		{Name: legacy, Doc: doc + " (older API)", Args: args, Read: read, Alt: modern},
	}
}

var airports = []string{"JFK", "LHR", "CDG", "FRA", "SFO", "NRT", "SYD", "AMS", "MAD", "ORD", "DXB", "SIN"}

func bookingFamily() *family {
	tools := []ToolSpec{
		{Name: "search_flights", Doc: "search flights on a route and date", Read: true,
			Args: []ArgSpec{key("origin", KindCode), key("dest", KindCode), key("date", KindDate)}},
		{Name: "get_fare_rules", Doc: "read the conditions of a fare", Read: true, Args: []ArgSpec{key("fare_id", KindID)}},
		{Name: "add_passenger", Doc: "add a passenger to a trip", Args: []ArgSpec{key("trip_id", KindID), key("passenger_id", KindID), arg("dob", KindDate)}},
		{Name: "select_seat", Doc: "assign a seat", Args: []ArgSpec{key("flight_id", KindID), key("passenger_id", KindID), arg("seat", KindSeat)}},
		{Name: "add_baggage", Doc: "add checked bags", Args: []ArgSpec{key("passenger_id", KindID), arg("bags", KindInt)}},
		{Name: "pay_booking", Doc: "pay for a trip", Args: []ArgSpec{key("trip_id", KindID), arg("amount", KindMoney),
			ctxArg("currency", KindCode, "USD"), ctxArg("method", KindEnum, "card")}},
		{Name: "issue_ticket", Doc: "issue a passenger's ticket", Args: []ArgSpec{key("trip_id", KindID), key("passenger_id", KindID)}},
		{Name: "send_itinerary", Doc: "email the itinerary", Args: []ArgSpec{key("trip_id", KindID), arg("email", KindEmail)}},
	}
	tools = append(tools, legacyPair("hold_seat", "reserve_seat", "hold a seat for a passenger", false,
		key("flight_id", KindID), key("passenger_id", KindID))...)
	rules := []*Rule{
		strictFormat("bk.date-format", "search_flights", "date", "search_flights wants ISO dates",
			msgf(`invalid departure date "%s": expected YYYY-MM-DD (error 4001, trace %d)`, "arg:date", "trace")),
		deprecated("bk.reserve-seat", "reserve_seat", "reserve_seat was replaced by hold_seat",
			msgf("410 Gone: reserve_seat was retired in Booking API v3 on 2024-11-01 (flight %s, trace %d)", "nat:flight_id", "trace")),
		requires("bk.fare-rules", RulePrecondition, []string{"issue_ticket"}, "get_fare_rules", nil, nil, ClassFailedPrecondition,
			"tickets need the fare rules read first",
			msgf("cannot ticket passenger %s on trip %s: fare rules %s not acknowledged (code 7312)", "nat:passenger_id", "nat:trip_id", "param:fare")),
		quota("bk.search-quota", "search_flights", "one search per route and date",
			msgf("429 Too Many Requests: search quota exhausted for agency AG-1022 (1 search per route per session, trace %d)", "trace")),
		contextValue("bk.corporate-invoice", "pay_booking", "method", func(e *Env, _ *PlanStep) bool { return e.t.User.Tier == "corporate" },
			ClassPermissionDenied, "corporate users pay by invoice",
			msgf("payment declined for trip %s: corporate account %s must be billed by invoice (policy POL-17)", "nat:trip_id", "user")),
		requires("bk.hold-before-seat", RuleOrdering, []string{"select_seat"}, "hold_seat", []string{"flight_id", "passenger_id"}, nil,
			ClassFailedPrecondition, "a seat is held before it is selected",
			msgf("seat %s on flight %s cannot be assigned: passenger %s holds no seat on this flight", "arg:seat", "nat:flight_id", "nat:passenger_id")),
	}
	build := func(b *builder, units int) {
		legs := 1 + b.rng.IntN(2)
		trip := b.param("trip", b.id("TRP", 5))
		fare := b.param("fare", b.id("FR", 4))
		route := pickN(b.rng, airports, legs+1)
		for i, code := range route {
			b.param(fmt.Sprintf("airport_%d", i+1), code)
		}
		var flights []string
		for l := range legs {
			f := b.param(fmt.Sprintf("flight_%d", l+1), b.id("FL", 4))
			flights = append(flights, f)
			b.param(fmt.Sprintf("date_%d", l+1), b.date())
		}
		email := b.param("email", pick(b.rng, []string{"ana.silva", "tom.berg", "li.wei", "omar.haddad"})+"@mail.example")
		method := "card"
		if b.t.User.Tier == "corporate" {
			method = "invoice"
		}
		for l := range legs {
			b.step("search_flights", "origin", route[l], "dest", route[l+1], "date", b.t.Params[fmt.Sprintf("date_%d", l+1)])
		}
		pax := make([]string, units)
		for i := range units {
			pax[i] = b.param(fmt.Sprintf("passenger_%d", i+1), b.id("PAX", 5))
			b.step("add_passenger", "trip_id", trip, "passenger_id", pax[i], "dob", fmt.Sprintf("19%d-%02d-%02d", 50+b.rng.IntN(50), 1+b.rng.IntN(12), 1+b.rng.IntN(28)))
		}
		for _, f := range flights {
			for _, p := range pax {
				b.step("hold_seat", "flight_id", f, "passenger_id", p)
				b.step("select_seat", "flight_id", f, "passenger_id", p, "seat", fmt.Sprintf("%d%c", 3+b.rng.IntN(30), 'A'+rune(b.rng.IntN(6))))
			}
		}
		for _, p := range pax {
			if b.rng.IntN(2) == 0 {
				b.step("add_baggage", "passenger_id", p, "bags", strconv.Itoa(1+b.rng.IntN(2)))
			}
		}
		b.aux("bk.fare-rules", "get_fare_rules", "fare_id", fare)
		amount := b.param("amount", b.money(200*units, 900*units))
		b.step("pay_booking", "trip_id", trip, "amount", amount, "currency", b.t.User.Currency, "method", method)
		for _, p := range pax {
			b.step("issue_ticket", "trip_id", trip, "passenger_id", p)
		}
		b.step("send_itinerary", "trip_id", trip, "email", email)
		b.say("Book trip %s for %d passengers over %d legs starting %s, pay %s and send the itinerary to %s.",
			trip, units, legs, b.t.Params["date_1"], amount, email)
	}
	return &family{name: "booking", tools: tools, rules: rules, minUnits: 1, maxUnits: 9, build: build}
}

func refundsFamily() *family {
	tools := []ToolSpec{
		{Name: "get_customer", Doc: "read a customer profile", Read: true, Args: []ArgSpec{key("customer_id", KindID)}},
		{Name: "lookup_order", Doc: "read an order", Read: true, Args: []ArgSpec{key("order_id", KindID)}},
		{Name: "check_refund_eligibility", Doc: "check an order can be refunded", Args: []ArgSpec{key("order_id", KindID)}},
		{Name: "create_return_label", Doc: "create a return label", Args: []ArgSpec{key("order_id", KindID), arg("carrier", KindEnum)}},
		{Name: "inspect_item", Doc: "record the condition of a returned item", Args: []ArgSpec{key("sku", KindID), arg("condition", KindEnum)}},
		{Name: "restock_item", Doc: "put a returned item back in stock", Args: []ArgSpec{key("sku", KindID), arg("qty", KindInt)}},
		{Name: "verify_identity", Doc: "verify a customer's identity", Args: []ArgSpec{key("customer_id", KindID), arg("method", KindEnum)}},
		{Name: "request_manager_approval", Doc: "ask a manager to approve a refund", Args: []ArgSpec{key("order_id", KindID), arg("amount", KindMoney)}},
		{Name: "notify_customer", Doc: "send the customer a templated message", Args: []ArgSpec{key("customer_id", KindID), arg("template", KindEnum)}},
		{Name: "close_ticket", Doc: "close a support ticket", Args: []ArgSpec{key("ticket_id", KindID)}},
	}
	tools = append(tools, legacyPair("issue_refund", "refund_payment", "refund an order", false,
		key("order_id", KindID), arg("amount", KindMoney), arg("reason", KindReason))...)
	over500 := func(e *Env, st *PlanStep) bool {
		f, _ := strconv.ParseFloat(st.Natural["amount"], 64)
		return f > 500
	}
	rules := []*Rule{
		requires("rf.verify-identity", RulePrecondition, []string{"issue_refund"}, "verify_identity", nil, nil, ClassFailedPrecondition,
			"refunds need a verified identity",
			msgf("refund blocked: identity of customer %s not verified in this session (code E1042, trace %d)", "param:customer", "trace")),
		strictFormat("rf.amount-format", "issue_refund", "amount", "refund amounts are plain decimals",
			msgf(`amount "%s" is not a valid decimal for order %s (expected 0.00, trace %d)`, "arg:amount", "nat:order_id", "trace")),
		requires("rf.approval-threshold", RuleContext, []string{"issue_refund"}, "request_manager_approval", nil, over500,
			ClassPermissionDenied, "refunds over 500.00 need a manager's approval",
			msgf("refund of %s exceeds agent limit 500.00 for order %s; manager approval required", "nat:amount", "nat:order_id")),
		requires("rf.notify-before-close", RuleOrdering, []string{"close_ticket"}, "notify_customer", nil, nil, ClassFailedPrecondition,
			"the customer is told before the ticket closes",
			msgf("ticket %s cannot be closed: customer %s has not been notified", "nat:ticket_id", "param:customer")),
		deprecated("rf.refund-payment", "refund_payment", "refund_payment was replaced by issue_refund",
			msgf("404: refund_payment is not available in Payments API 2024-06 (order %s, trace %d)", "nat:order_id", "trace")),
		driftFormat("rf.reason-codes", "issue_refund", "reason", 1, "refund reasons become R-codes",
			msgf(`unknown refund reason "%s" for order %s`, "arg:reason", "nat:order_id"),
			msgf(`reason "%s" rejected: refund policy v7 uses reason codes R01-R05 (order %s)`, "arg:reason", "nat:order_id")),
		requires("rf.inspect-before-restock", RuleOrdering, []string{"restock_item"}, "inspect_item", []string{"sku"}, nil,
			ClassFailedPrecondition, "returned items are inspected before restocking",
			msgf("item %s cannot be restocked before inspection (order %s)", "nat:sku", "param:order")),
	}
	build := func(b *builder, units int) {
		cust := b.param("customer", b.id("CUS", 4))
		order := b.param("order", b.id("ORD", 5))
		ticket := b.param("ticket", b.id("TCK", 4))
		reason := b.param("reason", pick(b.rng, []string{"damaged", "not_received", "wrong_item", "late_delivery", "changed_mind"}))
		b.step("get_customer", "customer_id", cust)
		b.step("lookup_order", "order_id", order)
		b.step("check_refund_eligibility", "order_id", order)
		b.step("create_return_label", "order_id", order, "carrier", pick(b.rng, []string{"ups", "fedex", "dhl"}))
		cents := 0
		for i := range units {
			sku := b.param(fmt.Sprintf("sku_%d", i+1), b.id("SKU", 4))
			qty := 1 + b.rng.IntN(3)
			cents += qty * (1500 + b.rng.IntN(6000))
			b.step("inspect_item", "sku", sku, "condition", pick(b.rng, []string{"new", "opened", "damaged"}))
			b.step("restock_item", "sku", sku, "qty", strconv.Itoa(qty))
		}
		amount := b.param("amount", fmt.Sprintf("%d.%02d", cents/100, cents%100))
		b.aux("rf.verify-identity", "verify_identity", "customer_id", cust, "method", "otp")
		if cents > 50000 {
			b.aux("rf.approval-threshold", "request_manager_approval", "order_id", order, "amount", amount)
		}
		b.step("issue_refund", "order_id", order, "amount", amount, "reason", reason)
		b.step("notify_customer", "customer_id", cust, "template", "refund_issued")
		b.step("close_ticket", "ticket_id", ticket)
		b.say("Customer %s returns %d items of order %s (%s). Refund %s, restock the items and close ticket %s.",
			cust, units, order, reason, amount, ticket)
	}
	return &family{name: "refunds", tools: tools, rules: rules, minUnits: 1, maxUnits: 26, build: build}
}
