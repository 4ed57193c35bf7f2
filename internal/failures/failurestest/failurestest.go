// Package failurestest gives tests of failure learning a small, real
// embedder: a word-vector file (the production format, loaded by the
// production code path) over a fixed vocabulary of tool-use words with
// seeded random vectors, so tests do not depend on the GloVe download.
package failurestest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/admem/admem/internal/embed"
)

// Dim is the dimension of the test vectors.
const Dim = 32

// Vocabulary lists the words the test embedder knows, most frequent first.
var Vocabulary = strings.Fields(`the a to of for and in is not with user flight book booking search cancel reservation
update payment method refund card credit found error failed fast safe mode cabin economy business seat
passenger id get details list order ship address change return item account email password reset
invoice send approve reject ticket priority deploy rollback service restart database backup timeout
permission denied invalid missing limit exceeded task step help customer trip hotel car`)

var (
	once sync.Once
	path string
	err  error
)

// WordVectorFile returns the path of the test word-vector file, written
// once per test process.
func WordVectorFile(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		rng := rand.New(rand.NewPCG(7, 11))
		vecs := make([][]float32, len(Vocabulary))
		for i := range vecs {
			v := make([]float32, Dim)
			for k := range v {
				v[k] = float32(rng.NormFloat64())
			}
			vecs[i] = v
		}
		var wv *embed.WordVectors
		wv, err = embed.NewWordVectors(Vocabulary, vecs, 10*len(Vocabulary))
		if err != nil {
			return
		}
		path = filepath.Join(os.TempDir(), fmt.Sprintf("admem-test-words-%d.bin", os.Getpid()))
		err = wv.WriteFile(path)
	})
	if err != nil {
		t.Fatalf("failurestest: word vectors: %v", err)
	}
	return path
}

// Embedder returns the test embedder.
func Embedder(t testing.TB) embed.Embedder {
	t.Helper()
	e, err := embed.New(embed.Config{Provider: embed.ProviderGloVe, GloVeFile: WordVectorFile(t)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
