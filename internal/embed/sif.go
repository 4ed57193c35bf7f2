package embed

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"strings"
)

// DefaultSIFA is the SIF smoothing parameter a. Arora et al. (2017) found
// 1e-3 to 1e-4 best; with Zipf probabilities over GloVe's vocabulary 1e-3
// gives the most frequent words ("the", "and") weights near 0.1 and words past
// rank ~1,000 weights above 0.9.
const DefaultSIFA = 1e-3

// DefaultSentenceLen is the sentence length the vocabulary-derived principal
// component assumes (see SIFComponent): about the number of in-vocabulary
// tokens of a chat turn or a memory note.
const DefaultSentenceLen = 12

// SIFOptions tunes the sentence embedding. The zero value means the defaults.
type SIFOptions struct {
	// A is the SIF parameter a in the weight a/(a+p(w)); 0 means DefaultSIFA.
	A float64
	// KeepComponent disables removal of the first principal component.
	KeepComponent bool
	// Component, when set, is removed instead of the file's or the
	// vocabulary-derived one, e.g. a component fitted on a tenant's own
	// texts. It changes the vector space, which the ID then says.
	Component []float32
}

// SIF embeds sentences as SIF-weighted averages of GloVe word vectors with the
// common component removed (Arora, Liang, Ma 2017: "A simple but tough-to-beat
// baseline for sentence embeddings"). It is deterministic and safe for
// concurrent use.
type SIF struct {
	wv     *WordVectors
	id     string
	weight []float32 // per rank: a/(a+p(w))
	pc     []float64 // unit vector, nil when not removed
}

// NewSIF builds the SIF embedder over wv. The principal component comes from
// the file when it was computed there with the same a, and is computed from
// the vocabulary otherwise.
func NewSIF(wv *WordVectors, opt SIFOptions) *SIF {
	a := opt.A
	if a <= 0 {
		a = DefaultSIFA
	}
	s := &SIF{wv: wv, weight: sifWeights(wv, a)}
	if !opt.KeepComponent {
		pc, pa := wv.Component()
		if opt.Component != nil {
			pc = opt.Component
		} else if pc == nil || float32(pa) != float32(a) {
			pc = SIFComponent(wv, a, DefaultSentenceLen)
		}
		s.pc = make([]float64, len(pc))
		for i, x := range pc {
			s.pc[i] = float64(x)
		}
		unit(s.pc)
	}
	id := fmt.Sprintf("glove-sif-%dd-v1", wv.Dim())
	var q []string
	if wv.Len() != 50000 {
		q = append(q, "n"+strconv.Itoa(wv.Len()))
	}
	if a != DefaultSIFA {
		q = append(q, "a"+strconv.FormatFloat(a, 'g', -1, 64))
	}
	switch {
	case opt.KeepComponent:
		q = append(q, "keeppc")
	case opt.Component != nil:
		q = append(q, fmt.Sprintf("pc%08x", componentHash(opt.Component)))
	}
	if len(q) > 0 {
		id += "-" + strings.Join(q, "-")
	}
	s.id = id
	return s
}

// ID names the vector space: the dimension, and any departure from the
// default vocabulary size and options, since each changes the space.
func (s *SIF) ID() string { return s.id }

// Dim is the vector length.
func (s *SIF) Dim() int { return s.wv.Dim() }

// Embed returns one unit vector per text; a text without any known word
// yields the zero vector.
func (s *SIF) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	acc := make([]float64, s.wv.Dim())
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = s.embed(t, acc)
	}
	return out, nil
}

// EmbedOne embeds a single text.
func (s *SIF) EmbedOne(text string) []float32 {
	return s.embed(text, make([]float64, s.wv.Dim()))
}

func (s *SIF) embed(text string, acc []float64) []float32 {
	for i := range acc {
		acc[i] = 0
	}
	n := 0
	add := func(tok string) bool {
		r, ok := s.wv.index[tok]
		if !ok {
			return false
		}
		w := float64(s.weight[r]) * float64(s.wv.scale[r])
		dim := s.wv.dim
		for j, q := range s.wv.q[int(r)*dim : (int(r)+1)*dim] {
			acc[j] += w * float64(q)
		}
		n++
		return true
	}
	for _, tok := range glovetokens(text) {
		if add(tok) || !strings.Contains(tok, "-") {
			continue
		}
		for _, p := range strings.Split(tok, "-") {
			if p != "" {
				add(p)
			}
		}
	}
	v := make([]float32, len(acc))
	if n == 0 {
		return v
	}
	if s.pc != nil {
		var d float64
		for j, x := range acc {
			d += x * s.pc[j]
		}
		for j := range acc {
			acc[j] -= d * s.pc[j]
		}
	}
	unit(acc)
	for j, x := range acc {
		v[j] = float32(x)
	}
	return v
}

