package mistake

import (
	"testing"

	"github.com/admem/admem/internal/signature"
)

func TestTransientCue(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want bool
	}{
		{`{"status":503,"error":{"code":"SERVICE_UNAVAILABLE","message":"service temporarily unavailable, please retry"}}`, true},
		{"Error 504 GATEWAY_TIMEOUT: upstream did not respond within 3000 ms [trace_id=12345]", true},
		{"deadline of 15s exceeded, the request may be retried (request id 12345)", true},
		{"rate limit exceeded, retry after 3 seconds", true},
		{"Error: upstream connection reset (node 4)", true},
		{"Error: amount 512 exceeds the limit of 500", false},
		{"quota exhausted: 1 search per route per session (429 Too Many Requests)", false},
		{"Error: order ORD-1 not found", false},
		{"field 'date' is required", false},
	} {
		if got := transientCue(signature.Normalize("tool", "", c.msg), c.msg); got != c.want {
			t.Errorf("%q: cue %v, want %v", c.msg, got, c.want)
		}
	}
}
