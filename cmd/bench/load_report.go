package main

// The load benchmark's report: the headline metrics, the tables, the
// plots, and what Postgres was busy with.

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem/internal/benchkit"
	"github.com/jackc/pgx/v5"
)

func reportLoad(e *env, rep *benchkit.Report, cfg loadConfig, levels []levelResult, routes []string, sweep map[string][]levelResult, stdout io.Writer) error {
	if len(levels) > 0 {
		if err := reportMix(e, rep, cfg, levels); err != nil {
			return err
		}
	}
	if len(routes) > 0 {
		if err := reportRoutes(e, rep, routes, sweep); err != nil {
			return err
		}
	}
	return rep.Finish(e.out, stdout)
}

// reportMix reports the mixed load's levels.
func reportMix(e *env, rep *benchkit.Report, cfg loadConfig, levels []levelResult) error {
	// The headline is the level with the most throughput (where the stack
	// saturates); the error rate counts every window.
	best, requests, errs := levels[0], 0, 0
	for _, l := range levels {
		if l.sum.rps > best.sum.rps {
			best = l
		}
		requests += l.sum.requests
		errs += l.sum.errors
	}
	bp := fmt.Sprintf("mix.c%d", best.clients)
	rep.Set("mix.rps", best.sum.rps)
	rep.Set("mix.clients", float64(best.clients))
	for _, k := range []string{"p50_ms", "p95_ms", "p99_ms", "client_p50_ms", "client_p99_ms"} {
		rep.Set("mix."+k, rep.Metrics[bp+"."+k])
	}
	rep.Set("mix.requests", float64(requests))
	rep.Set("mix.error_rate", 1)
	if requests > 0 {
		rep.Set("mix.error_rate", ratio(errs, requests))
	}

	m := rep.Metrics
	var rows [][]string
	var xs, rps, p50, p95, p99 []float64
	procNames := []string{}
	for _, p := range loadProcs {
		procNames = append(procNames, p.name)
	}
	cdf := map[string][]float64{}
	cpuSeries := make([]benchkit.Series, len(procNames))
	var cpuLabels []string
	for _, l := range levels {
		p := fmt.Sprintf("mix.c%d", l.clients)
		row := []string{strconv.Itoa(l.clients), f(l.sum.rps), f(m[p+".p50_ms"]), f(m[p+".p95_ms"]), f(m[p+".p99_ms"]),
			f(m[p+".client_p50_ms"]), f(m[p+".client_p99_ms"]), fmt.Sprintf("%.2f%%", 100*l.sum.errorRate)}
		for i, n := range procNames {
			c := l.cpu[n] / l.elapsed.Seconds()
			row = append(row, fmt.Sprintf("%.2f", c))
			cpuSeries[i].Name = n
			cpuSeries[i].Y = append(cpuSeries[i].Y, c)
		}
		rows = append(rows, row)
		xs = append(xs, float64(l.clients))
		rps, p50, p95, p99 = append(rps, l.sum.rps), append(p50, m[p+".p50_ms"]), append(p95, m[p+".p95_ms"]), append(p99, m[p+".p99_ms"])
		cdf[fmt.Sprintf("%3d clients", l.clients)] = l.sum.server
		cpuLabels = append(cpuLabels, strconv.Itoa(l.clients)+" clients")
	}
	header := []string{"clients", "requests/s", "p50 ms", "p95", "p99", "client p50", "client p99", "errors"}
	for _, n := range procNames {
		header = append(header, n+" cores")
	}
	rep.AddTable(benchkit.Table{Title: "Mixed load by concurrency (server-side latency; client side includes queueing)", Header: header, Rows: rows})

	for _, l := range levels {
		p := fmt.Sprintf("mix.c%d", l.clients)
		t := benchkit.Table{Title: fmt.Sprintf("Per route at %d clients", l.clients),
			Header: []string{"route", "share", "requests/s", "p50 ms", "p95", "p99", "client p99", "errors"}}
		for _, name := range l.stats.names() {
			r := l.stats.route(name)
			t.Rows = append(t.Rows, []string{name, fmt.Sprintf("%.1f%%", 100*ratio(r.n, l.sum.requests)), f(m[p+"."+name+".rps"]),
				f(m[p+"."+name+".p50_ms"]), f(m[p+"."+name+".p95_ms"]), f(m[p+"."+name+".p99_ms"]), f(m[p+"."+name+".client_p99_ms"]),
				strconv.Itoa(r.errs)})
		}
		rep.AddTable(t)
		if l.sum.errors > 0 {
			codes := []string{}
			for c, n := range l.sum.statuses {
				if c/100 != 2 {
					codes = append(codes, fmt.Sprintf("%d×%d", n, c))
				}
			}
			sort.Strings(codes)
			rep.Note("Errors at %d clients (status 0: no answer): %s. First answers: %s", l.clients, strings.Join(codes, ", "),
				strings.Join(l.samples, " | "))
		}
		if l.pgSamples > 0 {
			type qc struct {
				q string
				n int
			}
			var qs []qc
			busy := 0
			for q, n := range l.pgQueries {
				qs = append(qs, qc{q, n})
				busy += n
			}
			sort.Slice(qs, func(i, j int) bool { return qs[i].n > qs[j].n || qs[i].n == qs[j].n && qs[i].q < qs[j].q })
			t := benchkit.Table{Title: fmt.Sprintf("Postgres at %d clients: queries running, sampled every 50 ms (%d samples, %.1f active backends on average)",
				l.clients, l.pgSamples, float64(busy)/float64(l.pgSamples)),
				Header: []string{"query (start)", "share of busy samples"}}
			for _, x := range qs[:min(15, len(qs))] {
				t.Rows = append(t.Rows, []string{"`" + strings.ReplaceAll(x.q, "|", "\\|") + "`", fmt.Sprintf("%.1f%%", 100*ratio(x.n, busy))})
			}
			rep.AddTable(t)
			rep.Set(fmt.Sprintf("mix.c%d.pg_active_backends", l.clients), float64(busy)/float64(l.pgSamples))
		}
		if l.top != "" {
			rep.Note("API CPU profile during the %d-client window (`go tool pprof -top`):\n\n```\n%s```", l.clients, l.top)
		}
	}
	rep.Note("Mix %s over %d tenants: one with %d entries gets %.0f%% of requests, %d others with %d entries each the rest; "+
		"%d trajectories were recorded into the large tenant first (%s mistake notes, %s procedures learnt). Each level: %s warm-up, "+
		"then %s measured. `mix.rps`, `mix.p99_ms` are the level with the highest throughput; `mix.error_rate` counts every "+
		"non-2xx answer and failed request of every level. CPU is user+system time of each process (Postgres: the postmaster and "+
		"its backends) over the window, in cores; the load generator shares the machine's %d cores.",
		formatMix(cfg.mix), cfg.tenants, cfg.entries, 100*cfg.bigShare, cfg.tenants-1, cfg.small, cfg.trajectories,
		f(m["seed.learned_mistake"]), f(m["seed.learned_procedure"]), cfg.warmup, cfg.duration, benchkit.ThisMachine().Cores)

	if err := rep.LinePlot(e.out, "throughput", "Mixed load: throughput", "concurrent clients", "requests/s",
		[]benchkit.Series{{Name: "requests/s", X: xs, Y: rps}}); err != nil {
		return err
	}
	if err := rep.LinePlot(e.out, "latency", "Mixed load: server-side latency", "concurrent clients", "ms",
		[]benchkit.Series{{Name: "p50", X: xs, Y: p50}, {Name: "p95", X: xs, Y: p95}, {Name: "p99", X: xs, Y: p99}}); err != nil {
		return err
	}
	if err := rep.LatencyCDF(e.out, "cdf", "Mixed load: latency distribution (server side, all routes)", cdf); err != nil {
		return err
	}
	// p50 and p99 of each route at each level (the routes every level has).
	var routes []string
	for _, name := range levels[0].stats.names() {
		if name != "open" && name != "close" {
			routes = append(routes, name)
		}
	}
	var routeSeries []benchkit.Series
	for _, q := range []string{"p50", "p99"} {
		for _, l := range levels {
			s := benchkit.Series{Name: fmt.Sprintf("%s, %d clients", q, l.clients)}
			for _, r := range routes {
				s.Y = append(s.Y, m[fmt.Sprintf("mix.c%d.%s.%s_ms", l.clients, r, q)])
			}
			routeSeries = append(routeSeries, s)
		}
	}
	if err := rep.BarPlot(e.out, "routes", "Mixed load: server-side latency per route", "ms", routes, routeSeries); err != nil {
		return err
	}
	return rep.BarPlot(e.out, "cpu", "Mixed load: CPU by process", "cores", cpuLabels, cpuSeries)
}

