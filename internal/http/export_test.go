package http

import (
	"sync"

	"github.com/admem/admem"
)

var testSpecOps = sync.OnceValues(func() (map[string]specOp, error) { return loadSpecOps(admem.OpenAPISpec) })

// CheckBodyBothWays checks body against the request schema of the operation
// key ("POST /v1/guard") both ways: the one-pass check the API uses and
// kin-openapi over the decoded body. compiled is false when the schema did
// not compile (the API then uses kin-openapi alone).
func CheckBodyBothWays(key string, body []byte) (onePass, kin error, compiled bool) {
	ops, err := testSpecOps()
	if err != nil {
		panic(err)
	}
	op := ops[key]
	if op.fast == nil {
		return nil, checkBodySlow(body, op.body), false
	}
	return checkBody(body, op), checkBodySlow(body, op.body), true
}
