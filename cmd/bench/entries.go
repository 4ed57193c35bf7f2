package main

// Helpers the entry benchmarks (locomo, scale) share: JSON over HTTP with
// latency capture, batch ingest, and waiting for background embedding.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/admem/admem/internal/benchkit"
	"github.com/jackc/pgx/v5"
)

// call sends one JSON request and decodes a 2xx answer into out; lat, when
// not nil, records its latency.
func (e *env) call(ctx context.Context, method, path, cred string, body, out any, lat *benchkit.Latencies) error {
	status, h, b, d, err := sendJSON(ctx, e, method, path, cred, body)
	if err != nil {
		return err
	}
	if lat != nil {
		lat.Add(h, d)
	}
	if status/100 != 2 {
		return fmt.Errorf("%w: %s %s: %d %.500s", errBadStatus, method, path, status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// sendJSON sends one JSON request with cred and reads the whole answer:
// its status, headers, body and the time it took.
func sendJSON(ctx context.Context, e *env, method, path, cred string, body any) (int, http.Header, []byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.apiURL+path, rd)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+cred)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, nil, nil, time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, time.Since(start), err
}

// search asks POST /v1/entries/search and returns the ids found, best
// first, timing the request into lat.
func (e *env) search(ctx context.Context, cred string, body map[string]any, lat *benchkit.Latencies) ([]string, error) {
	var res struct {
		Items []struct {
			Entry struct {
				ID string `json:"id"`
			} `json:"entry"`
		} `json:"items"`
	}
	if err := e.call(ctx, "POST", "/v1/entries/search", cred, body, &res, lat); err != nil {
		return nil, err
	}
	ids := make([]string, len(res.Items))
	for i, it := range res.Items {
		ids[i] = it.Entry.ID
	}
	return ids, nil
}

// writerTenant makes a tenant (its name starts with prefix) and a
// write-scoped key in it.
func (e *env) writerTenant(ctx context.Context, prefix string) (id, writeKey string, err error) {
	return e.writerTenantTrust(ctx, prefix, !e.untrustedKeys)
}

// writerTenantTrust is writerTenant with the tenant's admin key trusted for
// learning or not.
func (e *env) writerTenantTrust(ctx context.Context, prefix string, trust bool) (id, writeKey string, err error) {
	id, adminKey, err := e.tenantKey(ctx, prefix, trust)
	if err != nil {
		return "", "", err
	}
	var k struct {
		Key string `json:"key"`
	}
	err = e.call(ctx, "POST", "/v1/keys", adminKey, map[string]any{"name": "bench-writer", "scopes": []string{"write"}}, &k, nil)
	return id, k.Key, err
}

type benchEntry struct {
	Kind     string            `json:"kind,omitempty"`
	Content  string            `json:"content"`
	Metadata map[string]any    `json:"metadata,omitempty"`
	Scope    map[string]string `json:"scope,omitempty"`
}

type batchResult struct {
	Results []struct {
		Operation string `json:"operation"`
		Entry     struct {
			ID string `json:"id"`
		} `json:"entry"`
	} `json:"results"`
}

// ingest writes entries in batches of batch through POST /v1/entries/batch
// with the given inference setting and returns the ids in order.
func (e *env) ingest(ctx context.Context, cred string, entries []benchEntry, batch int, infer bool, prog *benchkit.Progress, done int) ([]string, error) {
	ids := make([]string, 0, len(entries))
	for i := 0; i < len(entries); i += batch {
		j := min(i+batch, len(entries))
		var res batchResult
		if err := e.call(ctx, "POST", "/v1/entries/batch", cred, map[string]any{"entries": entries[i:j], "infer": infer}, &res, nil); err != nil {
			return nil, err
		}
		for _, r := range res.Results {
			ids = append(ids, r.Entry.ID)
		}
		if prog != nil {
			prog.Step(done + j)
		}
	}
	return ids, nil
}

// db connects to the benchmark's database as its owner, for what the API
// does not expose: the background embedding backlog and index sizes.
func (e *env) db(ctx context.Context) (*pgx.Conn, error) {
	url := firstNonEmpty(e.getenv("ADMEM_MIGRATE_DATABASE_URL"), e.getenv("ADMEM_DATABASE_URL"))
	if url == "" {
		return nil, fmt.Errorf("ADMEM_MIGRATE_DATABASE_URL is not set (make bench-%s sets it)", e.name)
	}
	return pgx.Connect(ctx, url)
}

// waitEmbedded waits until the tenant's embedding queue is empty (every
// entry has its vector in the active space) and returns how long that took;
// tenantID "" waits for every tenant's.
func waitEmbedded(ctx context.Context, conn *pgx.Conn, tenantID string, label string) (time.Duration, error) {
	start := time.Now()
	where, args := "", []any{}
	if tenantID != "" {
		where, args = " WHERE tenant_id = $1", []any{tenantID}
	}
	var total int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM entries`+where, args...).Scan(&total); err != nil {
		return 0, err
	}
	prog := benchkit.Progress{Label: label, Total: total}
	last, lastChange := -1, time.Now()
	for {
		var pending int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM entry_embed_queue`+where, args...).Scan(&pending); err != nil {
			return 0, err
		}
		prog.Step(total - pending)
		if pending == 0 {
			return time.Since(start), nil
		}
		if pending != last {
			last, lastChange = pending, time.Now()
		} else if time.Since(lastChange) > time.Minute {
			return 0, fmt.Errorf("embedding stalled with %d entries pending (is the embedder configured? see the API log)", pending)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
