package embed

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pb is a minimal protobuf writer, enough to build an ONNX model in a test
// without the ONNX schema package.
type pb []byte

func (b pb) varint(field int, v uint64) pb {
	b = binary.AppendUvarint(b, uint64(field<<3))
	return binary.AppendUvarint(b, v)
}

func (b pb) bytes(field int, data []byte) pb {
	b = binary.AppendUvarint(b, uint64(field<<3|2))
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

func (b pb) str(field int, s string) pb { return b.bytes(field, []byte(s)) }

// valueInfo describes a tensor input or output; a negative dimension is
// symbolic.
func valueInfo(name string, elemType int, dims ...int) []byte {
	var shape pb
	for i, d := range dims {
		if d < 0 {
			shape = shape.bytes(1, pb{}.str(2, "d"+string(rune('0'+i))))
		} else {
			shape = shape.bytes(1, pb{}.varint(1, uint64(d)))
		}
	}
	tensor := pb{}.varint(1, uint64(elemType)).bytes(2, shape)
	return pb{}.str(1, name).bytes(2, pb{}.bytes(1, tensor))
}

// writeGatherModel writes a model whose "last_hidden_state" is a lookup of
// each token id in a [vocab, hidden] table: mean pooling of its output is
// then computable by hand, so the whole path (tokenizer, graph conversion,
// pure-Go execution, padding, pooling) can be checked without a real
// transformer.
func writeGatherModel(t *testing.T, dir string, table [][]float32) {
	t.Helper()
	const tFloat, tInt64 = 1, 7
	var raw []byte
	for _, row := range table {
		for _, x := range row {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
		}
	}
	init := pb{}.varint(1, uint64(len(table))).varint(1, uint64(len(table[0]))).
		varint(2, tFloat).str(8, "emb").bytes(9, raw)
	node := pb{}.str(1, "emb").str(1, "input_ids").str(2, "last_hidden_state").str(3, "gather").str(4, "Gather")
	graph := pb{}.bytes(1, node).str(2, "tiny").bytes(5, init).
		bytes(11, valueInfo("input_ids", tInt64, -1, -1)).
		bytes(11, valueInfo("attention_mask", tInt64, -1, -1)).
		bytes(12, valueInfo("last_hidden_state", tFloat, -1, -1, len(table[0])))
	model := pb{}.varint(1, 8).str(2, "admem-test").bytes(7, graph).bytes(8, pb{}.str(1, "").varint(2, 13))
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), model, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestONNXRunsGatherModel(t *testing.T) {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "cat", "dog", "car", "##s"}
	table := [][]float32{
		{0, 0, 0}, {0.1, 0.1, 0.1}, {0, 0, 1}, {0, 0, -1},
		{1, 0, 0}, {0.9, 0.3, 0}, {0, 1, 0}, {0.2, 0.2, 0.2},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeGatherModel(t, dir, table)
	o, err := NewONNX(ONNXConfig{Dir: dir, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if o.Dim() != 3 || !strings.HasSuffix(o.ID(), "-3d") {
		t.Fatalf("dim %d, id %q", o.Dim(), o.ID())
	}
	texts := []string{"cat", "Dogs cat car", "car car car car car car car car car car car car car car car car car", "zebra"}
	vs, err := o.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		ids := o.tok.Encode(text, 256)
		want := make([]float32, 3)
		for _, id := range ids {
			for k := range want {
				want[k] += table[id][k] / float32(len(ids))
			}
		}
		Normalize(want)
		if c := Cosine(vs[i], want); c < 0.99999 {
			t.Errorf("%q: %v, want %v (ids %v)", text, vs[i], want, ids)
		}
	}
}
