package adapter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// ErrCorrupt is wrapped by every decoding error: the blob is truncated,
// altered, of another kind or of an unknown format version.
var ErrCorrupt = errors.New("adapter: corrupt or unsupported blob")

// maxDim bounds the dimension a blob may claim, so a forged header cannot
// make the decoder allocate gigabytes before noticing the blob is short.
const maxDim = 1 << 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encoder appends little-endian fields to a buffer.
type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *encoder) f64(v float64) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
}

// str writes a length-prefixed string; callers check the length fits.
func (e *encoder) str(s string) {
	e.u16(uint16(len(s)))
	e.b = append(e.b, s...)
}

// seal appends the CRC-32C of everything written so far.
func (e *encoder) seal() []byte {
	e.u32(crc32.Checksum(e.b, castagnoli))
	return e.b
}

// decoder reads what encoder wrote. The first failure sticks, so callers read
// every field and check err once.
type decoder struct {
	b   []byte
	err error
}

// openSealed checks the magic and the trailing CRC and returns a decoder over
// the fields between them.
func openSealed(data []byte, magic string) (*decoder, error) {
	if len(data) < len(magic)+4 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(data))
	}
	if string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return &decoder{b: body[len(magic):]}, nil
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = fmt.Errorf("%w: truncated", ErrCorrupt)
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// f64s reads n floats, rejecting NaN and ±Inf: no valid model or example
// contains them, and one would poison every score.
func (d *decoder) f64s(n int) []float64 {
	if d.err == nil && n > len(d.b)/8 {
		d.err = fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	b := d.take(8 * n)
	if b == nil {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		v := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			d.err = fmt.Errorf("%w: non-finite value", ErrCorrupt)
			return nil
		}
		out[i] = v
	}
	return out
}

func (d *decoder) str() string {
	n := int(d.u16())
	return string(d.take(n))
}

// int reads a u64 that must fit the given bound.
func (d *decoder) int(what string, max uint64) int {
	v := d.u64()
	if d.err == nil && v > max {
		d.err = fmt.Errorf("%w: %s %d out of range", ErrCorrupt, what, v)
		return 0
	}
	return int(v)
}

// finish reports the first error, or an error if bytes are left over: a
// blob with trailing data was not written by this package.
func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	return nil
}
