package http

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/admem/admem"
)

// statusOf is the one table from domain error codes to HTTP status.
var statusOf = map[string]int{
	admem.EMALFORMED:    http.StatusBadRequest,
	admem.EINVALID:      http.StatusUnprocessableEntity,
	admem.EUNAUTHORIZED: http.StatusUnauthorized,
	admem.EFORBIDDEN:    http.StatusForbidden,
	admem.ENOTFOUND:     http.StatusNotFound,
	admem.ECONFLICT:     http.StatusConflict,
	admem.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	admem.ERATELIMITED:  http.StatusTooManyRequests,
	admem.EUNAVAILABLE:  http.StatusServiceUnavailable,
	admem.EINTERNAL:     http.StatusInternalServerError,
}

// Problem is an RFC 9457 problem detail with admem's extension members.
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Instance  string         `json:"instance,omitempty"`
	Code      string         `json:"code"`
	RequestID string         `json:"request_id"`
	Errors    []ProblemField `json:"errors,omitempty"`
}

// ProblemField names one invalid field.
type ProblemField struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// writeError answers with the problem for err. Unexpected errors become a
// generic 500 and are logged here, once, with the request id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := admem.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch {
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		status, code = 499, "client_closed_request"
	case code == admem.EINTERNAL && errors.Is(err, context.DeadlineExceeded):
		// A timeout of our own (a dependency too slow), not the client's.
		status, code = http.StatusServiceUnavailable, admem.EUNAVAILABLE
		err = &admem.Error{Code: code, Message: "a dependency took too long to answer"}
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		// What is unavailable (the database restarting, a lost connection)
		// is usually back within a second or two.
		w.Header().Set("Retry-After", "1")
	}
	p := Problem{
		Type:      "urn:admem:problem:" + code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    admem.ErrorMessage(err),
		Instance:  r.URL.Path,
		Code:      code,
		RequestID: requestID(r.Context()),
	}
	if status == 499 {
		p.Title = "Client Closed Request"
	}
	var e *admem.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			p.Errors = append(p.Errors, ProblemField(f))
		}
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", p.RequestID, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// problemFor builds a problem where no domain error exists (router-level 404/405).
func problemFor(r *http.Request, status int, code, detail string) Problem {
	return Problem{Type: "urn:admem:problem:" + code, Title: http.StatusText(status), Status: status,
		Detail: detail, Instance: r.URL.Path, Code: code, RequestID: requestID(r.Context())}
}
