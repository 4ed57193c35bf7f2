package benchkit

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Latencies collects server-side (Server-Timing) and client-side durations of
// one kind of request. It is safe for concurrent use.
type Latencies struct {
	mu     sync.Mutex
	server []float64 // milliseconds
	client []float64
}

// Add records one request.
func (l *Latencies) Add(h http.Header, client time.Duration) {
	s, ok := ServerMillis(h)
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		l.server = append(l.server, s)
	}
	l.client = append(l.client, float64(client.Microseconds())/1000)
}

// Server returns the server-side samples in milliseconds.
func (l *Latencies) Server() []float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]float64(nil), l.server...)
}

// Client returns the client-side samples in milliseconds.
func (l *Latencies) Client() []float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]float64(nil), l.client...)
}

// Report sets PREFIX.p50_ms, .p95_ms, .p99_ms (server side) and
// PREFIX.client_p50_ms, … (client side), plus PREFIX.n.
func (l *Latencies) Report(r *Report, prefix string) {
	s, c := l.Server(), l.Client()
	r.Set(prefix+".n", float64(len(c)))
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 50}, {"p95", 95}, {"p99", 99}} {
		if len(s) > 0 {
			r.Set(prefix+"."+q.name+"_ms", Percentile(s, q.p))
		}
		if len(c) > 0 {
			r.Set(prefix+".client_"+q.name+"_ms", Percentile(c, q.p))
		}
	}
}

// ServerMillis reads "app;dur=1.234" from a Server-Timing header.
func ServerMillis(h http.Header) (float64, bool) {
	for _, part := range strings.Split(h.Get("Server-Timing"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "dur="); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// Percentile returns the p-th percentile (0–100) by linear interpolation.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Median is Percentile(xs, 50).
func Median(xs []float64) float64 { return Percentile(xs, 50) }
