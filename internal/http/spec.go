package http

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/admem/admem/internal/jsonscan"
	"github.com/getkin/kin-openapi/openapi3"
)

// specOp is what the edge validates a request against: the operation's
// query parameters and request body schema in openapi.yaml.
type specOp struct {
	query map[string]*openapi3.Schema
	body  *openapi3.Schema
	fast  *jsonscan.Schema // body, compiled; nil if it uses a keyword jsonscan lacks
}

// loadSpecOps indexes openapi.yaml's operations by "METHOD /pattern", the
// pattern written as in routes.go (chi and OpenAPI both write {name}).
func loadSpecOps(doc []byte) (map[string]specOp, error) {
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("http: load openapi.yaml: %w", err)
	}
	ops := map[string]specOp{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			so := specOp{query: map[string]*openapi3.Schema{}}
			for _, ps := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, p := range ps {
					if p.Value.In == openapi3.ParameterInQuery && p.Value.Schema != nil {
						so.query[p.Value.Name] = p.Value.Schema.Value
					}
				}
			}
			if rb := op.RequestBody; rb != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					so.body = mt.Schema.Value
					so.fast, _ = compileSchema(so.body, map[*openapi3.Schema]*jsonscan.Schema{})
				}
			}
			ops[method+" "+path] = so
		}
	}
	return ops, nil
}

// compiledKeywords are the schema keywords compileSchema understands (or,
// for annotations, may ignore). A schema with any other keyword is left to
// kin-openapi, so the one-pass check never says less than the spec.
var compiledKeywords = map[string]bool{
	"type": true, "nullable": true, "enum": true, "properties": true, "required": true, "additionalProperties": true,
	"items": true, "minItems": true, "maxItems": true, "minLength": true, "maxLength": true, "pattern": true, "format": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"description": true, "default": true, "example": true, "title": true, "readOnly": true, "writeOnly": true, "deprecated": true,
}

// stringFormats are the formats kin-openapi checks by default, checked
// the same way; it ignores the others (uuid, float, …), and so do we.
var stringFormats = map[string]struct {
	re   *regexp.Regexp
	name string
}{
	"date-time": {regexp.MustCompile(openapi3.FormatOfStringDateTime), "an RFC 3339 date-time"},
	"date":      {regexp.MustCompile(openapi3.FormatOfStringDate), "a date (YYYY-MM-DD)"},
	"byte":      {regexp.MustCompile(openapi3.FormatOfStringByte), "base64"},
}

var kinds = map[string]jsonscan.Kind{"null": jsonscan.KindNull, "boolean": jsonscan.KindBoolean, "integer": jsonscan.KindInteger,
	"number": jsonscan.KindNumber, "string": jsonscan.KindString, "array": jsonscan.KindArray, "object": jsonscan.KindObject}

// compileSchema turns an OpenAPI 3.0 schema into what jsonscan checks in
// one pass, or says which keyword it cannot.
func compileSchema(s *openapi3.Schema, seen map[*openapi3.Schema]*jsonscan.Schema) (*jsonscan.Schema, error) {
	if c, ok := seen[s]; ok {
		return c, nil
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, err
	}
	for k := range keys {
		if !compiledKeywords[k] {
			return nil, fmt.Errorf("keyword %q", k)
		}
	}
	if s.Format == "int32" {
		return nil, fmt.Errorf("format int32")
	}
	c := &jsonscan.Schema{Nullable: s.Nullable, Required: s.Required, NoAdditional: s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has,
		Min: s.Min, Max: s.Max, ExclusiveMin: s.ExclusiveMin.IsTrue(), ExclusiveMax: s.ExclusiveMax.IsTrue(), Int64: s.Format == "int64"}
	seen[s] = c
	if len(s.Required) > 64 {
		return nil, fmt.Errorf("more than 64 required properties")
	}
	for _, t := range s.Type.Slice() {
		k, ok := kinds[t]
		if !ok {
			return nil, fmt.Errorf("type %q", t)
		}
		c.Kinds = append(c.Kinds, k)
	}
	for _, e := range s.Enum {
		switch e.(type) {
		case string, float64, bool:
			c.Enum = append(c.Enum, e)
		default:
			return nil, fmt.Errorf("enum value %v", e)
		}
	}
	if len(s.Properties) > 0 {
		c.Properties = map[string]*jsonscan.Schema{}
		for name, p := range s.Properties {
			if c.Properties[name], err = compileSchema(p.Value, seen); err != nil {
				return nil, err
			}
		}
	}
	if ap := s.AdditionalProperties.Schema; ap != nil {
		if c.Additional, err = compileSchema(ap.Value, seen); err != nil {
			return nil, err
		}
	}
	if s.Items != nil {
		if c.Items, err = compileSchema(s.Items.Value, seen); err != nil {
			return nil, err
		}
	}
	intp := func(v uint64) *int { n := int(min(v, 1<<31)); return &n }
	if s.MinItems > 0 {
		c.MinItems = intp(s.MinItems)
	}
	if s.MaxItems != nil {
		c.MaxItems = intp(*s.MaxItems)
	}
	if s.MinLength > 0 {
		c.MinLength = intp(s.MinLength)
	}
	if s.MaxLength != nil {
		c.MaxLength = intp(*s.MaxLength)
	}
	if s.Pattern != "" {
		if c.Pattern, err = regexp.Compile(s.Pattern); err != nil {
			return nil, err
		}
	}
	if f, ok := stringFormats[s.Format]; ok {
		c.Format, c.FormatName = f.re, f.name
	}
	return c, nil
}
