package adapter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"testing"
	"time"
)

func trainedForArtifact(t testing.TB) (*Model, []Example) {
	t.Helper()
	ex := newWorld(3, 20, 8).family(4, "A", 3, 0.3).sample(300, 5)
	cfg := DefaultConfig()
	cfg.Rank = 4
	cfg.Features = FeatureContext | FeatureDiagonal
	cfg.EmbedderID = "glove-6b-100d-sif/v1"
	cfg.CreatedAt = time.Date(2026, 11, 22, 4, 0, 0, 123, time.UTC)
	m, err := Train(ex, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, ex
}

func TestArtifactRoundTrip(t *testing.T) {
	t.Parallel()
	m, ex := trainedForArtifact(t)
	blob, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Model
	if err := got.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	if got.EmbedderID() != m.EmbedderID() || got.Dim() != m.Dim() || got.Rank() != m.Rank() || got.Features() != m.Features() {
		t.Fatalf("header: %q %d %d %v", got.EmbedderID(), got.Dim(), got.Rank(), got.Features())
	}
	gi, mi := got.Info(), m.Info()
	if !gi.CreatedAt.Equal(mi.CreatedAt) || gi.Seed != mi.Seed || gi.TrainN != mi.TrainN || gi.ValN != mi.ValN ||
		gi.Epochs != mi.Epochs || gi.BestEpoch != mi.BestEpoch || gi.TrainFails != mi.TrainFails || gi.ValLoss != mi.ValLoss {
		t.Fatalf("info %+v, want %+v", gi, mi)
	}
	for _, e := range ex {
		if a, b := m.Risk(e.Context, e.Action), got.Risk(e.Context, e.Action); a != b {
			t.Fatalf("risk after reload %v, before %v", b, a)
		}
	}
	again, _ := got.MarshalBinary()
	if !bytes.Equal(again, blob) {
		t.Error("re-encoding a loaded model changed the bytes")
	}
}

func TestArtifactRejectsDamage(t *testing.T) {
	t.Parallel()
	m, _ := trainedForArtifact(t)
	blob, _ := m.MarshalBinary()
	for n := range len(blob) {
		var x Model
		if err := x.UnmarshalBinary(blob[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err %v", n, err)
		}
	}
	for i := range blob {
		bad := append([]byte(nil), blob...)
		bad[i] ^= 0x01
		var x Model
		if err := x.UnmarshalBinary(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped bit at byte %d: err %v", i, err)
		}
	}
	var x Model
	if err := x.UnmarshalBinary(append(blob[:len(blob):len(blob)], 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: err %v", err)
	}
}

// TestArtifactRejectsBadHeaders forges headers with a valid checksum, the
// case a CRC cannot catch: a future version, or a writer bug.
func TestArtifactRejectsBadHeaders(t *testing.T) {
	t.Parallel()
	m, _ := trainedForArtifact(t)
	blob, _ := m.MarshalBinary()
	const off = len(artifactMagic)
	for _, tc := range []struct {
		name  string
		patch func(b []byte)
	}{
		{"version", func(b []byte) { binary.LittleEndian.PutUint16(b[off:], artifactVersion+1) }},
		{"features", func(b []byte) { binary.LittleEndian.PutUint16(b[off+2:], 0x80) }},
		{"zero dim", func(b []byte) { binary.LittleEndian.PutUint32(b[off+4:], 0) }},
		{"huge dim", func(b []byte) { binary.LittleEndian.PutUint32(b[off+4:], 1<<31) }},
		{"rank", func(b []byte) { binary.LittleEndian.PutUint32(b[off+8:], MaxRank+1) }},
		{"other rank", func(b []byte) { binary.LittleEndian.PutUint32(b[off+8:], 3) }},
		{"nan parameter", func(b []byte) {
			binary.LittleEndian.PutUint64(b[len(b)-4-8:], math.Float64bits(math.NaN()))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), blob...)
			tc.patch(b)
			var x Model
			if err := x.UnmarshalBinary(withValidCRC(b)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

// withValidCRC rewrites the trailing checksum so that fuzzing and forged
// headers reach the field parser instead of stopping at the CRC.
func withValidCRC(b []byte) []byte {
	if len(b) < 4 {
		return b
	}
	out := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.Checksum(out[:len(out)-4], castagnoli))
	return out
}

func FuzzUnmarshal(f *testing.F) {
	m, _ := trainedForArtifact(f)
	blob, _ := m.MarshalBinary()
	f.Add(blob)
	f.Add(blob[:60])
	f.Add([]byte(artifactMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range [][]byte{data, withValidCRC(data)} {
			var x Model
			if err := x.UnmarshalBinary(b); err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				continue
			}
			// Whatever is accepted must be usable.
			z := make([]float64, x.Dim())
			if r := x.Risk(z, z); math.IsNaN(r) {
				t.Fatal("accepted model scores NaN")
			}
			if _, err := x.MarshalBinary(); err != nil {
				t.Fatalf("accepted a blob it cannot re-encode: %v", err)
			}
		}
	})
}
