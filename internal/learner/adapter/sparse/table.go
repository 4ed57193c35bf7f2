package sparse

// table maps feature indices to parameter rows: open addressing with linear
// probing over a power-of-two array kept at most half full, key and row side
// by side so that a lookup touches one cache line. A Go map would cost
// several times more per lookup, and scoring does one lookup per feature.
type table struct {
	slots []tableSlot
	n     int
	shift uint8 // 32 − log₂(len(slots))
}

type tableSlot struct {
	key uint32 // feature index + 1; 0 marks an empty slot
	row int32
}

const minTableSize = 8

func newTable(capacity int) table {
	size := minTableSize
	for size < 2*capacity {
		size *= 2
	}
	return table{slots: make([]tableSlot, size), shift: uint8(32 - log2(size))}
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
	mask := uint32(len(t.slots) - 1)
	want := k + 1
	for s := t.slot(k); ; s = (s + 1) & mask {
		switch sl := t.slots[s]; sl.key {
		case want:
			return sl.row
		case 0:
			return -1
		}
	}
}

// put maps feature k to row, growing the table as needed. k must not be
// math.MaxUint32 (its key would read as empty), which dimension checks
// guarantee.
func (t *table) put(k uint32, row int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint32(len(t.slots) - 1)
	want := k + 1
	for s := t.slot(k); ; s = (s + 1) & mask {
		switch t.slots[s].key {
		case want:
			t.slots[s].row = row
			return
		case 0:
			t.slots[s] = tableSlot{want, row}
			t.n++
			return
		}
	}
}

func (t *table) grow() {
	old := *t
	*t = newTable(2*old.n + 1)
	for _, sl := range old.slots {
		if sl.key != 0 {
			t.put(sl.key-1, sl.row)
		}
	}
}
