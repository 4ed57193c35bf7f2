package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/benchkit"
)

func TestMixPickerFollowsWeights(t *testing.T) {
	p, err := newMixPicker(defaultMix)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	const n = 200000
	got := map[string]int{}
	for i := 0; i < n; i++ {
		got[p.pick(rng.Float64())]++
	}
	for _, o := range defaultMix {
		share := float64(got[o.name]) / n
		want := o.weight / 100
		if math.Abs(share-want) > 0.005 {
			t.Errorf("%s: share %.4f, want %.2f", o.name, share, want)
		}
	}
}

func TestMixPickerEdges(t *testing.T) {
	p, err := newMixPicker([]mixOp{{"guard", 0}, {"recall", 1}, {"search", 0}, {"append", 3}, {"trajectory", 0}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		u    float64
		want string
	}{
		{0, "recall"}, {0.2499, "recall"}, {0.25, "append"}, {0.9999999, "append"}, {1, "append"},
	} {
		if got := p.pick(tc.u); got != tc.want {
			t.Errorf("pick(%v) = %s, want %s", tc.u, got, tc.want)
		}
	}
	for _, bad := range [][]mixOp{nil, {{"guard", 0}}, {{"guard", -1}, {"recall", 2}}, {{"guard", math.NaN()}}} {
		if _, err := newMixPicker(bad); err == nil {
			t.Errorf("newMixPicker(%v) accepted", bad)
		}
	}
}

func TestParseMix(t *testing.T) {
	ops, err := parseMix(formatMix(defaultMix))
	if err != nil || len(ops) != len(defaultMix) {
		t.Fatalf("round trip: %v %v", ops, err)
	}
	for i := range ops {
		if ops[i] != defaultMix[i] {
			t.Errorf("op %d: %v, want %v", i, ops[i], defaultMix[i])
		}
	}
	for _, bad := range []string{"guard", "guard=x", "fly=3", ""} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) accepted", bad)
		}
	}
}

// timed is a response header carrying a server-side duration.
func timed(ms string) http.Header {
	h := http.Header{}
	h.Set("Server-Timing", "app;dur="+ms)
	return h
}

func TestLevelSummary(t *testing.T) {
	var l levelStats
	// guard: 100 answers of 1..100 ms, one of them a 429.
	for i := 1; i <= 100; i++ {
		status := 200
		if i == 50 {
			status = 429
		}
		r := l.route("guard")
		r.add(status, status == 200)
		r.lat.Add(timed(itoa(i)), time.Duration(i+1)*time.Millisecond)
	}
	// search: 100 answers of 1000 ms, one transport error (no latency).
	for i := 0; i < 100; i++ {
		r := l.route("search")
		r.add(200, true)
		r.lat.Add(timed("1000"), time.Second)
	}
	l.route("search").add(0, false)

	rep := benchkit.NewReport("t", nil)
	s := l.summarize(rep, "mix.c8", 10*time.Second)
	if s.requests != 201 || s.errors != 2 {
		t.Fatalf("requests %d errors %d, want 201 and 2", s.requests, s.errors)
	}
	checks := map[string]float64{
		"mix.c8.rps":              20.1,
		"mix.c8.error_rate":       2.0 / 201,
		"mix.c8.guard.rps":        10,
		"mix.c8.guard.error_rate": 0.01,
		"mix.c8.guard.p50_ms":     50.5,
		"mix.c8.guard.p99_ms":     99.01,
		"mix.c8.search.rps":       10.1,
		// Overall: 100 samples 1..100 and 100 of 1000: the median lies
		// between 100 and 1000, p95 is 1000.
		"mix.c8.p50_ms": 550,
		"mix.c8.p95_ms": 1000,
	}
	for k, want := range checks {
		got, ok := rep.Metrics[k]
		if !ok || math.Abs(got-want) > 1e-6*math.Max(1, want) {
			t.Errorf("%s = %v (set %v), want %v", k, got, ok, want)
		}
	}
	if s.statuses[429] != 1 || s.statuses[0] != 1 || s.statuses[200] != 199 {
		t.Errorf("statuses %v", s.statuses)
	}

	var empty levelStats
	if s := empty.summarize(benchkit.NewReport("t", nil), "x", time.Second); s.errorRate != 1 || s.rps != 0 {
		t.Errorf("no requests: error rate %v rps %v, want 1 and 0", s.errorRate, s.rps)
	}
}

