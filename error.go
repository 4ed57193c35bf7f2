package admem

import (
	"errors"
	"fmt"
)

// Error codes are stable, machine-readable identifiers that reach clients in
// problem+json bodies. The HTTP layer maps each to one status code.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ERATELIMITED  = "rate_limited"
	EUNAVAILABLE  = "unavailable"
	ETOOLARGE     = "too_large"
	EMALFORMED    = "malformed_request"
)

// Sentinel errors for the common cases; wrap them with context.
var (
	ErrNotFound     = &Error{Code: ENOTFOUND, Message: "not found"}
	ErrConflict     = &Error{Code: ECONFLICT, Message: "conflict"}
	ErrUnauthorized = &Error{Code: EUNAUTHORIZED, Message: "missing or invalid credentials"}
	ErrForbidden    = &Error{Code: EFORBIDDEN, Message: "the credentials lack the scope this needs"}
)

// FieldError names one invalid input field.
type FieldError struct {
	Field  string
	Reason string
}

// Error is the one error type the domain returns to callers that must be told
// what went wrong. Anything else is an internal error.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s (%s: %s)", e.Code, e.Message, e.Fields[0].Field, e.Fields[0].Reason)
}

// Is makes errors.Is match any *Error with the same code, so a wrapped
// Errorf(ENOTFOUND, ...) matches ErrNotFound.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error about one field.
func Invalid(field, reason string) *Error {
	return &Error{Code: EINVALID, Message: field + ": " + reason, Fields: []FieldError{{Field: field, Reason: reason}}}
}

// ErrorCode returns the code of the *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's message,
// or a generic one for internal errors (whose details must not leak).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
