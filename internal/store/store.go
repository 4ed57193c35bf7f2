// Package store owns all SQL: the pgx pool, transactions with the tenant set
// for row-level security, the translation of Postgres errors into domain
// errors, and the migrations runner.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is the connection pool plus the tenant-scoped transaction helpers every
// store method goes through.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to Postgres and checks the connection.
func Open(ctx context.Context, url string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.ConnConfig.RuntimeParams["application_name"] = "admem"
	tracer := &lostConnTracer{}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	tracer.pool.Store(pool)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: ping: %w", err)
	}
	return &DB{pool: pool}, nil
}

// lostConnTracer empties the pool when a query finds its connection dead.
// After a restart or a failover every idle connection is dead too, and each
// would cost a request a 503 before the pool noticed it; emptied, the pool
// opens fresh ones. At most one reset a second: a flood of failures during
// an outage must not close the connections just reopened.
type lostConnTracer struct {
	pool      atomic.Pointer[pgxpool.Pool]
	lastReset atomic.Int64 // unix nanoseconds
}

func (t *lostConnTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (t *lostConnTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if data.Err == nil || !connectionGone(data.Err) {
		return
	}
	now, last := time.Now().UnixNano(), t.lastReset.Load()
	if now-last < int64(time.Second) || !t.lastReset.CompareAndSwap(last, now) {
		return
	}
	if p := t.pool.Load(); p != nil {
		p.Reset()
	}
}

// Close closes the pool, waiting for connections in use to be released.
func (db *DB) Close() { db.pool.Close() }

// Ping checks that Postgres answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// Stats returns pool statistics for metrics.
func (db *DB) Stats() *pgxpool.Stat { return db.pool.Stat() }

// inTenant runs fn in one transaction whose row-level-security tenant is
// tenantID. Queries inside still filter by tenant explicitly: RLS is the
// second lock, not the only one.
func (db *DB) inTenant(ctx context.Context, tenantID string, fn func(pgx.Tx) error) error {
	if tenantID == "" {
		return errors.New("store: no tenant for a tenant-scoped transaction")
	}
	return db.inTx(ctx, fn, "admem.tenant_id", tenantID)
}

// inTenantEntries is inTenant for a transaction that writes the entry
// tables. They have no per-row foreign key to tenants (migration 000005: a
// check per inserted row cost a fifth of the bulk-ingest time); instead the
// transaction first holds the tenant's row FOR KEY SHARE, so a tenant
// deletion waits for it and its trigger then deletes what it wrote, and a
// write for a tenant that no longer exists fails as not found.
func (db *DB) inTenantEntries(ctx context.Context, tenantID string, fn func(pgx.Tx) error) error {
	return db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR KEY SHARE`, tenantID).Scan(&one); err != nil {
			return translate(err)
		}
		return fn(tx)
	})
}

// inPlatform runs fn in one transaction with platform-admin visibility of the
// tenants table (and nothing else: tenant-owned rows stay hidden).
func (db *DB) inPlatform(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.inTx(ctx, fn, "admem.platform", "on")
}

// inTx runs fn in one transaction with the settings kv (name, value, …)
// local to it. The settings go with the BEGIN, in one round trip: on the
// hot path's short transactions a round trip per setting was a large share
// of the cost.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error, kv ...string) error {
	begin, err := beginWith(kv)
	if err != nil {
		return err
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: begin})
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return translate(err) // a second time is harmless; a forgotten first is caught
	}
	return translate(tx.Commit(ctx))
}

// beginWith is a BEGIN followed by set_config of each setting, as one
// simple-protocol query (a query without parameters). The names and values
// are ours (setting names, tenant ids, "on", numbers): one holding a quote,
// a backslash or a NUL byte is refused rather than escaped.
func beginWith(kv []string) (string, error) {
	var b strings.Builder
	b.WriteString("BEGIN")
	for i := 0; i+1 < len(kv); i += 2 {
		for _, s := range kv[i : i+2] {
			if strings.ContainsAny(s, "'\\\x00") {
				return "", fmt.Errorf("store: transaction setting %q: quotes, backslashes and NUL bytes are not allowed", kv[i])
			}
		}
		fmt.Fprintf(&b, "; SELECT set_config('%s', '%s', true)", kv[i], kv[i+1])
	}
	return b.String(), nil
}
