package embed

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"unsafe"
)

// The word-vector file (all integers little-endian):
//
//	offset  size        field
//	0       4           magic "AEWV"
//	4       2           format version (1)
//	6       2           encoding (1 = int8 with one float32 scale per vector)
//	8       4           dim
//	12      4           count: words in the file, most frequent first
//	16      4           source vocabulary size (for Zipf normalisation)
//	20      4           float32 SIF parameter a the stored component was made with
//	24      4*dim       float32 first principal component (all zero: none)
//	...     count×(1+n) words: uint8 byte length, then UTF-8 bytes
//	...     count×4     float32 scale of each vector
//	...     count×dim   int8 components; value = q × scale
//	end-4   4           CRC-32 (IEEE) of every byte before it
//
// int8 with a per-vector scale keeps 50k×100 vectors in about 5 MB with a
// relative error under 0.4 % per component, far below what matters for
// cosine ranking, and the loader can use the bytes in place.
const (
	fileMagic     = "AEWV"
	fileVersion   = 1
	encodingInt8  = 1
	fileHeaderLen = 24
)

// WordVectors is a frequency-ranked table of quantised word vectors. Rank 0
// is the most frequent word. It is read-only after construction and safe for
// concurrent use.
type WordVectors struct {
	dim        int
	sourceSize int
	words      []string
	index      map[string]int32
	scale      []float32
	q          []int8
	compA      float32
	comp       []float32 // nil when the file stores none
}

// NewWordVectors quantises vecs (one per word, most frequent first) into a
// table. sourceSize is the size of the vocabulary the ranks come from, which
// may exceed len(words) when only the head was kept; SIF weights need it to
// turn ranks into probabilities.
func NewWordVectors(words []string, vecs [][]float32, sourceSize int) (*WordVectors, error) {
	if len(words) == 0 || len(words) != len(vecs) {
		return nil, fmt.Errorf("embed: %d words for %d vectors", len(words), len(vecs))
	}
	dim := len(vecs[0])
	if dim == 0 {
		return nil, fmt.Errorf("embed: zero-length vectors")
	}
	if sourceSize < len(words) {
		sourceSize = len(words)
	}
	wv := &WordVectors{
		dim:        dim,
		sourceSize: sourceSize,
		words:      make([]string, len(words)),
		index:      make(map[string]int32, len(words)),
		scale:      make([]float32, len(words)),
		q:          make([]int8, len(words)*dim),
	}
	for i, w := range words {
		if len(w) == 0 || len(w) > 255 {
			return nil, fmt.Errorf("embed: word %d has length %d", i, len(w))
		}
		if _, dup := wv.index[w]; dup {
			return nil, fmt.Errorf("embed: duplicate word %q", w)
		}
		if len(vecs[i]) != dim {
			return nil, fmt.Errorf("embed: word %q has %d dimensions, want %d", w, len(vecs[i]), dim)
		}
		wv.words[i] = w
		wv.index[w] = int32(i)
		var maxAbs float64
		for _, x := range vecs[i] {
			maxAbs = math.Max(maxAbs, math.Abs(float64(x)))
		}
		if maxAbs == 0 {
			continue
		}
		s := maxAbs / 127
		wv.scale[i] = float32(s)
		row := wv.q[i*dim : (i+1)*dim]
		for j, x := range vecs[i] {
			row[j] = int8(math.Round(float64(x) / s))
		}
	}
	return wv, nil
}

// Dim is the length of each word vector.
func (wv *WordVectors) Dim() int { return wv.dim }

// Len is the number of words in the table.
func (wv *WordVectors) Len() int { return len(wv.words) }

// SourceSize is the size of the vocabulary the ranks were taken from.
func (wv *WordVectors) SourceSize() int { return wv.sourceSize }

// Rank returns the frequency rank (0 = most frequent) of word.
func (wv *WordVectors) Rank(word string) (int, bool) {
	r, ok := wv.index[word]
	return int(r), ok
}

// Word returns the word of the given rank.
func (wv *WordVectors) Word(rank int) string { return wv.words[rank] }

// Vector writes the dequantised vector of the given rank into dst, which must
// have length Dim.
func (wv *WordVectors) Vector(rank int, dst []float32) {
	s := wv.scale[rank]
	for j, q := range wv.q[rank*wv.dim : (rank+1)*wv.dim] {
		dst[j] = float32(q) * s
	}
}

// Component returns the stored principal component and the SIF parameter it
// was computed with, or nil when the file has none.
func (wv *WordVectors) Component() ([]float32, float64) {
	return wv.comp, float64(wv.compA)
}

// SetComponent stores a principal component (see SIFComponent) to be written
// with the table.
func (wv *WordVectors) SetComponent(pc []float32, a float64) error {
	if len(pc) != wv.dim {
		return fmt.Errorf("embed: component has %d dimensions, want %d", len(pc), wv.dim)
	}
	wv.comp = append([]float32(nil), pc...)
	wv.compA = float32(a)
	return nil
}

