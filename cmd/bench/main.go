// Command bench runs admem's benchmarks against a running API (and worker):
//
//	go run ./cmd/bench NAME [flags]
//
// `make bench-NAME` starts a private stack and the binaries, runs this, and
// stops everything (scripts/bench.sh). Each run writes OUT/NAME.json,
// OUT/NAME.md and OUT/NAME-*.png.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/admem/admem/client"
)

// command is one benchmark.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// commands lists every benchmark.
var commands = []command{
	{"api", "authenticated request latency through the full middleware chain (key and token)", runAPI},
	{"load", "concurrent clients on an agent fleet's request mix over a large tenant among 100: throughput, latency per route, errors, CPU per process", runLoad},
	{"locomo", "LoCoMo evidence recall@k of entry search (lexical, vector, hybrid) and search latency", runLoCoMo},
	{"poison", "attacks on what a tenant's memory learns, over HTTP, by one key, two keys of one agent and independent keys; quarantine recall and false quarantine over HTTP; the trust layer's cost to honest learning", runPoison},
	{"quarantine", "instruction-injection quarantine: false quarantine on real LoCoMo facts and tau-bench observations, recall on generated held-out injections (no server)", runQuarantine},
	{"scale", "entry ingest rate, index build and size, and search latency with one large tenant among 100", runScale},
	{"taureplay", "tau-bench replay: mistake-note coverage of repeated errors by recall, recall tokens and latency, batch ingest rate; --guard: guard recall, false positives, AUC, latency, time-to-learn, adapter training", runTauReplay},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: bench NAME [flags]; NAME is one of:")
		for _, c := range commands {
			fmt.Fprintf(stderr, "  %-10s %s\n", c.name, c.summary)
		}
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			e, rest, err := newEnv(c.name, args[1:], getenv)
			if err != nil {
				return err
			}
			return c.run(ctx, e, rest)
		}
	}
	return fmt.Errorf("unknown benchmark %q (run without arguments for the list)", args[0])
}

// env is what every benchmark gets: the API, the platform key, where data and
// results live, and the flags left for the benchmark itself.
type env struct {
	name        string
	apiURL      string
	platformKey string
	out         string
	data        string
	http        *http.Client
	client      *client.ClientWithResponses
	getenv      func(string) string
	// untrustedKeys: tenant leaves its key untrusted for learning (the
	// poison benchmark's arm with the trust layer in force).
	untrustedKeys bool
}

func newEnv(name string, args []string, getenv func(string) string) (*env, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	api := fs.String("api", firstNonEmpty(getenv("ADMEM_BENCH_API"), "http://127.0.0.1:18080"), "API base URL")
	keyFile := fs.String("key-file", firstNonEmpty(getenv("ADMEM_BENCH_KEY_FILE"), ".data/bench/platform.key"), "file holding the platform admin key")
	out := fs.String("out", ".data/bench", "directory for NAME.json, NAME.md and plots")
	data := fs.String("data", "", "dataset file (benchmarks that read one)")
	// Unknown flags belong to the benchmark: parse ours, pass the rest on.
	var ours, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		n := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		if fs.Lookup(n) != nil && strings.HasPrefix(a, "-") {
			ours = append(ours, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				ours = append(ours, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, a)
	}
	if err := fs.Parse(ours); err != nil {
		return nil, nil, err
	}
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("platform key: %w (start the stack with `make bench-%s`)", err, name)
	}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	c, err := client.NewClientWithResponses(*api, client.WithHTTPClient(hc))
	if err != nil {
		return nil, nil, err
	}
	return &env{name: name, apiURL: *api, platformKey: strings.TrimSpace(string(key)), out: *out, data: *data,
		http: hc, client: c, getenv: getenv}, rest, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// bearer returns a request editor sending cred.
func bearer(cred string) client.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+cred)
		return nil
	}
}

// tenant creates a fresh tenant with an admin key for one run.
func (e *env) tenant(ctx context.Context, prefix string) (id, adminKey string, err error) {
	return e.tenantKey(ctx, prefix, !e.untrustedKeys)
}

// tenantKey is tenant with the admin key trusted for learning or not (an
// untrusted key's reports count only with independent sources).
func (e *env) tenantKey(ctx context.Context, prefix string, trust bool) (id, adminKey string, err error) {
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9)
	tr, err := e.client.CreateTenantWithResponse(ctx, nil, client.CreateTenantRequest{Name: name,
		RateLimit: &client.RateLimit{RequestsPerSecond: ptr(float32(1e6)), Burst: ptr(10_000_000)}}, bearer(e.platformKey))
	if err != nil {
		return "", "", err
	}
	if tr.JSON201 == nil {
		return "", "", fmt.Errorf("create tenant: %d %s", tr.StatusCode(), tr.Body)
	}
	kr, err := e.client.CreateTenantKeyWithResponse(ctx, tr.JSON201.Id, nil,
		client.CreateKeyRequest{Name: "bench", Scopes: []client.Scope{client.Admin}}, bearer(e.platformKey))
	if err != nil {
		return "", "", err
	}
	if kr.JSON201 == nil {
		return "", "", fmt.Errorf("create key: %d %s", kr.StatusCode(), kr.Body)
	}
	if !trust {
		return tr.JSON201.Id.String(), kr.JSON201.Key, nil
	}
	// The run's one key is its tenant's only agent, and honest: its admin
	// trusts it for learning, so that what it alone reports may block and
	// teach fixes (docs/trust.md: independent evidence).
	ur, err := e.client.SetKeyLearningTrustWithResponse(ctx, kr.JSON201.Id, client.KeyLearningTrust{Trusted: true}, bearer(kr.JSON201.Key))
	if err != nil {
		return "", "", err
	}
	if ur.JSON200 == nil || ur.JSON200.TrustedForLearning == nil || !*ur.JSON200.TrustedForLearning {
		return "", "", fmt.Errorf("trust key for learning: %d %s", ur.StatusCode(), ur.Body)
	}
	return tr.JSON201.Id.String(), kr.JSON201.Key, nil
}

func ptr[T any](v T) *T { return &v }

var errBadStatus = errors.New("unexpected status")
