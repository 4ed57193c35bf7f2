package adapter

import (
	"fmt"
	"math"
	"time"
)

// The artifact layout, version 1, all integers little-endian:
//
//	magic        8 bytes  "ADMEMADP"
//	version      u16      artifactVersion
//	features     u16      Features bits
//	d, r         u32, u32
//	embedder     u16 length + UTF-8 bytes
//	created      i64      Unix nanoseconds
//	seed         u64
//	trainN, valN, epochs, bestEpoch, trainFails  u64 each
//	valLoss      f64      (NaN allowed: no validation split)
//	nParams      u32      must equal the count implied by d, r, features
//	params       f64 × nParams: b, wa, [wc], [h], U (d×r row-major), V (d×r row-major)
//	crc          u32      CRC-32C of all preceding bytes
//
// Parameters are float64 so that a reloaded model scores bit-identically to
// the one that was trained and gated; at d=100, r=16 that is 27 KB.
const (
	artifactMagic   = "ADMEMADP"
	artifactVersion = 1
)

// MarshalBinary encodes the model as a self-describing, checksummed artifact.
func (m *Model) MarshalBinary() ([]byte, error) {
	if len(m.embedder) > math.MaxUint16 {
		return nil, fmt.Errorf("adapter: embedder id is %d bytes, limit %d", len(m.embedder), math.MaxUint16)
	}
	if m.lay.n == 0 || len(m.theta) != m.lay.n {
		return nil, fmt.Errorf("adapter: marshal of an untrained model")
	}
	e := &encoder{b: make([]byte, 0, 96+len(m.embedder)+8*len(m.theta))}
	e.b = append(e.b, artifactMagic...)
	e.u16(artifactVersion)
	e.u16(uint16(m.lay.feat))
	e.u32(uint32(m.lay.d))
	e.u32(uint32(m.lay.r))
	e.str(m.embedder)
	i := m.info
	e.u64(uint64(i.CreatedAt.UnixNano()))
	e.u64(i.Seed)
	for _, v := range []int{i.TrainN, i.ValN, i.Epochs, i.BestEpoch, i.TrainFails} {
		e.u64(uint64(v))
	}
	e.f64(i.ValLoss)
	e.u32(uint32(len(m.theta)))
	for _, v := range m.theta {
		e.f64(v)
	}
	return e.seal(), nil
}

// UnmarshalBinary replaces m with the model encoded in data. It rejects
// truncated, corrupted or unknown-version blobs with an error wrapping
// ErrCorrupt and leaves m unchanged then. Call it on a fresh Model: a model
// being scored by other goroutines must not be overwritten.
func (m *Model) UnmarshalBinary(data []byte) error {
	dec, err := openSealed(data, artifactMagic)
	if err != nil {
		return err
	}
	if v := dec.u16(); dec.err == nil && v != artifactVersion {
		return fmt.Errorf("%w: artifact version %d, this build reads %d", ErrCorrupt, v, artifactVersion)
	}
	feat := Features(dec.u16())
	d, r := int(dec.u32()), int(dec.u32())
	embedder := dec.str()
	created := int64(dec.u64())
	var info TrainInfo
	info.Seed = dec.u64()
	const maxCount = 1 << 40
	info.TrainN = dec.int("train count", maxCount)
	info.ValN = dec.int("validation count", maxCount)
	info.Epochs = dec.int("epochs", maxCount)
	info.BestEpoch = dec.int("best epoch", maxCount)
	info.TrainFails = dec.int("train failures", maxCount)
	info.ValLoss = math.Float64frombits(dec.u64())
	n := int(dec.u32())
	if dec.err != nil {
		return dec.err
	}
	switch {
	case feat&^knownFeatures != 0:
		return fmt.Errorf("%w: unknown features %#x", ErrCorrupt, uint16(feat))
	case d < 1 || d > maxDim:
		return fmt.Errorf("%w: dimension %d", ErrCorrupt, d)
	case r > MaxRank:
		return fmt.Errorf("%w: rank %d", ErrCorrupt, r)
	case !(info.ValLoss >= 0) && !math.IsNaN(info.ValLoss) || math.IsInf(info.ValLoss, 0):
		return fmt.Errorf("%w: validation loss %v", ErrCorrupt, info.ValLoss)
	}
	lay := newLayout(d, r, feat)
	if n != lay.n {
		return fmt.Errorf("%w: %d parameters, header implies %d", ErrCorrupt, n, lay.n)
	}
	theta := dec.f64s(n)
	if err := dec.finish(); err != nil {
		return err
	}
	info.CreatedAt = time.Unix(0, created).UTC()
	*m = Model{lay: lay, theta: theta, embedder: embedder, info: info}
	return nil
}
