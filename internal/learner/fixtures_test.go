package learner

import "github.com/admem/admem"

// Fixtures modelled on the tau-bench airline domain: the same tools,
// argument shapes and error texts as the real log.

func ok(tool string, args map[string]any) admem.Step {
	return admem.Step{Action: tool, Args: args, Status: admem.StepOK, Observation: "{}"}
}

func fail(tool string, args map[string]any, msg string) admem.Step {
	return admem.Step{Action: tool, Args: args, Status: admem.StepError, Error: msg, Observation: msg}
}

func traj(id, task string, outcome admem.Outcome, steps ...admem.Step) admem.Trajectory {
	for i := range steps {
		steps[i].Index = i
	}
	return admem.Trajectory{ID: id, Task: task, Outcome: outcome, Steps: steps}
}

func booking(user, date, flight, payment string, amount float64) map[string]any {
	return map[string]any{
		"user_id": user, "origin": "JFK", "destination": "SEA", "cabin": "economy", "insurance": "no",
		"flights":         []any{map[string]any{"flight_number": flight, "date": date}},
		"payment_methods": []any{map[string]any{"payment_id": payment, "amount": amount}},
	}
}

func bookTask(user string, day int) string {
	return "Book a one-way economy flight from JFK to SEA on May " + itoa(day) + " for user " + user + ", no insurance"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func bookingRun(id, user string, day int, flight, payment string, amount float64, extra ...admem.Step) admem.Trajectory {
	date := "2024-05-" + itoa(day)
	steps := []admem.Step{
		ok("think", map[string]any{"thought": "look the user up first"}),
		ok("get_user_details", map[string]any{"user_id": user}),
		ok("search_direct_flight", map[string]any{"origin": "JFK", "destination": "SEA", "date": date}),
	}
	steps = append(steps, extra...)
	steps = append(steps, ok("book_reservation", booking(user, date, flight, payment, amount)))
	return traj(id, bookTask(user, day), admem.OutcomeSuccess, steps...)
}
