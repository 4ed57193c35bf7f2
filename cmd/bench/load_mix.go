package main

// The load benchmark's arithmetic, kept free of HTTP so it can be tested:
// choosing an operation by the mix's weights, summing one concurrency
// level's requests into metrics, and reading processes' CPU time.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/admem/admem/internal/benchkit"
)

// mixOp is one kind of request of the load mix and its share.
type mixOp struct {
	name   string
	weight float64
}

// defaultMix is what an agent fleet sends, per the read-path issue's
// measurement: guard on every step, search and recall most steps,
// appends as steps finish, some entry writes, a few whole trajectories.
var defaultMix = []mixOp{
	{"guard", 30},
	{"recall", 20},
	{"search", 20},
	{"append", 15},
	{"entry_write", 10},
	{"trajectory", 5},
}

// mixPicker draws operations in proportion to their weights.
type mixPicker struct {
	ops []mixOp
	cum []float64 // cumulative weights, normalised to end at 1
}

func newMixPicker(ops []mixOp) (*mixPicker, error) {
	total := 0.0
	for _, o := range ops {
		if o.weight < 0 || math.IsNaN(o.weight) || math.IsInf(o.weight, 0) {
			return nil, fmt.Errorf("mix: weight of %s is %v", o.name, o.weight)
		}
		total += o.weight
	}
	if total <= 0 {
		return nil, fmt.Errorf("mix: no operation has a weight")
	}
	p := &mixPicker{ops: ops}
	acc := 0.0
	for _, o := range ops {
		acc += o.weight
		p.cum = append(p.cum, acc/total)
	}
	p.cum[len(p.cum)-1] = 1
	return p, nil
}

// pick maps u in [0, 1) to an operation's name: the first whose
// cumulative share exceeds u (an operation of weight 0 never does).
func (p *mixPicker) pick(u float64) string {
	for i, c := range p.cum {
		if u < c {
			return p.ops[i].name
		}
	}
	for i := len(p.ops) - 1; i > 0; i-- {
		if p.ops[i].weight > 0 {
			return p.ops[i].name
		}
	}
	return p.ops[0].name
}

// parseMix reads "guard=30,recall=20,…" (weights, any scale).
func parseMix(s string) ([]mixOp, error) {
	var ops []mixOp
	for _, part := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("mix: %q is not NAME=WEIGHT", part)
		}
		v, err := strconv.ParseFloat(w, 64)
		if err != nil {
			return nil, fmt.Errorf("mix: %q: %w", part, err)
		}
		known := false
		for _, d := range defaultMix {
			known = known || d.name == name
		}
		if !known {
			return nil, fmt.Errorf("mix: unknown operation %q", name)
		}
		ops = append(ops, mixOp{name, v})
	}
	return ops, nil
}

