package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

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
		case "23514": // check_violation
			return &admem.Error{Code: admem.EINVALID, Message: "invalid value: " + pgErr.Message}
		case "42501": // insufficient_privilege, including an RLS WITH CHECK failure
			return admem.ErrForbidden
		case "57014": // query_canceled (statement timeout)
			return unavailable("the database took too long to answer")
		case "40001", "40P01": // serialization failure, deadlock
			return &admem.Error{Code: admem.ECONFLICT, Message: "a concurrent change conflicted; retry"}
		case "54001": // statement_too_complex: stack depth exceeded walking a value
			return &admem.Error{Code: admem.EINVALID, Message: "a value is nested too deeply"}
		}
		switch pgErr.Code[:2] {
		case "22": // data exception: bad text (22021 bytes not UTF-8, 22P05 NUL), out of range, bad format
			return &admem.Error{Code: admem.EINVALID, Message: "invalid value: " + pgErr.Message}
		case "54": // program limit exceeded: too large a value for an index, too many columns
			return &admem.Error{Code: admem.EINVALID, Message: "a value exceeds what the database can store: " + pgErr.Message}
		case "08", "53": // connection exception, insufficient resources (too many connections)
			return unavailable("the database is unavailable")
		case "57": // operator intervention: admin shutdown, crash shutdown, cannot connect now
			return unavailable("the database is restarting")
		}
	}
	if lostConnection(err) {
		return unavailable("the database connection was lost")
	}
	return err
}

// connectionGone tells an error after which the connection is dead (the
// server ended it, or it broke) from one of the query.
func connectionGone(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return lostConnection(err)
}

// unavailable is a 503 the client may retry: the request did not happen, or
// happened whole, because every write is one transaction.
func unavailable(msg string) error { return &admem.Error{Code: admem.EUNAVAILABLE, Message: msg} }

// lostConnection tells errors of the connection itself (refused, reset,
// closed mid-query, pool closed) from errors of the query.
func lostConnection(err error) bool {
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	// pgx reports using a connection that died as "conn closed", and a
	// closed pool as "closed pool", without exported types.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool")
}

func constraintSubject(e *pgconn.PgError) string {
	if e.ConstraintName != "" {
		return e.ConstraintName
	}
	return e.TableName
}
