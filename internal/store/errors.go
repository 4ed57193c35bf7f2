package store

import (
	"context"
	"errors"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// translate is the one place Postgres and pgx errors become domain errors.
// Errors it does not recognise pass through unchanged (internal errors).
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return admem.ErrNotFound
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &admem.Error{Code: admem.ECONFLICT, Message: "already exists: " + constraintSubject(pgErr)}
		case "23503": // foreign_key_violation
			return &admem.Error{Code: admem.ENOTFOUND, Message: "a referenced resource does not exist"}
		case "23514", "22P02", "22001", "22003", "22007", "22008": // check, bad text repr, too long, out of range, datetime
			return &admem.Error{Code: admem.EINVALID, Message: "invalid value: " + pgErr.Message}
		case "42501": // insufficient_privilege, including an RLS WITH CHECK failure
			return admem.ErrForbidden
		case "57014": // query_canceled (statement timeout)
			return &admem.Error{Code: admem.EUNAVAILABLE, Message: "the database took too long to answer"}
		case "40001", "40P01": // serialization failure, deadlock
			return &admem.Error{Code: admem.ECONFLICT, Message: "a concurrent change conflicted; retry"}
		}
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return &admem.Error{Code: admem.EUNAVAILABLE, Message: "the database is unavailable"}
	}
	return err
}

func constraintSubject(e *pgconn.PgError) string {
	if e.ConstraintName != "" {
		return e.ConstraintName
	}
	return e.TableName
}