// zipfP is the probability of the word at rank r (0-based) under Zipf's law
// with exponent 1 over a vocabulary of size n: 1/((r+1)·H(n)). GloVe's files
// list words by corpus frequency but carry no counts, and Zipf's law fits the
// head of English word frequencies well enough for SIF's purpose, which is
// only to damp frequent words.
func zipfP(r, n int) float64 {
	return 1 / (float64(r+1) * harmonic(n))
}

// harmonic approximates the n-th harmonic number.
func harmonic(n int) float64 {
	const eulerGamma = 0.5772156649015329
	x := float64(n)
	return math.Log(x) + eulerGamma + 1/(2*x) - 1/(12*x*x)
}

func sifWeights(wv *WordVectors, a float64) []float32 {
	w := make([]float32, wv.Len())
	for r := range w {
		w[r] = float32(a / (a + zipfP(r, wv.SourceSize())))
	}
	return w
}

// SIFComponent computes, for a service that embeds one text at a time and so
// cannot fit the component on a batch, the first principal component that
// SIF would find on a large corpus of sentences of sentLen words drawn from
// the unigram (Zipf) distribution of wv's vocabulary. For such sentences the
// mean word v̄ = Σ p(w)·c(w)·v(w) (c the SIF weight) and the second moment of
// the (unnormalised) sentence vector is
//
//	M = v̄v̄ᵀ + (E[c²vvᵀ] − v̄v̄ᵀ) / sentLen,
//
// whose top eigenvector is returned (found by power iteration, so the result
// is deterministic). Like SIF's original, the moment is not centred: the
// component removed is the shared direction every sentence leans towards.
func SIFComponent(wv *WordVectors, a float64, sentLen int) []float32 {
	dim, n := wv.Dim(), wv.Len()
	weights := sifWeights(wv, a)
	var z float64
	for r := 0; r < n; r++ {
		z += zipfP(r, wv.SourceSize())
	}
	mean := make([]float64, dim)
	second := make([]float64, dim*dim)
	v := make([]float32, dim)
	cv := make([]float64, dim)
	for r := 0; r < n; r++ {
		p := zipfP(r, wv.SourceSize()) / z // renormalised over the kept head
		wv.Vector(r, v)
		for j := range v {
			cv[j] = float64(weights[r]) * float64(v[j])
			mean[j] += p * cv[j]
		}
		for j := 0; j < dim; j++ {
			pj := p * cv[j]
			row := second[j*dim : (j+1)*dim]
			for k := j; k < dim; k++ {
				row[k] += pj * cv[k]
			}
		}
	}
	inv := 1 / float64(max(sentLen, 1))
	m := make([]float64, dim*dim)
	for j := 0; j < dim; j++ {
		for k := j; k < dim; k++ {
			mm := mean[j] * mean[k]
			x := mm + (second[j*dim+k]-mm)*inv
			m[j*dim+k], m[k*dim+j] = x, x
		}
	}
	u := append([]float64(nil), mean...)
	if norm(u) == 0 {
		u[0] = 1
	}
	unit(u)
	next := make([]float64, dim)
	for it := 0; it < 500; it++ {
		for j := 0; j < dim; j++ {
			var s float64
			for k := 0; k < dim; k++ {
				s += m[j*dim+k] * u[k]
			}
			next[j] = s
		}
		unit(next)
		var diff float64
		for j := range u {
			diff = math.Max(diff, math.Abs(next[j]-u[j]))
		}
		u, next = next, u
		if diff < 1e-12 {
			break
		}
	}
	out := make([]float32, dim)
	for j, x := range u {
		out[j] = float32(x)
	}
	return out
}

// componentHash fingerprints a component so that IDs of embedders removing
// different components differ.
func componentHash(pc []float32) uint32 {
	h := crc32.NewIEEE()
	var b [4]byte
	for _, x := range pc {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		h.Write(b[:])
	}
	return h.Sum32()
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func unit(v []float64) {
	n := norm(v)
	if n == 0 {
		return
	}
	for i := range v {
		v[i] /= n
	}
}
