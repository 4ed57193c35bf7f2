package http_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/admem/admem/internal/apitest"
	httpapi "github.com/admem/admem/internal/http"
)

// TestOnePassCheckAgreesWithKinOpenAPI: the API checks request bodies in
// one pass over the bytes (jsonscan) against schemas compiled from
// openapi.yaml; kin-openapi, validating the decoded body, is the reference.
// Over generated bodies, valid and broken, of every operation, both must
// accept and refuse the same ones (beyond text and depth, which only the
// one-pass check sees and which TestFuzzAPI covers end to end).
func TestOnePassCheckAgreesWithKinOpenAPI(t *testing.T) {
	t.Parallel()
	ops, err := apitest.Operations()
	if err != nil {
		t.Fatal(err)
	}
	gen := &apitest.Gen{R: rand.New(rand.NewPCG(3, 7))}
	checked := 0
	for _, op := range ops {
		if op.Op.RequestBody == nil {
			continue
		}
		key := op.Method + " " + op.Path
		for i := 0; i < 300; i++ {
			fr := gen.Valid(op)
			if i%4 != 0 {
				fr = gen.Invalid(op)
			}
			if fr.Body == nil {
				continue
			}
			onePass, kin, compiled := httpapi.CheckBodyBothWays(key, fr.Body)
			if !compiled {
				t.Fatalf("%s: the schema did not compile for the one-pass check", key)
			}
			var v any
			if json.Unmarshal(fr.Body, &v) != nil {
				continue // kin-openapi sees only what decodes; the decoder refuses the rest
			}
			checked++
			if onePass != nil && isTextOrDepth(onePass) {
				continue
			}
			if (onePass == nil) != (kin == nil) {
				t.Errorf("%s (%s): one pass says %v, kin-openapi %v\nbody: %.400s", key, fr.Mutation, onePass, kin, fr.Body)
			}
		}
	}
	t.Logf("%d bodies compared", checked)
}

func isTextOrDepth(err error) bool {
	for _, s := range []string{"NUL", "UTF-8", "nested deeper"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}
