package simhttp

import (
	"slices"
	"testing"
)

func TestResultKinds(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		n    int
		want []string
	}{
		{"kinds", `{"results":[{"decision":"allow","kind":"transient"},{"decision":"warn","kind":"deterministic"}]}`, 2, []string{"transient", "deterministic"}},
		{"absent", `{"results":[{"decision":"allow"},{"decision":"warn"}]}`, 2, []string{"", ""}},
		{"some", `{"results":[{"decision":"allow"},{"decision":"warn","kind":"state"}]}`, 2, []string{"", "state"}},
		{"fewer results", `{"results":[{"kind":"transient"}]}`, 2, []string{"transient", ""}},
		{"not json", `oops`, 1, []string{""}},
		{"wrong type", `{"results":[{"kind":3}]}`, 1, []string{""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := resultKinds([]byte(c.body), c.n); !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