func formatMix(ops []mixOp) string {
	parts := make([]string, len(ops))
	for i, o := range ops {
		parts[i] = o.name + "=" + strconv.FormatFloat(o.weight, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// routeStats counts one route's requests at one concurrency level.
type routeStats struct {
	lat      benchkit.Latencies
	mu       sync.Mutex
	n, errs  int
	statuses map[int]int // 0: no response (transport error)
}

func (r *routeStats) add(status int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if !ok {
		r.errs++
	}
	if r.statuses == nil {
		r.statuses = map[int]int{}
	}
	r.statuses[status]++
}

// levelStats is every route's requests at one concurrency level.
type levelStats struct {
	mu     sync.Mutex
	routes map[string]*routeStats
}

func (l *levelStats) route(name string) *routeStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.routes == nil {
		l.routes = map[string]*routeStats{}
	}
	r := l.routes[name]
	if r == nil {
		r = &routeStats{}
		l.routes[name] = r
	}
	return r
}

func (l *levelStats) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ns := make([]string, 0, len(l.routes))
	for n := range l.routes {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// levelSummary is one concurrency level in numbers.
type levelSummary struct {
	requests, errors int
	rps, errorRate   float64
	server, client   []float64 // every route's latencies (ms)
	statuses         map[int]int
}

// summarize sets PREFIX.rps, .error_rate, .requests, .errors and the
// overall and per-route (PREFIX.ROUTE.*) percentiles; elapsed is the
// measured window.
func (l *levelStats) summarize(rep *benchkit.Report, prefix string, elapsed time.Duration) levelSummary {
	s := levelSummary{statuses: map[int]int{}}
	for _, name := range l.names() {
		r := l.route(name)
		r.mu.Lock()
		n, errs := r.n, r.errs
		for code, c := range r.statuses {
			s.statuses[code] += c
		}
		r.mu.Unlock()
		s.requests += n
		s.errors += errs
		r.lat.Report(rep, prefix+"."+name)
		rep.Set(prefix+"."+name+".rps", float64(n)/elapsed.Seconds())
		rep.Set(prefix+"."+name+".error_rate", ratio(errs, n))
		s.server = append(s.server, r.lat.Server()...)
		s.client = append(s.client, r.lat.Client()...)
	}
	s.rps = float64(s.requests) / elapsed.Seconds()
	s.errorRate = 1 // no answer at all is all errors (and NaN is not JSON)
	if s.requests > 0 {
		s.errorRate = ratio(s.errors, s.requests)
	}
	rep.Set(prefix+".rps", s.rps)
	rep.Set(prefix+".error_rate", s.errorRate)
	rep.Set(prefix+".requests", float64(s.requests))
	rep.Set(prefix+".errors", float64(s.errors))
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 50}, {"p95", 95}, {"p99", 99}} {
		if len(s.server) > 0 {
			rep.Set(prefix+"."+q.name+"_ms", benchkit.Percentile(s.server, q.p))
		}
		if len(s.client) > 0 {
			rep.Set(prefix+".client_"+q.name+"_ms", benchkit.Percentile(s.client, q.p))
		}
	}
	return s
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports (the kernel scales to it whatever HZ is).
const clockTicks = 100

// procStat is what the load benchmark reads of /proc/PID/stat.
type procStat struct {
	ppid int
	// own is the process's user + system time; reaped its exited and
	// waited-for children's (a Postgres backend that ended during the
	// run is counted there).
	own, reaped float64 // seconds
}

// parseProcStat reads a /proc/PID/stat line; the command name (field 2)
// may hold spaces and parentheses, so fields are counted from its last ')'.
func parseProcStat(line string) (procStat, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("proc stat: no command name in %.80q", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("proc stat: %d fields after the name", len(f))
	}
	var v [5]int64
	for k, idx := range []int{1, 11, 12, 13, 14} {
		n, err := strconv.ParseInt(f[idx], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("proc stat: field %d: %w", idx+3, err)
		}
		v[k] = n
	}
	return procStat{ppid: int(v[0]), own: float64(v[1]+v[2]) / clockTicks, reaped: float64(v[3]+v[4]) / clockTicks}, nil
}

// processCPU returns the CPU seconds pid and its children have used so
// far: its own, its reaped children's, and its live children's (Postgres
// runs a process per connection under the postmaster). The difference of
// two readings is the CPU used in between.
func processCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	root, err := parseProcStat(string(b))
	if err != nil {
		return 0, err
	}
	total := root.own + root.reaped
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // it ended meanwhile
		}
		c, err := parseProcStat(string(b))
		if err != nil || c.ppid != pid {
			continue
		}
		total += c.own + c.reaped
	}
	return total, nil
}

// cpuProbe reads the CPU of the stack's processes; a process whose id is
// unknown is left out.
type cpuProbe struct {
	names []string
	pids  map[string]int
}

func (p *cpuProbe) read() map[string]float64 {
	out := map[string]float64{}
	for _, n := range p.names {
		if s, err := processCPU(p.pids[n]); err == nil {
			out[n] = s
		}
	}
	return out
}