// scaleNames are the names (scale.NAME_p50_ms, scale.NAME_rps) of
// the operations a route sweep measures.
var scaleNames = map[string]string{"guard": "guard", "recall": "recall", "search": "search", "entry_write": "write",
	"append": "append", "trajectory": "trajectory"}

// reportRoutes reports each route measured alone at every concurrency:
// throughput, server-side p50/p99, and each process's CPU per request.
// The headlines are scale.NAME_p50_ms at the fewest clients (one, in the
// issue's sweep) and scale.NAME_rps at the level with the most throughput.
func reportRoutes(e *env, rep *benchkit.Report, routes []string, sweep map[string][]levelResult) error {
	f := benchkit.FormatFloat
	m := rep.Metrics
	header := []string{"route", "clients", "requests/s", "p50 ms", "p99 ms", "client p50"}
	for _, p := range loadProcs {
		header = append(header, p.name+" cores")
	}
	header = append(header, "api CPU ms/req", "postgres CPU ms/req")
	var rows [][]string
	var rpsSeries, p50Series []benchkit.Series
	for _, r := range routes {
		levels := sweep[r]
		if len(levels) == 0 {
			continue
		}
		name := scaleNames[r]
		if name == "" {
			name = r
		}
		rps, p50 := benchkit.Series{Name: r}, benchkit.Series{Name: r}
		best := 0.0
		for i, l := range levels {
			p := fmt.Sprintf("route.%s.c%d", r, l.clients)
			row := []string{r, strconv.Itoa(l.clients), f(l.sum.rps), f(m[p+".p50_ms"]), f(m[p+".p99_ms"]), f(m[p+".client_p50_ms"])}
			for _, pr := range loadProcs {
				row = append(row, fmt.Sprintf("%.2f", l.cpu[pr.name]/l.elapsed.Seconds()))
			}
			for _, pr := range []string{"api", "postgres"} {
				perReq := 0.0
				if l.sum.requests > 0 {
					perReq = 1000 * l.cpu[pr] / float64(l.sum.requests)
				}
				rep.Set(p+".cpu."+pr+"_ms_per_request", perReq)
				row = append(row, fmt.Sprintf("%.2f", perReq))
			}
			rows = append(rows, row)
			rps.X, rps.Y = append(rps.X, float64(l.clients)), append(rps.Y, l.sum.rps)
			p50.X, p50.Y = append(p50.X, float64(l.clients)), append(p50.Y, m[p+".p50_ms"])
			if i == 0 {
				rep.Set("scale."+name+"_p50_ms", m[p+".p50_ms"])
				rep.Set("scale."+name+"_p99_ms", m[p+".p99_ms"])
			}
			best = max(best, l.sum.rps)
		}
		rep.Set("scale."+name+"_rps", best)
		rpsSeries, p50Series = append(rpsSeries, rps), append(p50Series, p50)
	}
	rep.AddTable(benchkit.Table{Title: "Each route alone by concurrency (server-side latency; CPU in cores over the window and in ms per request)",
		Header: header, Rows: rows})
	rep.Note("Route sweep: each route alone, at each concurrency, on the same seeded tenants as the mix. `scale.NAME_p50_ms` is the " +
		"p50 at the first (fewest) clients level, `scale.NAME_rps` the highest throughput of any level (NAME: write for entry_write).")
	if err := rep.LinePlot(e.out, "routes-throughput", "Each route alone: throughput", "concurrent clients", "requests/s", rpsSeries); err != nil {
		return err
	}
	return rep.LinePlot(e.out, "routes-p50", "Each route alone: server-side p50", "concurrent clients", "ms", p50Series)
}

// samplePostgres counts, every interval until stop closes, the queries
// Postgres is running for the bench database (pg_stat_activity, active
// backends): each query's share of the samples is its share of
// Postgres's busy time (running or waiting), where pprof cannot look.
func samplePostgres(ctx context.Context, conn *pgx.Conn, interval time.Duration, stop <-chan struct{}) (map[string]int, int, error) {
	counts, samples := map[string]int{}, 0
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return counts, samples, nil
		case <-ctx.Done():
			return counts, samples, ctx.Err()
		case <-t.C:
		}
		rows, err := conn.Query(ctx, `SELECT query FROM pg_stat_activity
			WHERE state = 'active' AND datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
		if err != nil {
			return counts, samples, err
		}
		qs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return counts, samples, err
		}
		samples++
		for _, q := range qs {
			counts[queryLabel(q)]++
		}
	}
}

// queryLabel shortens a query to its first words, white space folded.
func queryLabel(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if r := []rune(q); len(r) > 110 {
		q = string(r[:110]) + "…"
	}
	return q
}
