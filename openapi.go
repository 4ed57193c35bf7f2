package admem

import _ "embed"

// OpenAPISpec is openapi.yaml, the API contract, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPISpec []byte
