package main

// The load benchmark's payloads: a customer-support agent's tools, tasks
// and steps, with the mistakes such an agent makes (a date in the wrong
// format, an order id without its prefix, a refund above the order's total,
// an e-mail without a subject), so that recorded trajectories teach the
// tenant mistake notes and procedures, and guard and recall have learnt
// items to match.

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

var (
	loadFirstNames = []string{"Maria", "James", "Aiko", "Omar", "Sofia", "Liam", "Chen", "Priya", "Lukas", "Amara", "Diego", "Hannah"}
	loadLastNames  = []string{"Garcia", "Smith", "Tanaka", "Haddad", "Rossi", "Murphy", "Wang", "Patel", "Becker", "Okafor", "Lopez", "Jensen"}
	loadReasons    = []string{"item arrived damaged", "wrong size", "late delivery", "duplicate charge", "changed my mind"}
	loadCities     = []string{"Lyon", "Austin", "Osaka", "Leeds", "Porto", "Dublin", "Pune", "Graz"}
)

// loadCase is one customer request an agent works on.
type loadCase struct {
	kind     int // 0 refund, 1 reschedule, 2 address change
	name     string
	email    string
	customer string
	order    string
	total    float64
	date     string
	city     string
	reason   string
}

func newLoadCase(rng *rand.Rand) loadCase {
	fn, ln := loadFirstNames[rng.IntN(len(loadFirstNames))], loadLastNames[rng.IntN(len(loadLastNames))]
	return loadCase{
		kind:     rng.IntN(3),
		name:     fn + " " + ln,
		email:    strings.ToLower(fn+"."+ln) + fmt.Sprintf("%d@example.com", rng.IntN(100)),
		customer: fmt.Sprintf("CUS-%05d", rng.IntN(100000)),
		order:    fmt.Sprintf("ORD-%06d", rng.IntN(1000000)),
		total:    float64(20+rng.IntN(480)) + float64(rng.IntN(100))/100,
		date:     fmt.Sprintf("2026-12-%02d", 8+rng.IntN(20)),
		city:     loadCities[rng.IntN(len(loadCities))],
		reason:   loadReasons[rng.IntN(len(loadReasons))],
	}
}

func (c loadCase) task() string {
	switch c.kind {
	case 0:
		return fmt.Sprintf("Customer %s (%s) asks for a refund of order %s: %s.", c.name, c.email, c.order, c.reason)
	case 1:
		return fmt.Sprintf("Customer %s wants the delivery of order %s moved to %s.", c.name, c.order, c.date)
	}
	return fmt.Sprintf("Customer %s (%s) moved to %s; update the shipping address of order %s.", c.name, c.email, c.city, c.order)
}

func (c loadCase) scope() map[string]string {
	return map[string]string{"agent_id": "support-bot", "user_id": c.customer, "session_id": "s-" + c.order}
}

// loadStep is one tool call and how it ended.
type loadStep struct {
	Action      string         `json:"action"`
	Args        map[string]any `json:"args"`
	Observation string         `json:"observation,omitempty"`
	Error       string         `json:"error,omitempty"`
	Status      string         `json:"status"`
}

// steps is the case's run: the right calls, and where mistake is true, a
// wrong call first (which fails) followed by its correction.
func (c loadCase) steps(rng *rand.Rand, mistake bool) []loadStep {
	ok := func(action string, args map[string]any, obs string) loadStep {
		return loadStep{Action: action, Args: args, Observation: obs, Status: "ok"}
	}
	bad := func(action string, args map[string]any, err string) loadStep {
		return loadStep{Action: action, Args: args, Error: err, Status: "error"}
	}
	digits := strings.TrimPrefix(c.order, "ORD-")
	var ss []loadStep
	ss = append(ss, ok("lookup_customer", map[string]any{"email": c.email},
		fmt.Sprintf(`{"customer_id":"%s","name":"%s","tier":"gold"}`, c.customer, c.name)))
	if mistake && rng.IntN(3) == 0 {
		ss = append(ss, bad("get_order", map[string]any{"order_id": digits}, fmt.Sprintf("404 Not Found: order %s does not exist (order ids look like ORD-000000)", digits)))
	}
	ss = append(ss, ok("get_order", map[string]any{"order_id": c.order},
		fmt.Sprintf(`{"order_id":"%s","status":"shipped","total":%.2f,"customer_id":"%s"}`, c.order, c.total, c.customer)))
	switch c.kind {
	case 0:
		if mistake {
			over := c.total + float64(10+rng.IntN(50))
			ss = append(ss, bad("refund_order", map[string]any{"order_id": c.order, "amount": over, "reason": c.reason},
				fmt.Sprintf("422 Unprocessable Entity: refund amount %.2f exceeds order total %.2f", over, c.total)))
		}
		ss = append(ss, ok("refund_order", map[string]any{"order_id": c.order, "amount": c.total, "reason": c.reason},
			fmt.Sprintf(`{"refund_id":"RF-%d","status":"pending"}`, rng.IntN(1e6))))
	case 1:
		if mistake {
			var y, m, d int
			fmt.Sscanf(c.date, "%d-%d-%d", &y, &m, &d)
			us := fmt.Sprintf("%02d/%02d/%d", m, d, y)
			ss = append(ss, bad("schedule_delivery", map[string]any{"order_id": c.order, "date": us},
				fmt.Sprintf("400 Bad Request: invalid date '%s': expected YYYY-MM-DD", us)))
		}
		ss = append(ss, ok("schedule_delivery", map[string]any{"order_id": c.order, "date": c.date},
			fmt.Sprintf(`{"order_id":"%s","delivery_date":"%s"}`, c.order, c.date)))
	default:
		ss = append(ss, ok("update_address", map[string]any{"customer_id": c.customer, "address": map[string]any{
			"street": fmt.Sprintf("%d Rue de la Paix", 1+rng.IntN(200)), "city": c.city, "postcode": fmt.Sprintf("%05d", rng.IntN(99999))}},
			`{"updated":true}`))
	}
	if mistake && rng.IntN(2) == 0 {
		ss = append(ss, bad("send_email", map[string]any{"to": c.email, "body": "Your request has been handled."},
			"400 Bad Request: missing required field 'subject'"))
	}
	ss = append(ss, ok("send_email", map[string]any{"to": c.email, "subject": "Your order " + c.order, "body": "Your request has been handled."},
		`{"sent":true}`))
	return ss
}

