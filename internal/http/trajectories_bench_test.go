package http_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

// BenchmarkRecordBatch posts batches of 250 trajectories of 10 steps (one
// failed) through the real router and Postgres; b.N counts trajectories.
// `go test -run X -bench RecordBatch ./internal/http/`
func BenchmarkRecordBatch(b *testing.B) {
	env := apitest.New(b)
	_, admin := env.Tenant(b, "bench-batch")
	const per = 250
	obs := strings.Repeat(`{"flight":"HAT136","price":120} `, 20)
	var batch []map[string]any
	for i := 0; i < per; i++ {
		var steps []map[string]any
		for k := 0; k < 10; k++ {
			st := map[string]any{"action": fmt.Sprintf("tool_%d", k), "args": map[string]any{"id": i, "k": k, "q": "search flights"}, "observation": obs}
			if k == 5 {
				st["error"] = fmt.Sprintf("Error: reservation %d not found", i)
			}
			steps = append(steps, st)
		}
		batch = append(batch, map[string]any{"task": fmt.Sprintf("book flight %d for the user", i), "outcome": "success", "steps": steps})
	}
	body, err := json.Marshal(map[string]any{"trajectories": batch})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)) / per)
	b.ResetTimer()
	for done := 0; done < b.N; done += per {
		r := env.Do(b, "POST", "/v1/trajectories/batch", admin, body)
		if r.Status != http.StatusCreated {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
	}
}
