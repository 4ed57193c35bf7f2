package sparse

import "math/rand/v2"

// reservoir keeps a uniform random sample of every example offered to it
// (Vitter's Algorithm R), so that replaying it during online updates still
// shows old failure families in proportion to their history. Each slot
// caches the example resolved against the trainer's current state; gen tells
// whether the cache is from the current state.
type reservoir struct {
	capacity int
	seen     uint64
	slots    []slot
	rng      *rand.Rand
}

type slot struct {
	ex  Example
	it  item
	gen uint64
}

func newReservoir(capacity int, seed uint64) reservoir {
	return reservoir{capacity: capacity, rng: rand.New(rand.NewPCG(seed, seed^0xda3e39cb94b95bdb))}
}

// add offers one example: the first capacity are kept, after that the n-th
// (1-based) replaces a random slot with probability capacity/n.
func (r *reservoir) add(e Example) {
	n := r.seen
	r.seen++
	if n < uint64(r.capacity) {
		r.slots = append(r.slots, slot{ex: e})
		return
	}
	if j := r.rng.Uint64N(n + 1); j < uint64(r.capacity) {
		r.slots[j] = slot{ex: e}
	}
}

// draw returns k slots drawn uniformly with replacement (nil when empty).
func (r *reservoir) draw(k int, out []*slot) []*slot {
	out = out[:0]
	if len(r.slots) == 0 {
		return out
	}
	for range k {
		out = append(out, &r.slots[r.rng.IntN(len(r.slots))])
	}
	return out
}
