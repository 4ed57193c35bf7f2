package judge

import "testing"

func TestRetire(t *testing.T) {
	cases := []struct {
		uses, successes int
		retire          bool
	}{
		{0, 0, false},
		{2, 0, false}, // too little evidence
		{3, 0, true},
		{3, 1, true},
		{3, 2, false},
		{4, 2, false}, // exactly one half is not below it
		{10, 4, true},
		{10, 10, false},
	}
	for _, c := range cases {
		if got := Retire(c.uses, c.successes); got != c.retire {
			t.Errorf("Retire(%d, %d) = %v, want %v", c.uses, c.successes, got, c.retire)
		}
	}
}

func TestUtility(t *testing.T) {
	if Utility(0, 0) != 0.5 || Utility(2, 2) != 0.75 || Utility(2, 0) != 0.25 {
		t.Fatal(Utility(0, 0), Utility(2, 2), Utility(2, 0))
	}
}