// MarshalBinary encodes the table in the word-vector file format.
func (wv *WordVectors) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(fileMagic)
	le := binary.LittleEndian
	b.Write(le.AppendUint16(nil, fileVersion))
	b.Write(le.AppendUint16(nil, encodingInt8))
	b.Write(le.AppendUint32(nil, uint32(wv.dim)))
	b.Write(le.AppendUint32(nil, uint32(len(wv.words))))
	b.Write(le.AppendUint32(nil, uint32(wv.sourceSize)))
	b.Write(le.AppendUint32(nil, math.Float32bits(wv.compA)))
	for j := 0; j < wv.dim; j++ {
		var x float32
		if wv.comp != nil {
			x = wv.comp[j]
		}
		b.Write(le.AppendUint32(nil, math.Float32bits(x)))
	}
	for _, w := range wv.words {
		b.WriteByte(byte(len(w)))
		b.WriteString(w)
	}
	for _, s := range wv.scale {
		b.Write(le.AppendUint32(nil, math.Float32bits(s)))
	}
	for _, q := range wv.q {
		b.WriteByte(byte(q))
	}
	b.Write(le.AppendUint32(nil, crc32.ChecksumIEEE(b.Bytes())))
	return b.Bytes(), nil
}

// WriteFile writes the table to path atomically (temporary file, then
// rename), so a reader never sees half a file.
func (wv *WordVectors) WriteFile(path string) error {
	data, err := wv.MarshalBinary()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("embed: write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("embed: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	// CreateTemp makes the file 0600; the table is public data that other
	// users (a service account) must be able to read.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("embed: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("embed: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("embed: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("embed: write %s: %w", path, err)
	}
	return nil
}

// LoadWordVectors reads a word-vector file.
func LoadWordVectors(path string) (*WordVectors, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("embed: load word vectors: %w", err)
	}
	wv, err := ParseWordVectors(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return wv, nil
}

// ParseWordVectors decodes a word-vector file held in data. The returned
// table keeps references into data, which the caller must not modify.
func ParseWordVectors(data []byte) (*WordVectors, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
	}
	if len(data) < fileHeaderLen+4 {
		return nil, bad("%d bytes is too short", len(data))
	}
	if string(data[:4]) != fileMagic {
		return nil, bad("magic %q", data[:4])
	}
	le := binary.LittleEndian
	body, sum := data[:len(data)-4], le.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, bad("checksum mismatch")
	}
	if v := le.Uint16(data[4:]); v != fileVersion {
		return nil, bad("format version %d", v)
	}
	if e := le.Uint16(data[6:]); e != encodingInt8 {
		return nil, bad("encoding %d", e)
	}
	dim := int(le.Uint32(data[8:]))
	count := int(le.Uint32(data[12:]))
	if dim <= 0 || dim > 1<<14 || count <= 0 || count > 1<<24 {
		return nil, bad("dim %d, count %d", dim, count)
	}
	wv := &WordVectors{
		dim:        dim,
		sourceSize: int(le.Uint32(data[16:])),
		compA:      math.Float32frombits(le.Uint32(data[20:])),
		words:      make([]string, count),
		index:      make(map[string]int32, count),
	}
	if wv.sourceSize < count {
		wv.sourceSize = count
	}
	off := fileHeaderLen
	if len(body) < off+4*dim {
		return nil, bad("truncated component")
	}
	comp := make([]float32, dim)
	nonzero := false
	for j := range comp {
		comp[j] = math.Float32frombits(le.Uint32(body[off+4*j:]))
		nonzero = nonzero || comp[j] != 0
	}
	if nonzero {
		wv.comp = comp
	}
	off += 4 * dim
	// One string for all words: the 50k map keys then share a single
	// allocation instead of 50k small ones, which keeps loading fast.
	start := off
	for i := 0; i < count; i++ {
		if off >= len(body) {
			return nil, bad("truncated word list")
		}
		off += 1 + int(body[off])
	}
	if off > len(body) {
		return nil, bad("truncated word list")
	}
	all := string(body[start:off])
	p := 0
	for i := 0; i < count; i++ {
		n := int(all[p])
		w := all[p+1 : p+1+n]
		p += 1 + n
		if n == 0 {
			return nil, bad("empty word at rank %d", i)
		}
		if _, dup := wv.index[w]; dup {
			return nil, bad("duplicate word %q", w)
		}
		wv.words[i] = w
		wv.index[w] = int32(i)
	}
	if len(body)-off != count*4+count*dim {
		return nil, bad("%d bytes of vectors, want %d", len(body)-off, count*4+count*dim)
	}
	wv.scale = make([]float32, count)
	for i := range wv.scale {
		wv.scale[i] = math.Float32frombits(le.Uint32(body[off+4*i:]))
	}
	off += 4 * count
	qb := body[off : off+count*dim]
	// int8 and byte share size and alignment; reinterpreting avoids copying
	// 5 MB on every start.
	wv.q = unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(qb))), len(qb))
	return wv, nil
}
