package sparse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// ErrCorrupt is wrapped by every decoding error: the blob is truncated,
// altered, of another kind or of an unknown format version.
var ErrCorrupt = errors.New("sparse: corrupt or unsupported model blob")

// The artifact layout, format version 1, integers little-endian:
//
//	magic       8 bytes "ADMEMSPM"
//	version     u8
//	callDim, contextDim, denseContext  u32 each;  rank u8
//	featurizer  u16 length + bytes
//	created     i64 Unix nanoseconds;  seed u64
//	trainN, valN, trainFails, valFails, epochs, linearEpochs, bestEpoch  u64 each
//	refit       u8 (0 or 1);  updates, observed  u64 each
//	valLoss, calLoss  f64 (NaN: no validation split)
//	evidence    f64 total weight of the examples behind the model
//	calA, calB  f64 Platt map
//	priorBias f32, priorHash u64, nPrior u32, nPrior × {index u32, weight f32}
//	bias        f32
//	nCall u32, nCall × {index u32, evidence f32, w f32, V f32 × rank}
//	nCtx u32,  nCtx × {index u32, evidence f32, g f32, U f32 × rank}
//	            (the first denseContext rows are indices 0..denseContext−1)
//	crc         u32 CRC-32C of all preceding bytes
//
// Rows exist only for seen features, so the size grows with a tenant's
// active features: (r+3)·4 bytes each, 44 at rank 8.
const (
	artifactMagic   = "ADMEMSPM"
	artifactVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the model as a self-describing, checksummed artifact.
func (m *Model) MarshalBinary() ([]byte, error) {
	if len(m.featurizer) > maxString {
		return nil, fmt.Errorf("sparse: featurizer id is %d bytes, limit %d", len(m.featurizer), maxString)
	}
	st := m.stride()
	b := make([]byte, 0, 256+len(m.featurizer)+8*len(m.prior)+(len(m.call.idx)+len(m.ctx.idx))*4*(st+2))
	b = append(b, artifactMagic...)
	b = append(b, artifactVersion)
	b = le.AppendUint32(b, m.callDim)
	b = le.AppendUint32(b, m.ctxDim)
	b = le.AppendUint32(b, m.dense)
	b = append(b, uint8(m.r))
	b = le.AppendUint16(b, uint16(len(m.featurizer)))
	b = append(b, m.featurizer...)
	i := m.info
	b = le.AppendUint64(b, uint64(i.CreatedAt.UnixNano()))
	b = le.AppendUint64(b, i.Seed)
	for _, v := range []int{i.TrainN, i.ValN, i.TrainFails, i.ValFails, i.Epochs, i.LinearEpochs, i.BestEpoch} {
		b = le.AppendUint64(b, uint64(v))
	}
	var refit uint8
	if i.Refit {
		refit = 1
	}
	b = append(b, refit)
	b = le.AppendUint64(b, i.Updates)
	b = le.AppendUint64(b, i.Observed)
	for _, v := range []float64{i.ValLoss, i.CalLoss, m.evidence, m.calA, m.calB} {
		b = le.AppendUint64(b, math.Float64bits(v))
	}
	b = le.AppendUint32(b, math.Float32bits(m.priorBias))
	b = le.AppendUint64(b, m.PriorHash())
	b = le.AppendUint32(b, uint32(len(m.prior)))
	for _, f := range m.prior {
		b = le.AppendUint32(b, f.I)
		b = le.AppendUint32(b, math.Float32bits(f.V))
	}
	b = le.AppendUint32(b, math.Float32bits(m.bias))
	for _, rs := range []*rows32{&m.call, &m.ctx} {
		b = le.AppendUint32(b, uint32(len(rs.idx)))
		for j, idx := range rs.idx {
			b = le.AppendUint32(b, idx)
			b = le.AppendUint32(b, math.Float32bits(rs.n[j]))
			for _, v := range rs.theta[j*st : j*st+st] {
				b = le.AppendUint32(b, math.Float32bits(v))
			}
		}
	}
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

var le = binary.LittleEndian

// UnmarshalBinary replaces m with the model encoded in data. Untrusted bytes
// are safe: a truncated, altered or unknown-version blob is rejected with an
// error wrapping ErrCorrupt (m unchanged), and every count is checked
// against the bytes left before anything is allocated. Call it on a fresh
// Model: one being scored must not be overwritten.
func (m *Model) UnmarshalBinary(data []byte) error {
	if len(data) < len(artifactMagic)+5 {
		return fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(data))
	}
	if string(data[:len(artifactMagic)]) != artifactMagic {
		return fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != le.Uint32(data[len(data)-4:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	d := &decoder{b: body[len(artifactMagic):]}
	if v := d.u8(); v != artifactVersion {
		return fmt.Errorf("%w: format version %d, this build reads %d", ErrCorrupt, v, artifactVersion)
	}
	var out Model
	out.callDim, out.ctxDim, out.dense = d.u32(), d.u32(), d.u32()
	out.r = int(d.u8())
	out.featurizer = string(d.take(int(d.u16())))
	created := int64(d.u64())
	var info Info
	info.Seed = d.u64()
	for _, p := range []*int{&info.TrainN, &info.ValN, &info.TrainFails, &info.ValFails, &info.Epochs, &info.LinearEpochs, &info.BestEpoch} {
		*p = d.count()
	}
	refit := d.u8()
	info.Refit = refit == 1
	info.Updates, info.Observed = d.u64(), d.u64()
	info.ValLoss, info.CalLoss = d.f64(), d.f64()
	out.evidence, out.calA, out.calB = d.f64(), d.f64(), d.f64()
	out.priorBias = d.f32()
	hash := d.u64()
	nPrior := d.items(8)
	if d.err != nil {
		return d.err
	}
	switch {
	case refit > 1:
		return fmt.Errorf("%w: refit flag %d", ErrCorrupt, refit)
	case out.callDim == 0 || out.ctxDim == 0 || out.callDim == math.MaxUint32 || out.ctxDim == math.MaxUint32:
		return fmt.Errorf("%w: dimensions %d/%d", ErrCorrupt, out.callDim, out.ctxDim)
	case out.dense > out.ctxDim || out.dense > maxDense:
		return fmt.Errorf("%w: dense context %d", ErrCorrupt, out.dense)
	case out.r > MaxRank:
		return fmt.Errorf("%w: rank %d", ErrCorrupt, out.r)
	case len(out.featurizer) > maxString:
		return fmt.Errorf("%w: featurizer id of %d bytes", ErrCorrupt, len(out.featurizer))
	case !lossOK(info.ValLoss) || !lossOK(info.CalLoss):
		return fmt.Errorf("%w: losses %v/%v", ErrCorrupt, info.ValLoss, info.CalLoss)
	case !(out.evidence >= 0) || math.IsInf(out.evidence, 0):
		return fmt.Errorf("%w: evidence %v", ErrCorrupt, out.evidence)
	case !(out.calA > 0) || math.IsInf(out.calA, 0) || math.IsNaN(out.calB) || math.IsInf(out.calB, 0):
		return fmt.Errorf("%w: calibration (%v, %v)", ErrCorrupt, out.calA, out.calB)
	case !finite32(out.priorBias):
		return fmt.Errorf("%w: prior bias %v", ErrCorrupt, out.priorBias)
	}
	out.prior = make([]Feat, nPrior)
	for j := range out.prior {
		out.prior[j] = Feat{I: d.u32(), V: d.f32()}
		if d.err == nil && (out.prior[j].I >= out.callDim || !finite32(out.prior[j].V) || j > 0 && out.prior[j].I <= out.prior[j-1].I) {
			return fmt.Errorf("%w: prior entry %d", ErrCorrupt, j)
		}
	}
	out.bias = d.f32()
	if d.err != nil {
		return d.err
	}
	if priorHash(out.priorBias, out.prior) != hash {
		return fmt.Errorf("%w: prior hash mismatch", ErrCorrupt)
	}
	if !finite32(out.bias) {
		return fmt.Errorf("%w: bias %v", ErrCorrupt, out.bias)
	}
	var err error
	if out.call, out.callTab, err = d.rows(out.r, out.callDim, 0); err != nil {
		return err
	}
	if out.ctx, out.ctxTab, err = d.rows(out.r, out.ctxDim, out.dense); err != nil {
		return err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	info.CreatedAt = time.Unix(0, created).UTC()
	out.info = info
	*m = out
	return nil
}

func lossOK(v float64) bool { return math.IsNaN(v) || v >= 0 && !math.IsInf(v, 0) }

// decoder reads little-endian fields; the first failure sticks, so callers
// read a group of fields and check err once.
type decoder struct {
	b   []byte
	err error
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
		return le.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return le.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return le.Uint64(b)
	}
	return 0
}

func (d *decoder) f32() float32 { return math.Float32frombits(d.u32()) }
func (d *decoder) f64() float64 { return math.Float64frombits(d.u64()) }

// count reads a u64 counter that must be plausible.
func (d *decoder) count() int {
	v := d.u64()
	if d.err == nil && v > 1<<40 {
		d.err = fmt.Errorf("%w: count %d out of range", ErrCorrupt, v)
		return 0
	}
	return int(v)
}

// items reads a u32 element count and checks that the bytes left can hold
// that many elements of size bytes, so a forged count cannot make the
// decoder allocate more than the blob's own size.
func (d *decoder) items(size int) int {
	n := int(d.u32())
	if d.err == nil && n > len(d.b)/size {
		d.err = fmt.Errorf("%w: %d elements do not fit in %d bytes", ErrCorrupt, n, len(d.b))
		return 0
	}
	return n
}

// rows reads a row block: indices below dim, the first dense of them being
// 0..dense−1, no index twice, finite parameters, evidence ≥ 0.
func (d *decoder) rows(r int, dim, dense uint32) (rows32, table, error) {
	st := r + 1
	n := d.items(4 * (st + 2))
	if d.err != nil {
		return rows32{}, table{}, d.err
	}
	if n < int(dense) {
		return rows32{}, table{}, fmt.Errorf("%w: %d rows, fewer than the %d dense ones", ErrCorrupt, n, dense)
	}
	out := rows32{theta: make([]float32, n*st), idx: make([]uint32, n), n: make([]float32, n)}
	tab := newTable(n - int(dense))
	for j := range n {
		idx, ev := d.u32(), d.f32()
		out.idx[j], out.n[j] = idx, ev
		for k := range st {
			out.theta[j*st+k] = d.f32()
		}
		if d.err != nil {
			return rows32{}, table{}, d.err
		}
		switch {
		case idx >= dim:
			return rows32{}, table{}, fmt.Errorf("%w: feature %d outside [0, %d)", ErrCorrupt, idx, dim)
		case j < int(dense) && idx != uint32(j), j >= int(dense) && idx < dense:
			return rows32{}, table{}, fmt.Errorf("%w: row %d holds feature %d out of the dense block's order", ErrCorrupt, j, idx)
		case !(ev >= 0) || !finite32(ev):
			return rows32{}, table{}, fmt.Errorf("%w: evidence %v", ErrCorrupt, ev)
		}
		for _, v := range out.theta[j*st : j*st+st] {
			if !finite32(v) {
				return rows32{}, table{}, fmt.Errorf("%w: non-finite parameter", ErrCorrupt)
			}
		}
		if j >= int(dense) {
			if tab.get(idx) >= 0 {
				return rows32{}, table{}, fmt.Errorf("%w: feature %d twice", ErrCorrupt, idx)
			}
			tab.put(idx, int32(j))
		}
	}
	return out, tab, nil
}
