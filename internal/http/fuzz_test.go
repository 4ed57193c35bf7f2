package http_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/jackc/pgx/v5"
)

// fuzzBudget bounds TestFuzzAPI: requests per operation (a quarter valid,
// the rest with one thing broken) and wall time. ADMEM_HTTP_FUZZ_PER_OP and
// ADMEM_HTTP_FUZZ_SEED make longer or other runs.
const (
	fuzzPerOp       = 32
	fuzzMaxDuration = 90 * time.Second
)

// TestFuzzAPI walks openapi.yaml and sends every operation generated
// requests, valid ones and ones with one thing broken (NUL and invalid UTF-8
// in strings, map keys, query, path and headers; wrong types; missing and
// unknown fields; deep nesting; extreme numbers; bad JSON; no or a wrong
// credential), through the real router against real Postgres and Redis. No
// response may be a 5xx, every response must match the spec (the client
// validates it), and a rejected write must leave every stored count as it
// was.
func TestFuzzAPI(t *testing.T) {
	t.Parallel()
	env, _ := embedEnv(t) // with vectors, so fuzzed text reaches the embedder too
	_, admin := env.Tenant(t, "fuzz")
	victim, _ := env.Tenant(t, "fuzz-victim") // PATCH /v1/tenants/{id} may disable it
	keyID, _ := env.Key(t, admin, "read")     // DELETE /v1/keys/{id} revokes it

	var entry struct{ Entry struct{ ID string } }
	env.Do(t, "POST", "/v1/entries", admin, map[string]any{"content": "the invoice plan is billed monthly"}).JSON(t, &entry)
	var traj struct{ ID string }
	env.Do(t, "POST", "/v1/trajectories", admin, map[string]any{"task": "refund an order", "open": true,
		"steps": []any{map[string]any{"action": "get_order", "args": map[string]any{"id": "1"}}}}).JSON(t, &traj)
	var rec struct {
		RecallID string `json:"recall_id"`
	}
	env.Do(t, "POST", "/v1/recall", admin, map[string]any{"task": "refund an order"}).JSON(t, &rec)
	if entry.Entry.ID == "" || traj.ID == "" || rec.RecallID == "" {
		t.Fatalf("fixtures: entry %q trajectory %q recall %q", entry.Entry.ID, traj.ID, rec.RecallID)
	}

	seed := uint64(1)
	if v := os.Getenv("ADMEM_HTTP_FUZZ_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	rounds := fuzzPerOp
	if v, err := strconv.Atoi(os.Getenv("ADMEM_HTTP_FUZZ_PER_OP")); err == nil && v > 0 {
		rounds = v
	}
	gen := &apitest.Gen{R: rand.New(rand.NewPCG(seed, 0x5eed)), PathValues: map[string]string{
		"tenantID": victim, "keyID": keyID, "entryID": entry.Entry.ID, "trajectoryID": traj.ID,
		"recallID": rec.RecallID, "version": "1",
	}}
	ops, err := apitest.Operations()
	if err != nil {
		t.Fatal(err)
	}
	counts := newRowCounter(t, env.PG.OwnerURL)

	// Rounds over all operations, so that a machine too busy to finish
	// within the time bound still tests every operation alike. One round in
	// four sends valid requests, the others broken ones.
	deadline := time.Now().Add(fuzzMaxDuration)
	sent, done, byClass := 0, 0, map[int]int{}
	fails := 0
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		for _, op := range ops {
			var fr apitest.FuzzRequest
			if round%4 == 0 {
				fr = gen.Valid(op)
			} else {
				fr = gen.Invalid(op)
			}
			req, err := fr.HTTP(env.URL)
			if err != nil {
				t.Fatalf("%s %s (%s): build: %v", op.Method, op.Path, fr.Mutation, err)
			}
			switch cred := credentialFor(op.Path, admin, env.PlatformKey); fr.Credential {
			case "":
				req.Header.Set("Authorization", "Bearer "+cred)
			case "bad":
				req.Header.Set("Authorization", "Bearer adm_0000000000_"+strings.Repeat("x", 43))
			}
			write := op.Method != http.MethodGet
			var before map[string]int64
			if write {
				before = counts.snapshot(t)
			}
			resp, err := env.HTTP.Do(req)
			if err != nil {
				t.Fatalf("%s %s (%s): %v", op.Method, op.Path, fr.Mutation, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			sent++
			byClass[resp.StatusCode/100]++
			what := fmt.Sprintf("%s %s?%.200s (mutation %q, body %.300q)", op.Method, fr.Path, fr.Query, orValid(fr.Mutation), fr.Body)
			if resp.StatusCode >= 500 && fails < 40 {
				fails++
				t.Errorf("%s → %d %.500s", what, resp.StatusCode, body)
			}
			if write && resp.StatusCode >= 400 {
				if diff := counts.diff(before, counts.snapshot(t)); diff != "" && fails < 40 {
					fails++
					t.Errorf("%s → %d, yet stored rows changed: %s", what, resp.StatusCode, diff)
				}
			}
		}
		done++
	}
	t.Logf("fuzz: %d requests in %d rounds over %d operations (seed %d): 2xx %d, 4xx %d, 5xx %d",
		sent, done, len(ops), seed, byClass[2], byClass[4], byClass[5])
	if done < 2 {
		t.Errorf("only %d rounds within %s: not every operation got a valid and a broken request", done, fuzzMaxDuration)
	}
}

func orValid(m string) string {
	if m == "" {
		return "valid"
	}
	return m
}

// credentialFor is the credential an operation normally takes: platform
// routes need the platform key, the rest a tenant admin key.
func credentialFor(path, admin, platform string) string {
	if strings.HasPrefix(path, "/v1/tenants") {
		return platform
	}
	return admin
}

// rowCounter counts the rows of every table that holds what a request can
// store. Left out: the idempotency table, which remembers a 4xx answer on
// purpose (so that a retry gets the same answer), and the embedding queue
// and vectors, which the API's background embedder drains and fills on its
// own time (an entry a rejected write stored would show in entries).
type rowCounter struct {
	conn   *pgx.Conn
	tables []string
}

func newRowCounter(t *testing.T, ownerURL string) *rowCounter {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND c.relname NOT IN ('idempotency_keys', 'schema_migrations', 'entry_embed_queue', 'entry_vectors') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	return &rowCounter{conn: conn, tables: tables}
}

func (c *rowCounter) snapshot(t *testing.T) map[string]int64 {
	t.Helper()
	parts := make([]string, len(c.tables))
	for i, tb := range c.tables {
		parts[i] = fmt.Sprintf("(SELECT count(*) FROM %s)", pgx.Identifier{tb}.Sanitize())
	}
	vals := make([]int64, len(c.tables))
	dst := make([]any, len(vals))
	for i := range vals {
		dst[i] = &vals[i]
	}
	if err := c.conn.QueryRow(context.Background(), "SELECT "+strings.Join(parts, ", ")).Scan(dst...); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int64, len(vals))
	for i, tb := range c.tables {
		out[tb] = vals[i]
	}
	return out
}

func (c *rowCounter) diff(a, b map[string]int64) string {
	var d []string
	for _, tb := range c.tables {
		if a[tb] != b[tb] {
			d = append(d, fmt.Sprintf("%s %d→%d", tb, a[tb], b[tb]))
		}
	}
	return strings.Join(d, ", ")
}
