package http

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/admem/admem"
)

func specOpsForTest(t testing.TB) map[string]specOp {
	ops, err := loadSpecOps(admem.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

func TestCheckBodyAgainstTheSpec(t *testing.T) {
	t.Parallel()
	search := specOpsForTest(t)["POST /v1/entries/search"]
	if search.fast == nil {
		t.Fatal("no body schema for POST /v1/entries/search")
	}
	cases := []struct {
		body, field string // "" when accepted
	}{
		{`{"query":"x","limit":5}`, ""},
		{`{"query":"x","limit":0}`, "limit"},
		{`{"query":"x","limit":1e9}`, "limit"},
		{`{"query":"x","mode":"psychic"}`, "mode"},
		{`{"query":"x","colour":1}`, "colour"},
		{`{"query":"x","filter":{"metadata":{"a":"\u0000"}}}`, "filter.metadata.a"},
		{`{"query":"x","filter":{"tags":[1]}}`, "filter.tags[0]"},
		{`{"query":`, ""}, // the decoder's to report
	}
	for _, c := range cases {
		err := checkBody([]byte(c.body), search)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		e, ok := err.(*admem.Error)
		if !ok || e.Code != admem.EINVALID || e.Fields[0].Field != c.field {
			t.Errorf("%s: %v, want a validation error on %s", c.body, err, c.field)
		}
	}
}

func TestCheckQueryAgainstTheSpec(t *testing.T) {
	t.Parallel()
	ops := specOpsForTest(t)
	list := ops["GET /v1/trajectories"].query
	for q, field := range map[string]string{"limit=5": "", "limit=0": "limit", "limit=x": "limit", "limit=501": "limit",
		"outcome=success": "", "outcome=maybe": "outcome", "undeclared=whatever": ""} {
		v, _ := url.ParseQuery(q)
		err := checkQuery(v, list)
		if field == "" && err != nil || field != "" && (admem.ErrorCode(err) != admem.EINVALID || err.(*admem.Error).Fields[0].Field != field) {
			t.Errorf("%s: %v, want field %q", q, err, field)
		}
	}
}

// FuzzCheckBody checks that no body makes the spec validation panic and
// that each rejection is a validation error naming a field.
func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{`{"query":"x","limit":5}`, `{"filter":{"metadata":{"a":[{"b":null}]}}}`, `{"limit":-1e308}`, `[]`, `"x"`, `{"vector":[1,"a"]}`} {
		f.Add([]byte(s))
	}
	ops := specOpsForTest(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, key := range []string{"POST /v1/entries/search", "POST /v1/trajectories", "POST /v1/guard"} {
			err := checkBody(body, ops[key])
			if err == nil {
				continue
			}
			if e, ok := err.(*admem.Error); !ok || e.Code != admem.EINVALID || len(e.Fields) == 0 {
				t.Fatalf("%s %q: %v", key, body, err)
			}
		}
	})
}

// BenchmarkCheckBody measures the edge validation of a guard request with
// ten steps of context (scan, generic decode, schema walk): the price every
// guard call pays before its handler runs.
func BenchmarkCheckBody(b *testing.B) {
	body := []byte(`{"task":"refund order 1234 for the customer","candidates":[{"tool":"refund","args":{"order_id":"1234","amount":12.5}}],"context":[`)
	for i := 0; i < 10; i++ {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"tool":"get_order","args":{"order_id":"1234","fields":["status","total"]},"status":"ok","observation":"status shipped, total 12.50"}`...)
	}
	body = append(body, "]}"...)
	guard := specOpsForTest(b)["POST /v1/guard"]
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := checkBody(body, guard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckBodyBatch measures the edge validation of a trajectory
// batch as BenchmarkRecordBatch posts it (250 trajectories of 10 steps,
// about 2 MB); compare with that benchmark's time per batch.
func BenchmarkCheckBodyBatch(b *testing.B) {
	obs := strings.Repeat(`{\"flight\":\"HAT136\",\"price\":120} `, 20)
	var body strings.Builder
	body.WriteString(`{"trajectories":[`)
	for i := 0; i < 250; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"task":"book flight %d for the user","outcome":"success","steps":[`, i)
		for k := 0; k < 10; k++ {
			if k > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"action":"tool_%d","args":{"id":%d,"k":%d,"q":"search flights"},"observation":"%s"}`, k, i, k, obs)
		}
		body.WriteString("]}")
	}
	body.WriteString("]}")
	raw := []byte(body.String())
	schema := specOpsForTest(b)["POST /v1/trajectories/batch"]
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		if err := checkBody(raw, schema); err != nil {
			b.Fatal(err)
		}
	}
}