func itoa(i int) string { return f(float64(i)) }

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and a parenthesis; utime 150, stime 50,
	// cutime 30, cstime 20 ticks.
	line := "4242 (post gres: x)) S 4200 4242 4242 0 -1 4194560 1234 0 0 0 150 50 30 20 20 0 1 0 12345 0 0\n"
	s, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if s.ppid != 4200 || s.own != 2 || s.reaped != 0.5 {
		t.Errorf("got %+v, want ppid 4200, own 2 s, reaped 0.5 s", s)
	}
	for _, bad := range []string{"", "12 (x) S 1 2", "12 (x) S 1 2 3 4 5 6 7 8 9 10 x 12 13 14"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

func TestProcessCPUOfSelf(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn some CPU: the reading must not go backwards.
	x := 0.0
	for i := 0; i < 3e7; i++ {
		x += math.Sqrt(float64(i))
	}
	after, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after < before || x == 0 {
		t.Errorf("CPU went from %v to %v", before, after)
	}
}

func TestReportLoadHeadlineIsTheBusiestLevel(t *testing.T) {
	var levels []levelResult
	rep := benchkit.NewReport("load", nil)
	for i, c := range []int{8, 32} {
		l := levelResult{clients: c, stats: &levelStats{}, elapsed: 10 * time.Second, cpu: map[string]float64{"postgres": 5, "api": 2}}
		// 8 clients: 300 requests of 10 ms; 32 clients: 200 of 40 ms, one 500.
		n, ms := 300, "10"
		if i == 1 {
			n, ms = 200, "40"
		}
		for j := 0; j < n; j++ {
			for _, route := range []string{"guard", "search"} {
				ok := !(i == 1 && j == 0 && route == "search")
				status := 200
				if !ok {
					status = 500
				}
				r := l.stats.route(route)
				r.add(status, ok)
				r.lat.Add(timed(ms), 10*time.Millisecond)
			}
		}
		l.sum = l.stats.summarize(rep, fmt.Sprintf("mix.c%d", c), l.elapsed)
		levels = append(levels, l)
	}
	dir := t.TempDir()
	var out strings.Builder
	if err := reportLoad(&env{out: dir}, rep, loadConfig{mix: defaultMix, clients: []int{8, 32}, tenants: 2, entries: 10}, levels, nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	m := rep.Metrics
	if m["mix.rps"] != 60 || m["mix.clients"] != 8 || m["mix.p99_ms"] != 10 {
		t.Errorf("headline: rps %v clients %v p99 %v, want 60, 8, 10", m["mix.rps"], m["mix.clients"], m["mix.p99_ms"])
	}
	if want := 1.0 / 1000; math.Abs(m["mix.error_rate"]-want) > 1e-12 {
		t.Errorf("error rate %v, want %v (every level counts)", m["mix.error_rate"], want)
	}
	// Postgres 5 s and the API 2 s of a 10 s window; Redis unknown.
	if !strings.Contains(out.String(), "| 0.50 | 0.00 | 0.20 |") {
		t.Errorf("CPU cores missing from the table:\n%s", out.String())
	}
	for _, name := range []string{"load.json", "load.md", "load-throughput.png", "load-latency.png", "load-cdf.png", "load-routes.png", "load-cpu.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), "1×500") {
		t.Errorf("the 500 is not reported:\n%s", out.String())
	}
}

// The route sweep's headlines: p50 at the fewest clients, throughput at
// the busiest level, CPU per request from each process's seconds.
func TestReportRoutesHeadlines(t *testing.T) {
	rep := benchkit.NewReport("load", nil)
	sweep := map[string][]levelResult{}
	for i, c := range []int{1, 8} {
		l := levelResult{clients: c, stats: &levelStats{}, elapsed: 10 * time.Second, cpu: map[string]float64{"postgres": 1, "api": 4}}
		// 1 client: 1,000 requests of 2 ms; 8 clients: 4,000 of 9 ms.
		n, ms := 1000, "2"
		if i == 1 {
			n, ms = 4000, "9"
		}
		r := l.stats.route("entry_write")
		for range n {
			r.add(200, true)
			r.lat.Add(timed(ms), time.Millisecond)
		}
		l.sum = l.stats.summarize(rep, fmt.Sprintf("route.entry_write.c%d", c), l.elapsed)
		sweep["entry_write"] = append(sweep["entry_write"], l)
	}
	dir := t.TempDir()
	var out strings.Builder
	if err := reportLoad(&env{out: dir}, rep, loadConfig{}, nil, []string{"entry_write"}, sweep, &out); err != nil {
		t.Fatal(err)
	}
	m := rep.Metrics
	if m["scale.write_p50_ms"] != 2 || m["scale.write_rps"] != 400 {
		t.Errorf("headlines: p50 %v rps %v, want 2 and 400", m["scale.write_p50_ms"], m["scale.write_rps"])
	}
	// 4 API seconds over 1,000 requests; over 4,000 at 8 clients.
	if m["route.entry_write.c1.cpu.api_ms_per_request"] != 4 || m["route.entry_write.c8.cpu.api_ms_per_request"] != 1 {
		t.Errorf("API CPU per request: %v, %v; want 4 and 1", m["route.entry_write.c1.cpu.api_ms_per_request"], m["route.entry_write.c8.cpu.api_ms_per_request"])
	}
	for _, name := range []string{"load.md", "load-routes-throughput.png", "load-routes-p50.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}
