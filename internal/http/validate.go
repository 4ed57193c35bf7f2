package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/jsonscan"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
)

// MaxJSONDepth bounds how deeply a request body may nest objects and
// arrays. Postgres walks jsonb recursively (containment, path extraction)
// and runs out of stack on the thousands of levels a body can carry; no
// request of the API needs more than a dozen.
const MaxJSONDepth = 32

// maxFieldErrors bounds how many fields one problem names.
const maxFieldErrors = 10

// validate is the one place requests are checked before any handler sees
// them: the path, every query parameter and header must be valid UTF-8
// without NUL (Postgres stores neither invalid UTF-8 nor NUL in text); the
// query parameters and the JSON body must match openapi.yaml (types,
// minimums and maximums, lengths, enums, required fields); and a body may
// hold no NUL or invalid UTF-8 in any string or key and nest at most
// MaxJSONDepth levels. It runs after authentication and rate limiting, so an
// anonymous or throttled caller learns nothing from it.
func (s *Server) validate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkRequest(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) checkRequest(r *http.Request) error {
	if reason := badText(r.URL.Path); reason != "" {
		return &admem.Error{Code: admem.EMALFORMED, Message: "the path " + reason, Fields: []admem.FieldError{{Field: "path", Reason: reason}}}
	}
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range r.Header[name] {
			if reason := badText(v); reason != "" {
				return admem.Invalid(name, "the header "+reason)
			}
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return &admem.Error{Code: admem.EMALFORMED, Message: "the query string is not valid percent-encoding",
			Fields: []admem.FieldError{{Field: "query", Reason: "not valid percent-encoding"}}}
	}
	qnames := make([]string, 0, len(q))
	for name := range q {
		qnames = append(qnames, name)
	}
	sort.Strings(qnames) // the same request names the same field
	for _, name := range qnames {
		if reason := badText(name); reason != "" {
			return admem.Invalid("query", "a parameter name "+reason)
		}
		for _, v := range q[name] {
			if reason := badText(v); reason != "" {
				return admem.Invalid(name, reason)
			}
		}
	}

	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	op, ok := s.specOps[r.Method+" "+s.mux.Find(chi.NewRouteContext(), r.Method, path)]
	if !ok {
		return nil // the router answers 404 or 405
	}
	if err := checkQuery(q, op.query); err != nil {
		return err
	}
	if op.body == nil || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil // the handler says whether it wanted one
	}
	return checkBody(body, op)
}

// readBody reads the whole (size-limited) body.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &admem.Error{Code: admem.ETOOLARGE, Message: fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit)}
		}
		return nil, &admem.Error{Code: admem.EMALFORMED, Message: "could not read the request body"}
	}
	return body, nil
}

// badText says what is wrong with s as text the API can store, or "".
func badText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL character"
	}
	return ""
}

// checkQuery checks the query parameters openapi.yaml declares against
// their schemas. Parameters it does not declare are ignored, as before.
func checkQuery(q url.Values, params map[string]*openapi3.Schema) error {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		vs, ok := q[name]
		if !ok {
			continue
		}
		sch := params[name]
		if sch.Type.Is(openapi3.TypeArray) {
			continue
		}
		for _, raw := range vs {
			var v any = raw
			switch {
			case sch.Type.Is(openapi3.TypeInteger):
				n, err := strconv.ParseInt(raw, 10, 64)
				if err != nil {
					return admem.Invalid(name, "must be an integer")
				}
				v = float64(n)
			case sch.Type.Is(openapi3.TypeNumber):
				f, err := strconv.ParseFloat(raw, 64)
				if err != nil {
					return admem.Invalid(name, "must be a number")
				}
				v = f
			case sch.Type.Is(openapi3.TypeBoolean):
				b, err := strconv.ParseBool(raw)
				if err != nil {
					return admem.Invalid(name, "must be true or false")
				}
				v = b
			}
			if err := sch.VisitJSON(v); err != nil {
				return admem.Invalid(name, schemaReason(err))
			}
		}
	}
	return nil
}

// checkBody checks a JSON body: its text, depth and values against the
// operation's schema in one pass when the schema compiled (all of
// openapi.yaml's do), else the text and depth in one pass and the values
// with kin-openapi over the decoded body. Malformed JSON passes through: the
// handler's decoder names the byte.
func checkBody(body []byte, op specOp) error {
	if op.fast != nil {
		return jsonscan.Validate(body, op.fast, MaxJSONDepth)
	}
	return checkBodySlow(body, op.body)
}

// checkBodySlow is checkBody for a schema jsonscan cannot check.
func checkBodySlow(body []byte, schema *openapi3.Schema) error {
	if err := jsonscan.Check(body, MaxJSONDepth); err != nil {
		return err
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	err := schema.VisitJSON(v, openapi3.MultiErrors())
	if err == nil {
		return nil
	}
	var fields []admem.FieldError
	var collect func(error)
	collect = func(err error) {
		var me openapi3.MultiError
		var se *openapi3.SchemaError
		switch {
		case errors.As(err, &me):
			for _, e := range me {
				collect(e)
			}
		case errors.As(err, &se):
			if len(fields) < maxFieldErrors {
				fields = append(fields, schemaField(se))
			}
		default:
			if len(fields) < maxFieldErrors {
				fields = append(fields, admem.FieldError{Field: "(body)", Reason: err.Error()})
			}
		}
	}
	collect(err)
	if len(fields) == 0 {
		return nil
	}
	return &admem.Error{Code: admem.EINVALID, Message: fields[0].Field + ": " + fields[0].Reason, Fields: fields}
}

// schemaField names the field a schema error is about. An unknown or a
// missing property is reported on its object; the field is the property.
func schemaField(se *openapi3.SchemaError) admem.FieldError {
	ptr := se.JSONPointer()
	for suffix, reason := range map[string]string{`" is unsupported`: "unknown field", `" is missing`: "required"} {
		if name, ok := strings.CutPrefix(se.Reason, "property "); ok && strings.HasSuffix(name, suffix) {
			if name, err := strconv.Unquote(strings.TrimSuffix(name, suffix) + `"`); err == nil {
				return admem.FieldError{Field: pointerField(append(ptr, name)), Reason: reason}
			}
		}
	}
	return admem.FieldError{Field: pointerField(ptr), Reason: se.Reason}
}

// schemaReason is a schema error's reason without the value it quotes.
func schemaReason(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return se.Reason
	}
	return err.Error()
}

// pointerField writes a JSON pointer as the API names fields: a.b[2].c.
func pointerField(ptr []string) string {
	if len(ptr) == 0 {
		return "(body)"
	}
	var b strings.Builder
	for _, p := range ptr {
		if _, err := strconv.Atoi(p); err == nil && b.Len() > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(jsonscan.FieldName(p))
	}
	return b.String()
}
