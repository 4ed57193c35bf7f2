package embed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"
)

// ONNXConfig configures a sentence-transformer run from a local folder.
type ONNXConfig struct {
	// Dir holds model.onnx (or onnx/model.onnx) and vocab.txt, and
	// optionally tokenizer_config.json: the layout of a sentence-transformers
	// model exported to ONNX.
	Dir string
	// MaxTokens truncates each text, [CLS] and [SEP] included; 0 means 256
	// (all-MiniLM-L6-v2 was trained on 256).
	MaxTokens int
	// BatchSize is the most texts per model call; 0 means 16.
	BatchSize int
}

// ONNX embeds with a BERT-style sentence transformer: WordPiece ids through
// the ONNX graph, mean pooling of the last hidden state over real tokens,
// L2 normalisation. The graph runs on GoMLX's pure-Go backend, so the
// service needs no C library. It is safe for concurrent use.
type ONNX struct {
	cfg    ONNXConfig
	tok    *WordPiece
	id     string
	dim    int
	inputs []string // the model's input names, in the order they are fed
	output string

	mu   sync.Mutex // GoMLX compiles a graph per new input shape
	exec *mlctx.Exec
}

// NewONNX loads the model and tokenizer from cfg.Dir and embeds one probe
// text to learn the dimension, so a broken model fails at start.
func NewONNX(cfg ONNXConfig) (*ONNX, error) {
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 256
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 16
	}
	tok, err := LoadWordPiece(cfg.Dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.Dir, "model.onnx")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		path = filepath.Join(cfg.Dir, "onnx", "model.onnx")
	}
	model, err := onnx.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("embed: onnx: %w", err)
	}
	o := &ONNX{cfg: cfg, tok: tok}
	names, _ := model.Inputs()
	for _, n := range names {
		switch n {
		case "input_ids", "attention_mask", "token_type_ids":
			o.inputs = append(o.inputs, n)
		default:
			return nil, fmt.Errorf("embed: onnx: unsupported model input %q", n)
		}
	}
	outs, _ := model.Outputs()
	if len(outs) == 0 {
		return nil, errors.New("embed: onnx: model has no outputs")
	}
	// Token embeddings are pooled here; a model whose first output is
	// already pooled ("sentence_embedding") is used as is.
	o.output = outs[0]
	for _, n := range outs {
		if n == "last_hidden_state" || n == "token_embeddings" {
			o.output = n
		}
	}
	backend, err := newGoBackend()
	if err != nil {
		return nil, err
	}
	ctx := mlctx.New()
	if err := catch(func() error { return model.VariablesToContext(ctx) }); err != nil {
		return nil, fmt.Errorf("embed: onnx: load weights: %w", err)
	}
	o.exec, err = mlctx.NewExec(backend, ctx, func(ctx *mlctx.Context, in []*graph.Node) []*graph.Node {
		feed := make(map[string]*graph.Node, len(in))
		for i, n := range o.inputs {
			feed[n] = in[i]
		}
		return model.CallGraph(ctx, in[0].Graph(), feed, o.output)
	})
	if err != nil {
		return nil, fmt.Errorf("embed: onnx: %w", err)
	}
	probe, err := o.run([]string{"probe"})
	if err != nil {
		return nil, err
	}
	o.dim = len(probe[0])
	o.id = fmt.Sprintf("onnx-%s-%dd", filepath.Base(filepath.Clean(cfg.Dir)), o.dim)
	return o, nil
}

func newGoBackend() (b backends.Backend, err error) {
	err = catch(func() error {
		var e error
		b, e = backends.NewWithConfig(simplego.BackendName)
		return e
	})
	if err != nil {
		return nil, fmt.Errorf("embed: onnx: backend: %w", err)
	}
	return b, nil
}

// catch turns GoMLX's panics (its way of reporting graph errors) into errors.
func catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return fn()
}

// ID names the space by model folder and dimension.
func (o *ONNX) ID() string { return o.id }

// Dim is the model's embedding size.
func (o *ONNX) Dim() int { return o.dim }

// Embed returns one unit vector per text.
func (o *ONNX) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += o.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		vs, err := o.run(texts[i:min(i+o.cfg.BatchSize, len(texts))])
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

// bucket rounds n up to a power of two (at least min) so that GoMLX, which
// compiles one program per input shape, sees few distinct shapes.
func bucket(n, lo int) int {
	b := lo
	for b < n {
		b *= 2
	}
	return b
}

func (o *ONNX) run(texts []string) ([][]float32, error) {
	enc := make([][]int64, len(texts))
	longest := 0
	for i, t := range texts {
		enc[i] = o.tok.Encode(t, o.cfg.MaxTokens)
		longest = max(longest, len(enc[i]))
	}
	seq := min(bucket(longest, 16), max(o.cfg.MaxTokens, longest))
	rows := bucket(len(texts), 1)
	ids := make([][]int64, rows)
	mask := make([][]int64, rows)
	types := make([][]int64, rows)
	for r := 0; r < rows; r++ {
		ids[r] = make([]int64, seq)
		mask[r] = make([]int64, seq)
		types[r] = make([]int64, seq)
		for j := range ids[r] {
			ids[r][j] = o.tok.pad
		}
		if r >= len(enc) {
			// Padding rows still need one attended token, or attention
			// softmax divides by zero; their output is discarded.
			ids[r][0], mask[r][0] = o.tok.cls, 1
			continue
		}
		copy(ids[r], enc[r])
		for j := range enc[r] {
			mask[r][j] = 1
		}
	}
	args := make([]any, len(o.inputs))
	for i, n := range o.inputs {
		switch n {
		case "input_ids":
			args[i] = ids
		case "attention_mask":
			args[i] = mask
		case "token_type_ids":
			args[i] = types
		}
	}
	var res []*tensors.Tensor
	err := catch(func() error {
		o.mu.Lock()
		defer o.mu.Unlock()
		var e error
		res, e = o.exec.Exec(args...)
		return e
	})
	if err != nil {
		return nil, fmt.Errorf("embed: onnx: run: %w", err)
	}
	if len(res) != 1 {
		return nil, fmt.Errorf("embed: onnx: %d outputs, want 1", len(res))
	}
	dims := res[0].Shape().Dimensions
	flat, err := tensors.CopyFlatData[float32](res[0])
	if err != nil {
		return nil, fmt.Errorf("embed: onnx: output: %w", err)
	}
	out := make([][]float32, len(texts))
	switch len(dims) {
	case 3: // [batch, seq, hidden]: mean over the attended tokens
		h := dims[2]
		for r := range out {
			v := make([]float32, h)
			var n float32
			for s := 0; s < dims[1]; s++ {
				if mask[r][s] == 0 {
					continue
				}
				n++
				row := flat[(r*dims[1]+s)*h : (r*dims[1]+s+1)*h]
				for k, x := range row {
					v[k] += x
				}
			}
			for k := range v {
				v[k] /= n
			}
			Normalize(v)
			out[r] = v
		}
	case 2: // [batch, hidden]: already pooled
		h := dims[1]
		for r := range out {
			v := append([]float32(nil), flat[r*h:(r+1)*h]...)
			Normalize(v)
			out[r] = v
		}
	default:
		return nil, fmt.Errorf("embed: onnx: output %q has shape %v", o.output, dims)
	}
	return out, nil
}
