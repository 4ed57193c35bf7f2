// Package client is the Go client for admem's HTTP API, generated from
// openapi.yaml by oapi-codegen (`make generate`); do not edit client.gen.go.
//
//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml
package client
