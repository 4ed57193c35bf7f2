package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/benchkit"
)

// runAPI measures the cost of the middleware chain (request id, logging,
// metrics, authentication, rate limiting) on the cheapest authenticated route.
func runAPI(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	n := fs.Int("n", 2000, "requests per credential kind")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rep := benchkit.NewReport("api", map[string]any{"n": *n, "api": e.apiURL})
	_, key, err := e.tenant(ctx, "bench-api")
	if err != nil {
		return err
	}
	tr, err := e.client.IssueTokenWithResponse(ctx, client.IssueTokenJSONRequestBody{}, bearer(key))
	if err != nil || tr.JSON200 == nil {
		return fmt.Errorf("token: %v", err)
	}
	samples := map[string][]float64{}
	for _, kind := range []struct{ name, cred string }{{"key", key}, {"token", tr.JSON200.AccessToken}} {
		var lat benchkit.Latencies
		prog := benchkit.Progress{Label: "api/" + kind.name, Total: *n}
		for i := 0; i < *n; i++ {
			start := time.Now()
			r, err := e.client.GetMeWithResponse(ctx, bearer(kind.cred))
			if err != nil {
				return err
			}
			if r.StatusCode() != 200 {
				return fmt.Errorf("%w: %d %s", errBadStatus, r.StatusCode(), r.Body)
			}
			lat.Add(r.HTTPResponse.Header, time.Since(start))
			prog.Step(i + 1)
		}
		lat.Report(rep, "me_"+kind.name)
		samples[kind.name+" (server)"] = lat.Server()
		samples[kind.name+" (client)"] = lat.Client()
	}
	rep.AddTable(benchkit.Table{Title: "GET /v1/me latency (ms)", Header: []string{"credential", "server p50", "server p99", "client p50", "client p99"},
		Rows: [][]string{
			{"API key", f(rep.Metrics["me_key.p50_ms"]), f(rep.Metrics["me_key.p99_ms"]), f(rep.Metrics["me_key.client_p50_ms"]), f(rep.Metrics["me_key.client_p99_ms"])},
			{"access token", f(rep.Metrics["me_token.p50_ms"]), f(rep.Metrics["me_token.p99_ms"]), f(rep.Metrics["me_token.client_p50_ms"]), f(rep.Metrics["me_token.client_p99_ms"])},
		}})
	if err := rep.LatencyCDF(e.out, "latency", "GET /v1/me latency", samples); err != nil {
		return err
	}
	return rep.Finish(e.out, os.Stdout)
}

func f(v float64) string { return benchkit.FormatFloat(v) }
