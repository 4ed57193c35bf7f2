package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Reservoir keeps a uniform random sample of every example it has been
// offered (Vitter's Algorithm R), so that retraining on new examples plus the
// reservoir still sees old failure families in proportion to their history.
// It is seeded and serialisable, random state included: the same seed and the
// same stream of examples give the same sample, across a save and load too.
// A Reservoir is not safe for concurrent use.
type Reservoir struct {
	capacity int
	seen     uint64
	items    []Example
	src      *rand.PCG
	rng      *rand.Rand
}

// NewReservoir returns an empty reservoir holding at most capacity examples.
func NewReservoir(capacity int, seed uint64) (*Reservoir, error) {
	if capacity < 1 || capacity > maxReservoir {
		return nil, fmt.Errorf("adapter: reservoir capacity %d outside 1..%d", capacity, maxReservoir)
	}
	src := rand.NewPCG(seed, seed^0xda3e39cb94b95bdb)
	return &Reservoir{capacity: capacity, src: src, rng: rand.New(src)}, nil
}

// maxReservoir bounds capacity, mostly so that a decoded header cannot ask
// for an absurd allocation.
const maxReservoir = 1 << 24

// Add offers one example. The first capacity examples are kept; after that
// the n-th (1-based) replaces a random slot with probability capacity/n.
func (r *Reservoir) Add(e Example) {
	n := r.seen
	r.seen++
	if n < uint64(r.capacity) {
		r.items = append(r.items, e)
		return
	}
	if j := r.rng.Uint64N(n + 1); j < uint64(r.capacity) {
		r.items[j] = e
	}
}

// AddAll offers the examples in order.
func (r *Reservoir) AddAll(es []Example) {
	for _, e := range es {
		r.Add(e)
	}
}

// Examples returns the current sample. The slice is a copy; the vectors are
// shared.
func (r *Reservoir) Examples() []Example { return append([]Example(nil), r.items...) }

// Len returns the number of examples held.
func (r *Reservoir) Len() int { return len(r.items) }

// Cap returns the capacity.
func (r *Reservoir) Cap() int { return r.capacity }

// Seen returns how many examples have been offered in total.
func (r *Reservoir) Seen() uint64 { return r.seen }

// The reservoir layout, version 1, little-endian:
//
//	magic "ADMEMRSV", version u16, capacity u32, seen u64,
//	rng state u16 length + bytes, d u32, count u32,
//	count × { failed u8, cluster u16 length + bytes, context f64 × d, action f64 × d },
//	CRC-32C u32 of all preceding bytes.
//
// Vectors stay float64 so that training on a reloaded reservoir is
// bit-identical to training on the live one.
const (
	reservoirMagic   = "ADMEMRSV"
	reservoirVersion = 1
)

// MarshalBinary encodes the reservoir, including its random state.
func (r *Reservoir) MarshalBinary() ([]byte, error) {
	state, err := r.src.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("adapter: reservoir rng state: %w", err)
	}
	d := 0
	if len(r.items) > 0 {
		d = len(r.items[0].Context)
	}
	e := &encoder{b: make([]byte, 0, 64+len(r.items)*(16+16*d))}
	e.b = append(e.b, reservoirMagic...)
	e.u16(reservoirVersion)
	e.u32(uint32(r.capacity))
	e.u64(r.seen)
	e.str(string(state))
	e.u32(uint32(d))
	e.u32(uint32(len(r.items)))
	for i, it := range r.items {
		if len(it.Context) != d || len(it.Action) != d {
			return nil, fmt.Errorf("adapter: reservoir example %d has dimensions %d/%d, want %d", i, len(it.Context), len(it.Action), d)
		}
		if len(it.Cluster) > math.MaxUint16 {
			return nil, fmt.Errorf("adapter: reservoir example %d cluster id too long", i)
		}
		var failed uint8
		if it.Failed {
			failed = 1
		}
		e.u8(failed)
		e.str(it.Cluster)
		for _, v := range it.Context {
			e.f64(v)
		}
		for _, v := range it.Action {
			e.f64(v)
		}
	}
	return e.seal(), nil
}

// UnmarshalBinary replaces r with the reservoir encoded in data, rejecting
// corrupt blobs with an error wrapping ErrCorrupt (r is unchanged then).
func (r *Reservoir) UnmarshalBinary(data []byte) error {
	dec, err := openSealed(data, reservoirMagic)
	if err != nil {
		return err
	}
	if v := dec.u16(); dec.err == nil && v != reservoirVersion {
		return fmt.Errorf("%w: reservoir version %d, this build reads %d", ErrCorrupt, v, reservoirVersion)
	}
	capacity := int(dec.u32())
	seen := dec.u64()
	state := dec.str()
	d := int(dec.u32())
	count := int(dec.u32())
	if dec.err != nil {
		return dec.err
	}
	switch {
	case capacity < 1 || capacity > maxReservoir:
		return fmt.Errorf("%w: capacity %d", ErrCorrupt, capacity)
	case count > capacity || uint64(count) > seen || (seen >= uint64(capacity) && count != capacity):
		return fmt.Errorf("%w: %d examples for capacity %d after %d offered", ErrCorrupt, count, capacity, seen)
	case d > maxDim || (count > 0 && d < 1):
		return fmt.Errorf("%w: dimension %d", ErrCorrupt, d)
	case count > len(dec.b)/(3+16*max(d, 1)): // each item needs at least this many bytes
		return fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	src := &rand.PCG{}
	if err := src.UnmarshalBinary([]byte(state)); err != nil {
		return fmt.Errorf("%w: rng state: %v", ErrCorrupt, err)
	}
	items := make([]Example, count)
	for i := range items {
		f := dec.u8()
		if dec.err == nil && f > 1 {
			return fmt.Errorf("%w: label byte %d", ErrCorrupt, f)
		}
		items[i].Failed = f == 1
		items[i].Cluster = dec.str()
		items[i].Context = dec.f64s(d)
		items[i].Action = dec.f64s(d)
		if dec.err != nil {
			return dec.err
		}
	}
	if err := dec.finish(); err != nil {
		return err
	}
	*r = Reservoir{capacity: capacity, seen: seen, items: items, src: src, rng: rand.New(src)}
	return nil
}
