package signature

import (
	"encoding/json"
	"testing"
)

func TestCanonicalAction(t *testing.T) {
	t.Parallel()
	var book map[string]any
	if err := json.Unmarshal([]byte(`{"user_id":"mia_li_3668","origin":"JFK","destination":"SEA","flight_type":"one_way","cabin":"economy",
		"flights":[{"flight_number":"HAT136","date":"2024-05-20"},{"flight_number":"HAT039","date":"2024-05-20"}],
		"passengers":[{"first_name":"Mia","last_name":"Li","dob":"1990-04-05"}],
		"payment_methods":[{"payment_id":"certificate_7504069","amount":250}],"total_baggages":3,"insurance":"no"}`), &book); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tool string
		args map[string]any
		opt  ActionOptions
		want string
	}{
		{"keep", "book_reservation", book, ActionOptions{},
			`book_reservation(cabin=economy, destination=SEA, flight_type=one_way, flights=[{date=2024-05-20, flight_number=HAT136}, {date=2024-05-20, flight_number=HAT039}], insurance=no, origin=JFK, passengers=[{dob=1990-04-05, first_name=Mia, last_name=Li}], payment_methods=[{amount=250, payment_id=certificate_7504069}], total_baggages=3, user_id=mia_li_3668)`},
		{"mask", "book_reservation", book, ActionOptions{Literals: MaskLiterals},
			`book_reservation(cabin=economy, destination=SEA, flight_type=one_way, flights=[{date=<DATE>, flight_number=<ID>}, {date=<DATE>, flight_number=<ID>}], insurance=no, origin=JFK, passengers=[{dob=<DATE>, first_name=Mia, last_name=Li}], payment_methods=[{amount=<NUM>, payment_id=<ID>}], total_baggages=<NUM>, user_id=<ID>)`},
		{"mask all", "get_user_details", map[string]any{"user_id": "mia_li_3668"}, ActionOptions{Literals: MaskAllLiterals},
			`get_user_details(user_id=<STR>)`},
		{"no args", "list_all_airports", nil, ActionOptions{}, `list_all_airports()`},
		{"quoting", "calculate", map[string]any{"expression": "152 + 103"}, ActionOptions{}, `calculate(expression="152 + 103")`},
		{"long value cut", "think", map[string]any{"thought": "The user wants to change the flight but the reservation is basic economy so it cannot be modified."},
			ActionOptions{MaxValueLen: 24}, `think(thought="The user wants to cha…")`},
		{"go types", "t", map[string]any{"ids": []string{"b", "a"}, "n": 7, "m": map[string]int{"z": 1, "a": 2}, "p": (*int)(nil), "ok": true},
			ActionOptions{}, `t(ids=[b, a], m={a=2, z=1}, n=7, ok=true, p=null)`},
		{"odd keys", "t", map[string]any{"a b": 1.5, "": nil}, ActionOptions{}, `t(""=null, "a b"=1.5)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := CanonicalAction(tc.tool, tc.args, tc.opt); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestCanonicalActionCycle(t *testing.T) {
	t.Parallel()
	m := map[string]any{}
	m["self"] = m
	got := CanonicalAction("t", m, ActionOptions{})
	if len(got) > 200 {
		t.Errorf("self-referencing args render unbounded: %d bytes", len(got))
	}
}
