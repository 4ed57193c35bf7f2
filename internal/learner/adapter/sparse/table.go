package sparse

// table maps feature indices to parameter rows: open addressing with linear
// probing over a power-of-two array kept at most half full. A Go map would
// cost several times more per lookup, and scoring does one lookup per
// feature.
type table struct {
	keys  []uint32 // feature index + 1; 0 marks an empty slot
	rows  []int32
	n     int
	shift uint8 // 32 − log₂(len(keys))
}

const minTableSize = 8

func newTable(capacity int) table {
	size := minTableSize
	for size < 2*capacity {
		size *= 2
	}
	return table{keys: make([]uint32, size), rows: make([]int32, size), shift: uint8(32 - log2(size))}
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}

// slot is the home slot of key k: Fibonacci hashing keeps the high bits of
// k × 2³²/φ, which spreads consecutive indices (the featuriser's named
// features) across the table.
func (t *table) slot(k uint32) uint32 { return ((k + 1) * 0x9E3779B1) >> t.shift }

// get returns the row of feature k, or −1.
func (t *table) get(k uint32) int32 {
	if t.n == 0 {
		return -1
	}
	mask := uint32(len(t.keys) - 1)
	want := k + 1
	for s := t.slot(k); ; s = (s + 1) & mask {
		switch t.keys[s] {
		case want:
			return t.rows[s]
		case 0:
			return -1
		}
	}
}

// put maps feature k to row, growing the table as needed. k must not be
// math.MaxUint32 (its key would read as empty), which dimension checks
// guarantee.
func (t *table) put(k uint32, row int32) {
	if 2*(t.n+1) > len(t.keys) {
		t.grow()
	}
	mask := uint32(len(t.keys) - 1)
	want := k + 1
	for s := t.slot(k); ; s = (s + 1) & mask {
		switch t.keys[s] {
		case want:
			t.rows[s] = row
			return
		case 0:
			t.keys[s], t.rows[s] = want, row
			t.n++
			return
		}
	}
}

func (t *table) grow() {
	old := *t
	*t = newTable(2*old.n + 1)
	for s, key := range old.keys {
		if key != 0 {
			t.put(key-1, old.rows[s])
		}
	}
}

func (t *table) clone() table {
	c := *t
	c.keys = append([]uint32(nil), t.keys...)
	c.rows = append([]int32(nil), t.rows...)
	return c
}
