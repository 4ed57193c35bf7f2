package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

// TestRun plays the example end to end against the real API and worker,
// with the platform key as a newcomer after `make run` would.
func TestRun(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	env.StartWorker(t)
	vars := map[string]string{"ADMEM_URL": env.URL, "ADMEM_KEY": env.PlatformKey}
	var out bytes.Buffer
	if err := run(context.Background(), func(k string) string { return vars[k] }, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"-> ERROR date must be YYYY-MM-DD, got 04/03/2027", "guard: WARN",
		`suggestion: book_table(date="2027-05-06", party_size=4, restaurant_id="r-`, "closed: success, 2 step(s), 0 failed"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the output lacks %q:\n%s", want, out.String())
		}
	}
}
