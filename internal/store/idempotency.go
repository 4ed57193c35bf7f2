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

// InFlightLease is how long a claimed Idempotency-Key may stay in flight:
// past it the claim is taken to belong to a request whose process died
// (kill -9, a lost machine) before it completed or released the key, and a
// retry may claim it. It is well above the server's write timeout (60 s).
// A process that died after the request's effect committed and before the
// response was stored lets that retry apply the effect again: the window
// is the time between two commits.
const InFlightLease = 2 * time.Minute

// BeginIdempotent claims key for a request whose fingerprint is hash. It
// returns the stored response when the same request already completed, a
// conflict when the key belongs to another request or is still in flight, and
// (nil, nil) when the caller now owns the key and must Complete or Abort it.
func (db *DB) BeginIdempotent(ctx context.Context, tenantID, key string, hash []byte, ttl time.Duration) (*IdempotentResponse, error) {
	var resp *IdempotentResponse
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		// An expired claim is removed first, so the key becomes usable
		// again; so is a claim still in flight after InFlightLease, which
		// a process that died mid-request left (no request runs that long).
		if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2
				AND (created_at < $3 OR (status IS NULL AND created_at < $4))`,
			tenantID, key, time.Now().Add(-ttl), time.Now().Add(-InFlightLease)); err != nil {
			return translate(err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, key, request_hash) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, key) DO NOTHING`, tenantID, key, hash)
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

// CompleteIdempotent stores the response for replay.
func (db *DB) CompleteIdempotent(ctx context.Context, tenantID, key string, r IdempotentResponse) error {
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5, completed_at = now()
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
