package sparse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"testing"
	"time"
)

func artifactModel(t testing.TB) (*Model, []Example) {
	t.Helper()
	f := testFeaturizer(16)
	w := newCallWorld(71, f, 8, 2, 4, true, 0.5, 0.02)
	ex, _ := w.sample(400, 1, nil)
	cfg := f.config(4)
	cfg.Prior = map[uint32]float32{f.namedIndex(0): 2, f.namedIndex(2): -1}
	cfg.PriorBias = -2
	cfg.Featurizer = "test-layout/1"
	cfg.CreatedAt = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	m := mustTrain(t, ex, cfg, nil)
	tr := mustTrainer(t, m, ex, cfg)
	more, _ := w.sample(10, 2, nil)
	if err := tr.Observe(more); err != nil {
		t.Fatal(err)
	}
	return tr.Snapshot(), ex
}

// TestArtifactRoundTrip: a decoded model scores bit-identically, keeps its
// metadata and prior, and encodes to the same bytes.
func TestArtifactRoundTrip(t *testing.T) {
	t.Parallel()
	m, ex := artifactModel(t)
	blob, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Model
	if err := got.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	for i := range ex {
		if a, b := m.Risk(ex[i].Input), got.Risk(ex[i].Input); a != b {
			t.Fatalf("example %d: risk %v after round trip, %v before", i, b, a)
		}
	}
	if got.Info() != m.Info() {
		t.Errorf("info %+v, want %+v", got.Info(), m.Info())
	}
	if got.PriorHash() != m.PriorHash() || got.Featurizer() != "test-layout/1" {
		t.Errorf("prior hash %x / featurizer %q, want %x / test-layout/1", got.PriorHash(), got.Featurizer(), m.PriorHash())
	}
	ga, gc := got.Calibration()
	if ma, mc := m.Calibration(); ga != ma || gc != mc {
		t.Errorf("calibration (%v, %v), want (%v, %v)", ga, gc, ma, mc)
	}
	again, _ := got.MarshalBinary()
	if !bytes.Equal(again, blob) {
		t.Error("re-encoding a decoded model changes the bytes")
	}
	nc, nx := m.Features()
	t.Logf("%d call and %d context rows at rank %d: %d bytes", nc, nx, m.Rank(), len(blob))
}

// TestArtifactRejectsCorruption flips each byte and truncates at every
// length: every variant must be refused with ErrCorrupt, never accepted or
// panicking.
func TestArtifactRejectsCorruption(t *testing.T) {
	t.Parallel()
	m, _ := artifactModel(t)
	blob, _ := m.MarshalBinary()
	for i := range blob {
		bad := append([]byte(nil), blob...)
		bad[i] ^= 0x41
		var x Model
		if err := x.UnmarshalBinary(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: error %v", i, err)
		}
	}
	for n := range len(blob) {
		var x Model
		if err := x.UnmarshalBinary(blob[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: error %v", n, err)
		}
	}
}

// TestArtifactRejectsInconsistentFields re-seals blobs whose fields are
// wrong but whose checksum is right: the decoder's own checks must catch
// them.
func TestArtifactRejectsInconsistentFields(t *testing.T) {
	t.Parallel()
	m, _ := artifactModel(t)
	blob, _ := m.MarshalBinary()
	off := len(artifactMagic)
	for name, edit := range map[string]func(b []byte){
		"version":         func(b []byte) { b[off] = 2 },
		"zero call dim":   func(b []byte) { binary.LittleEndian.PutUint32(b[off+1:], 0) },
		"dense too big":   func(b []byte) { binary.LittleEndian.PutUint32(b[off+9:], math.MaxUint32-1) },
		"rank 17":         func(b []byte) { b[off+13] = 17 },
		"featurizer long": func(b []byte) { binary.LittleEndian.PutUint16(b[off+14:], 0xffff) },
	} {
		bad := append([]byte(nil), blob...)
		edit(bad)
		var x Model
		if err := x.UnmarshalBinary(reseal(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// reseal rewrites the trailing checksum so that a blob reaches the field
// checks.
func reseal(b []byte) []byte {
	if len(b) < 4 {
		return b
	}
	out := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.Checksum(out[:len(out)-4], castagnoli))
	return out
}

// FuzzUnmarshal feeds the decoder untrusted bytes, as is and with a valid
// checksum: it must never panic, must refuse with ErrCorrupt, and whatever
// it accepts must score and re-encode.
func FuzzUnmarshal(f *testing.F) {
	m, ex := artifactModel(f)
	blob, _ := m.MarshalBinary()
	f.Add(blob)
	f.Add(blob[:80])
	p, _ := PriorModel(testFeaturizer(2).config(0))
	small, _ := p.MarshalBinary()
	f.Add(small)
	f.Add([]byte(artifactMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range [][]byte{data, reseal(data)} {
			var x Model
			if err := x.UnmarshalBinary(b); err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				continue
			}
			if r := x.Risk(ex[0].Input); math.IsNaN(r) {
				t.Fatal("accepted model scores NaN")
			}
			if _, err := x.MarshalBinary(); err != nil {
				t.Fatalf("accepted a blob it cannot re-encode: %v", err)
			}
		}
	})
}
