package http_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

// BenchmarkCreateEntriesBatch posts batches of 1,000 entries (infer=false,
// the bulk-load path) through the real router and Postgres; b.N counts
// entries. `go test -run X -bench CreateEntriesBatch ./internal/http/`
func BenchmarkCreateEntriesBatch(b *testing.B) {
	env := apitest.New(b)
	_, admin := env.Tenant(b, "bench-entries")
	const per = 1000
	words := strings.Fields("the user prefers window seats and asked for a vegetarian meal on the flight to Lisbon " +
		"booking reference changed twice last week because the payment card expired before the trip")
	batches := make([][]byte, 0, 8)
	for k := 0; k < 8; k++ {
		es := make([]map[string]any, per)
		for i := range es {
			var sb strings.Builder
			for j := 0; j < 8+(i+k)%13; j++ {
				sb.WriteString(words[(i*7+j*3+k)%len(words)] + " ")
			}
			fmt.Fprintf(&sb, "n%d", k*per+i)
			es[i] = map[string]any{"content": sb.String(), "scope": map[string]string{"user_id": fmt.Sprintf("u%d", i%500)}}
		}
		body, err := json.Marshal(map[string]any{"entries": es, "infer": false})
		if err != nil {
			b.Fatal(err)
		}
		batches = append(batches, body)
	}
	b.SetBytes(int64(len(batches[0])) / per)
	b.ResetTimer()
	for done, k := 0, 0; done < b.N; done, k = done+per, k+1 {
		r := env.Do(b, "POST", "/v1/entries/batch", admin, batches[k%len(batches)])
		if r.Status != http.StatusOK {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
	}
}
