package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// IdempotentResponse is a stored response to replay for a repeated request.
type IdempotentResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// ErrIdempotencyMismatch means the key was used before with a different request.
var ErrIdempotencyMismatch = &admem.Error{Code: admem.ECONFLICT, Message: "Idempotency-Key was already used with a different request"}

// ErrIdempotencyInFlight means the first request with this key is still running.
var ErrIdempotencyInFlight = &admem.Error{Code: admem.ECONFLICT, Message: "a request with this Idempotency-Key is still in progress"}

// legacyLease is how long a claim made before claims had leases (its
// lease_until is NULL) stays in flight.
const legacyLease = 2 * time.Minute

// BeginIdempotent claims key for a request whose fingerprint is hash. It
// returns the stored response when the same request already completed
// (whatever its age, within ttl), a conflict when the key belongs to
// another request or is still in flight, and (nil, nil) when the caller
// now owns the key and must Complete or Abort it, and RenewIdempotent it
// more often than lease while it runs. A claim whose lease ran out
// belongs to a request whose process died (kill -9, a lost machine) before
// it completed or released the key: a retry may claim it. If that process
// died after the request's effect committed and before its response was
// stored, the retry applies the effect again: the window is the time
// between two commits.
func (db *DB) BeginIdempotent(ctx context.Context, tenantID, key string, hash []byte, ttl, lease time.Duration) (*IdempotentResponse, error) {
	var resp *IdempotentResponse
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		// An expired record is removed first, so the key becomes usable
		// again; so is a claim in flight whose lease ran out. Leases are
		// read on the database's clock, the one that wrote them.
		if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2
				AND (created_at < now() - $3 * interval '1 millisecond'
					OR (status IS NULL AND coalesce(lease_until, created_at + $4 * interval '1 millisecond') < now()))`,
			tenantID, key, ttl.Milliseconds(), legacyLease.Milliseconds()); err != nil {
			return translate(err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, key, request_hash, lease_until)
			VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
			ON CONFLICT (tenant_id, key) DO NOTHING`, tenantID, key, hash, lease.Milliseconds())
		if err != nil {
			return translate(err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var stored []byte
		var status *int
		var ctype *string
		var body []byte
		if err := tx.QueryRow(ctx, `SELECT request_hash, status, content_type, body FROM idempotency_keys
			WHERE tenant_id = $1 AND key = $2`, tenantID, key).Scan(&stored, &status, &ctype, &body); err != nil {
			return translate(err)
		}
		if !bytes.Equal(stored, hash) {
			return ErrIdempotencyMismatch
		}
		if status == nil {
			return ErrIdempotencyInFlight
		}
		resp = &IdempotentResponse{Status: *status, Body: body}
		if ctype != nil {
			resp.ContentType = *ctype
		}
		return nil
	})
	if err != nil {
		var e *admem.Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, fmt.Errorf("store: begin idempotent request: %w", err)
	}
	return resp, nil
}

// RenewIdempotent extends the lease of a claim still in flight to lease
// from now: its request is still running.
func (db *DB) RenewIdempotent(ctx context.Context, tenantID, key string, lease time.Duration) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET lease_until = now() + $3 * interval '1 millisecond'
			WHERE tenant_id = $1 AND key = $2 AND status IS NULL`, tenantID, key, lease.Milliseconds())
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("store: renew idempotent request: %w", err)
	}
	return nil
}

// CompleteIdempotent stores the response for replay.
func (db *DB) CompleteIdempotent(ctx context.Context, tenantID, key string, r IdempotentResponse) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5, completed_at = now(), lease_until = NULL
			WHERE tenant_id = $1 AND key = $2`, tenantID, key, r.Status, r.ContentType, r.Body)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("store: complete idempotent request: %w", err)
	}
	return nil
}

// AbortIdempotent releases the key so the client can retry (the request failed
// in a way that must not be replayed, such as a 5xx).
func (db *DB) AbortIdempotent(ctx context.Context, tenantID, key string) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status IS NULL`, tenantID, key)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("store: abort idempotent request: %w", err)
	}
	return nil
}

// PurgeIdempotent deletes every tenant's idempotency records created before t.
func (db *DB) PurgeIdempotent(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT admem_purge_idempotency($1)`, before).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: purge idempotency records: %w", translate(err))
	}
	return n, nil
}