// trajectory is a whole recorded run of a case (POST /v1/trajectories).
func (c loadCase) trajectory(rng *rand.Rand) map[string]any {
	mistake := rng.IntN(2) == 0
	ss := c.steps(rng, mistake)
	outcome := "success"
	if mistake && rng.IntN(4) == 0 { // gave up after the mistake
		for i, s := range ss {
			if s.Status == "error" {
				ss = ss[:i+1]
				break
			}
		}
		outcome = "failure"
	}
	return map[string]any{"task": c.task(), "scope": c.scope(), "steps": ss, "outcome": outcome,
		"metadata": map[string]any{"channel": "chat", "bench": "load"}}
}

// guardContext is the steps before position at, in guard's wire form.
func guardContext(ss []loadStep, at int) []map[string]any {
	ctx := make([]map[string]any, 0, at)
	for i, s := range ss[:at] {
		g := map[string]any{"index": i, "tool": s.Action, "args": s.Args, "status": s.Status}
		if s.Error != "" {
			g["error"] = s.Error
		} else {
			g["observation"] = s.Observation
		}
		ctx = append(ctx, g)
	}
	return ctx
}

// guardRequest asks guard about the next call of a case mid-run: the
// right call, and often a wrong one as a second candidate.
func (c loadCase) guardRequest(rng *rand.Rand) map[string]any {
	ss := c.steps(rng, rng.IntN(2) == 0)
	at := 1 + rng.IntN(len(ss)-1)
	cands := []map[string]any{{"tool": ss[at].Action, "args": ss[at].Args}}
	if wrong := c.steps(rng, true); rng.IntN(2) == 0 {
		for _, s := range wrong {
			if s.Status == "error" {
				cands = append(cands, map[string]any{"tool": s.Action, "args": s.Args})
				break
			}
		}
	}
	return map[string]any{"task": c.task(), "context": guardContext(ss, at), "candidates": cands}
}

// recallRequest asks for what matters to a case at its start or mid-run.
func (c loadCase) recallRequest(rng *rand.Rand) map[string]any {
	ss := c.steps(rng, false)
	at := rng.IntN(len(ss))
	recent := ss[:at]
	if len(recent) > 3 {
		recent = recent[len(recent)-3:]
	}
	req := map[string]any{"task": c.task(), "scope": c.scope(), "budget": 1500}
	if len(recent) > 0 {
		req["recent_steps"] = recent
	}
	return req
}

// entryWrite is a fact an agent stores about a customer (judged: infer
// defaults to true), sometimes a preference that contradicts or repeats
// an earlier one.
func (c loadCase) entryWrite(rng *rand.Rand, vocab *vocabulary) map[string]any {
	switch rng.IntN(3) {
	case 0:
		ch := []string{"e-mail", "phone", "chat"}[rng.IntN(3)]
		return map[string]any{"key": "contact-preference:" + c.customer, "content": fmt.Sprintf("%s prefers to be contacted by %s.", c.name, ch),
			"tags": []string{"preference"}, "scope": map[string]string{"user_id": c.customer}}
	case 1:
		return map[string]any{"content": fmt.Sprintf("%s lives in %s and usually orders on weekends.", c.name, c.city),
			"tags": []string{"profile"}, "scope": map[string]string{"user_id": c.customer}, "metadata": map[string]any{"source": "support-chat"}}
	}
	return map[string]any{"content": vocab.sentence(rng, 8+rng.IntN(13)), "scope": map[string]string{"user_id": c.customer}}
}
