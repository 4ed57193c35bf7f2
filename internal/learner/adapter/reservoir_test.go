package adapter

import (
	"errors"
	"math"
	"testing"
)

// indexed returns an example whose identity is readable back from it.
func indexed(i int) Example {
	return Example{Context: []float64{float64(i), 1}, Action: []float64{0, float64(-i)}, Failed: i%2 == 0, Cluster: "k"}
}

func TestReservoirKeepsFirstThenSamples(t *testing.T) {
	t.Parallel()
	r, err := NewReservoir(10, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		r.Add(indexed(i))
	}
	for i, e := range r.Examples() {
		if int(e.Context[0]) != i {
			t.Fatalf("slot %d holds %v before the reservoir is full", i, e.Context[0])
		}
	}
	for i := 10; i < 1000; i++ {
		r.Add(indexed(i))
	}
	if r.Len() != 10 || r.Cap() != 10 || r.Seen() != 1000 {
		t.Fatalf("len %d cap %d seen %d", r.Len(), r.Cap(), r.Seen())
	}
}

// TestReservoirIsUniform checks Algorithm R's defining property: after n
// offers every item is kept with probability k/n, whatever its position.
func TestReservoirIsUniform(t *testing.T) {
	t.Parallel()
	const k, n, trials = 5, 50, 4000
	counts := make([]int, n)
	for s := range trials {
		r, _ := NewReservoir(k, uint64(s))
		for i := range n {
			r.Add(indexed(i))
		}
		for _, e := range r.Examples() {
			counts[int(e.Context[0])]++
		}
	}
	p := float64(k) / n
	mean, sd := trials*p, math.Sqrt(trials*p*(1-p))
	for i, c := range counts {
		// 5 standard deviations: a false alarm over 50 items is ~1e-5.
		if math.Abs(float64(c)-mean) > 5*sd {
			t.Errorf("item %d kept %d times in %d trials, expected %.0f ± %.0f", i, c, trials, mean, sd)
		}
	}
}

func TestReservoirRoundTripContinuesIdentically(t *testing.T) {
	t.Parallel()
	live, _ := NewReservoir(20, 9)
	for i := range 57 {
		live.Add(indexed(i))
	}
	blob, err := live.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var loaded Reservoir
	if err := loaded.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	// Same future offers must give the same sample: the rng state travelled.
	for i := 57; i < 300; i++ {
		live.Add(indexed(i))
		loaded.Add(indexed(i))
	}
	a, b := live.Examples(), loaded.Examples()
	if live.Seen() != loaded.Seen() || len(a) != len(b) {
		t.Fatalf("seen %d/%d len %d/%d", live.Seen(), loaded.Seen(), len(a), len(b))
	}
	for i := range a {
		if a[i].Context[0] != b[i].Context[0] || a[i].Failed != b[i].Failed || a[i].Cluster != b[i].Cluster {
			t.Fatalf("slot %d: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestReservoirRejectsCorruptBlobs(t *testing.T) {
	t.Parallel()
	r, _ := NewReservoir(4, 3)
	for i := range 6 {
		r.Add(indexed(i))
	}
	blob, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(blob) {
		var x Reservoir
		if err := x.UnmarshalBinary(blob[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err %v", n, err)
		}
	}
	for i := range blob {
		bad := append([]byte(nil), blob...)
		bad[i] ^= 0x10
		var x Reservoir
		if err := x.UnmarshalBinary(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped byte %d: err %v", i, err)
		}
	}
	empty, _ := NewReservoir(3, 1)
	blob, _ = empty.MarshalBinary()
	var x Reservoir
	if err := x.UnmarshalBinary(blob); err != nil || x.Len() != 0 || x.Cap() != 3 {
		t.Fatalf("empty reservoir round trip: %v %d %d", err, x.Len(), x.Cap())
	}
}

func TestNewReservoirRejectsBadCapacity(t *testing.T) {
	t.Parallel()
	for _, c := range []int{0, -1, maxReservoir + 1} {
		if _, err := NewReservoir(c, 1); err == nil {
			t.Errorf("capacity %d accepted", c)
		}
	}
}

func FuzzUnmarshalReservoir(f *testing.F) {
	r, _ := NewReservoir(3, 1)
	for i := range 5 {
		r.Add(indexed(i))
	}
	blob, _ := r.MarshalBinary()
	f.Add(blob)
	f.Add([]byte(reservoirMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range [][]byte{data, withValidCRC(data)} {
			var x Reservoir
			if x.UnmarshalBinary(b) == nil {
				if _, err := x.MarshalBinary(); err != nil {
					t.Fatalf("accepted a blob it cannot re-encode: %v", err)
				}
			}
		}
	})
}
