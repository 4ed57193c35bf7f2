package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/admem/admem"
)

// decode reads one JSON object from the (size-limited) body into v,
// rejecting unknown fields, trailing data and wrong types with errors that
// name the field.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &admem.Error{Code: admem.ETOOLARGE, Message: fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit)}
		}
		return &admem.Error{Code: admem.EMALFORMED, Message: "could not read the request body"}
	}
	return decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &admem.Error{Code: admem.EMALFORMED, Message: "the request body is empty; send a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return &admem.Error{Code: admem.EMALFORMED, Message: "the request body has data after the JSON object"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &admem.Error{Code: admem.EMALFORMED, Message: "the request body has data after the JSON object"}
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &admem.Error{Code: admem.EMALFORMED, Message: fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error())}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return admem.Invalid(field, fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &admem.Error{Code: admem.EMALFORMED, Message: "the JSON body ends too early"}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return admem.Invalid(field, "unknown field")
	}
	return &admem.Error{Code: admem.EMALFORMED, Message: "malformed JSON: " + err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return goKind
}
