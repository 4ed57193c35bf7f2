// Package embed owns turning text into vectors: the Embedder interface every
// provider satisfies, the offline default (GloVe word vectors combined into
// sentence vectors by SIF weighting), an OpenAI-compatible HTTP provider, the
// compact word-vector file format and the constructor that picks a provider
// from configuration.
//
// A provider's ID names its vector space. Vectors from different IDs are never
// comparable, so the store records the ID beside every vector and search never
// mixes spaces.
package embed

import (
	"context"
	"errors"

	"github.com/admem/admem/internal/vecmath"
)

// Embedder turns texts into vectors of one fixed vector space.
type Embedder interface {
	// ID identifies the vector space, e.g. "glove-sif-100d-v1". Two embedders
	// with the same ID produce comparable vectors.
	ID() string
	// Dim is the length of every vector Embed returns.
	Dim() int
	// Embed returns one vector per text, in order. Vectors are L2-normalised,
	// except that a text with no usable content may yield the zero vector.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// ErrFormat reports a word-vector file that is not in the expected format or
// is corrupt.
var ErrFormat = errors.New("embed: bad word-vector file")

// Normalize scales v to unit L2 length in place; the zero vector stays zero.
func Normalize(v []float32) { vecmath.Normalize(v) }

// Cosine returns the cosine similarity of a and b, 0 when either is zero or
// their lengths differ.
func Cosine(a, b []float32) float64 { return vecmath.Cosine(a, b) }
