package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Hooks for the external tests (package store_test imports testenv, which
// imports store, so they cannot live in package store).

const IdempotencyTTLForTest = time.Hour

var Translate = translate

func (db *DB) InTenantForTest(ctx context.Context, tenant string, fn func(pgx.Tx) error) error {
	return db.inTenant(ctx, tenant, fn)
}

func (db *DB) InPlatformForTest(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.inPlatform(ctx, fn)
}

func (db *DB) PoolForTest() *pgxpool.Pool { return db.pool }

func (db *DB) InTenantOneTripForTest(ctx context.Context, tenant string, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	return db.inTenantOneTrip(ctx, tenant, b, read)
}
