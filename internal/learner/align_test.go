package learner

import (
	"reflect"
	"testing"
)

func act(tool string, kv ...any) Action {
	args := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i].(string)] = kv[i+1]
	}
	return Action{Tool: tool, Args: args}
}

func TestAlign(t *testing.T) {
	t.Parallel()
	getUser := act("get_user_details", "user_id", "mia_li_3668")
	getOther := act("get_user_details", "user_id", "noah_muller_9847")
	search := act("search_direct_flight", "origin", "JFK", "destination", "SEA", "date", "2024-05-20")
	calc := act("calculate", "expression", "152 + 103")
	book := act("book_reservation", "user_id", "mia_li_3668", "amount", 255.0)
	bookBad := act("book_reservation", "user_id", "mia_li_3668", "amount", 250.0)
	cancel := act("cancel_reservation", "reservation_id", "NO6JO3")
	tests := []struct {
		name string
		a, b []Action
		want []Pair
	}{
		{"identical", []Action{getUser, search, book}, []Action{getUser, search, book}, []Pair{{0, 0}, {1, 1}, {2, 2}}},
		{"empty", nil, nil, nil},
		{"one side empty", []Action{getUser, book}, nil, []Pair{{0, -1}, {1, -1}}},
		{"extra step in b", []Action{getUser, search, bookBad}, []Action{getUser, search, calc, book}, []Pair{{0, 0}, {1, 1}, {-1, 2}, {2, 3}}},
		{"same tool other args still aligns", []Action{getOther, search}, []Action{getUser, search}, []Pair{{0, 0}, {1, 1}}},
		{"substitution", []Action{getUser, cancel}, []Action{getUser, book}, []Pair{{0, 0}, {1, 1}}},
		{"prefers same tool over position", []Action{getUser, bookBad, book}, []Action{getUser, calc, book}, []Pair{{0, 0}, {1, 1}, {2, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _ := Align(tc.a, tc.b, DefaultScoring)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Align = %v, want %v", got, tc.want)
			}
			// Every index appears exactly once, in order.
			na, nb := -1, -1
			for _, p := range got {
				if p.A >= 0 {
					if p.A != na+1 {
						t.Fatalf("a indexes out of order in %v", got)
					}
					na = p.A
				}
				if p.B >= 0 {
					if p.B != nb+1 {
						t.Fatalf("b indexes out of order in %v", got)
					}
					nb = p.B
				}
			}
			if na != len(tc.a)-1 || nb != len(tc.b)-1 {
				t.Errorf("alignment %v does not cover both sequences", got)
			}
		})
	}
}

func TestAlignScore(t *testing.T) {
	t.Parallel()
	a := []Action{act("x", "id", "HAT001"), act("y")}
	same, _ := Align(a, a, DefaultScoring)
	_, s1 := Align(a, a, DefaultScoring)
	_, s2 := Align(a, []Action{act("x", "id", "HAT002"), act("y")}, DefaultScoring)
	_, s3 := Align(a, []Action{act("x", "id", "JFK"), act("y")}, DefaultScoring)
	if len(same) != 2 || !(s1 > s2 && s2 > s3) {
		t.Errorf("scores: identical %v, same pattern %v, same tool %v; want decreasing", s1, s2, s3)
	}
}
