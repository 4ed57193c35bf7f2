package embed

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func tinyWordPiece(t *testing.T) *WordPiece {
	t.Helper()
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello", "world", "!", ",", "cafe", "的", "run", "##ning"}
	wp, err := NewWordPiece(vocab, true)
	if err != nil {
		t.Fatal(err)
	}
	return wp
}

func TestWordPieceEncode(t *testing.T) {
	wp := tinyWordPiece(t)
	cases := []struct {
		in   string
		max  int
		want []int64
	}{
		{"Hello, World!", 16, []int64{2, 7, 10, 8, 9, 3}},
		{"unaffable running", 16, []int64{2, 4, 5, 6, 13, 14, 3}},
		{"Café 的", 16, []int64{2, 11, 12, 3}},         // accents stripped, CJK split
		{"unaffablex hello", 16, []int64{2, 1, 7, 3}}, // uncoverable word → one [UNK]
		{"hello hello hello hello", 4, []int64{2, 7, 7, 3}},
		{"", 16, []int64{2, 3}},
	}
	for _, c := range cases {
		if got := wp.Encode(c.in, c.max); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Encode(%q, %d) = %v, want %v", c.in, c.max, got, c.want)
		}
	}
}

func TestWordPieceCased(t *testing.T) {
	wp, err := NewWordPiece([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "Hello", "hello"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := wp.Encode("Hello hello", 8); !reflect.DeepEqual(got, []int64{2, 4, 5, 3}) {
		t.Errorf("cased encode = %v", got)
	}
}

func TestLoadWordPieceReadsConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\nHello\nhello\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": false}`), 0o644)
	wp, err := LoadWordPiece(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := wp.Encode("Hello", 8); !reflect.DeepEqual(got, []int64{2, 4, 3}) {
		t.Errorf("encode = %v, want the cased token", got)
	}
	if _, err := NewWordPiece([]string{"[PAD]", "a"}, true); err == nil {
		t.Error("vocabulary without special tokens accepted")
	}
}

func TestNewONNXFailsWithoutModel(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n"), 0o644)
	if _, err := NewONNX(ONNXConfig{Dir: dir}); err == nil {
		t.Fatal("no error for a folder without model.onnx")
	}
}

// TestONNXModel runs a real sentence-transformer exported to ONNX (e.g.
// all-MiniLM-L6-v2: model.onnx or onnx/model.onnx, vocab.txt,
// tokenizer_config.json) from ADMEM_ONNX_MODEL_DIR. Models are not fetched
// at run time, so it runs only when the folder is given.
func TestONNXModel(t *testing.T) {
	dir := os.Getenv("ADMEM_ONNX_MODEL_DIR")
	if dir == "" {
		t.Skip("set ADMEM_ONNX_MODEL_DIR to a sentence-transformer ONNX folder")
	}
	o, err := NewONNX(ONNXConfig{Dir: dir, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d dims", o.ID(), o.Dim())
	texts := []string{
		"I adopted a puppy from the animal shelter last week.",
		"We got a new dog from the rescue center.",
		"The quarterly tax report is due on Friday.",
	}
	vs, err := o.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || len(vs[0]) != o.Dim() {
		t.Fatalf("%d vectors of %d dims", len(vs), len(vs[0]))
	}
	if near, far := Cosine(vs[0], vs[1]), Cosine(vs[0], vs[2]); near <= far {
		t.Errorf("puppy~dog %.3f should exceed puppy~tax %.3f", near, far)
	}
	// Batching and padding must not change a text's vector.
	one, err := o.Embed(context.Background(), texts[2:])
	if err != nil {
		t.Fatal(err)
	}
	if c := Cosine(one[0], vs[2]); c < 0.9999 {
		t.Errorf("same text alone and in a batch: cosine %.6f", c)
	}
}
