package lexical_test

// The LoCoMo harness measures evidence recall@k of turn retrieval for the
// lexical ranker, the GloVe-SIF embedder and their fusion. It is a
// measurement, not a regression test, so it runs only when asked:
//
//	ADMEM_LOCOMO=1 go test ./internal/lexical -run TestLoCoMo -v
//
// ADMEM_LOCOMO_DATA overrides the data file (default: shared/data beside the
// repository), ADMEM_EMBED_FILE the word-vector file (default
// .data/embed/glove-50k.bin; the vector arms are skipped without it), and
// ADMEM_LOCOMO_ALL=1 adds the ablation arms behind the report's choices.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/lexical"
	"github.com/admem/admem/internal/locomo"
	"github.com/admem/admem/internal/testenv"
)

// docOptions choose what text of a turn is indexed.
type docOptions struct {
	speaker bool // "Caroline: ..."
	date    bool // the session's date, e.g. "8 May, 2023"
	caption bool // the image caption of shared photos
}

func docText(tu locomo.Turn, o docOptions) string {
	var b strings.Builder
	if o.speaker {
		b.WriteString(tu.Speaker + ": ")
	}
	b.WriteString(tu.Text)
	if o.caption && tu.Caption != "" {
		b.WriteString(" [shared " + tu.Caption + "]")
	}
	if o.date && tu.Day() != "" {
		b.WriteString(" (" + tu.Day() + ")") // the day, not the clock time
	}
	return b.String()
}

// ranker returns, for a conversation and question, every turn index ranked.
type ranker func(c *locomo.Conversation, ci int, q string) []lexical.Hit

var ks = []int{1, 5, 10, 25}

type result struct {
	name string
	// recall[cat][kIndex]; cat 0 is overall.
	recall [5][4]float64
	n      [5]int
}

func evaluate(convs []locomo.Conversation, name string, rank ranker) result {
	r := result{name: name}
	for ci := range convs {
		c := &convs[ci]
		for _, q := range c.Questions {
			hits := rank(c, ci, q.Text)
			ranked := make([]string, len(hits))
			for i, h := range hits {
				ranked[i] = h.ID
			}
			for ki, k := range ks {
				rec := q.RecallAt(k, ranked)
				r.recall[0][ki] += rec
				r.recall[q.Category][ki] += rec
			}
			r.n[0]++
			r.n[q.Category]++
		}
	}
	for cat := range r.recall {
		for ki := range ks {
			if r.n[cat] > 0 {
				r.recall[cat][ki] /= float64(r.n[cat])
			}
		}
	}
	return r
}

func (r result) row() string {
	return fmt.Sprintf("| %-44s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |",
		r.name, r.recall[0][0], r.recall[0][1], r.recall[0][2], r.recall[0][3],
		r.recall[1][2], r.recall[2][2], r.recall[3][2], r.recall[4][2])
}

const tableHead = "| arm | R@1 | R@5 | R@10 | R@25 | multi-hop R@10 | temporal R@10 | open R@10 | single-hop R@10 |\n|---|---|---|---|---|---|---|---|---|"

// bm25Arm indexes every conversation with the given options and ranks with
// BM25, optionally with feedback expansion.
type bm25Arm struct {
	doc      docOptions
	analyzer *lexical.Analyzer
	params   lexical.BM25Params
	feedback lexical.Feedback
}

func (a bm25Arm) ranker(convs []locomo.Conversation) ranker {
	idx := make([]*lexical.Index, len(convs))
	for ci, c := range convs {
		idx[ci] = lexical.NewIndex(a.analyzer, a.params)
		for _, tu := range c.Turns {
			if err := idx[ci].Add(tu.DiaID, docText(tu, a.doc)); err != nil {
				panic(err)
			}
		}
	}
	return func(c *locomo.Conversation, ci int, q string) []lexical.Hit {
		var hits []lexical.Hit
		if a.feedback.Terms > 0 {
			hits = idx[ci].SearchFeedback(q, 0, a.feedback)
		} else {
			hits = idx[ci].Search(q, 0)
		}
		return hits
	}
}

// layout places each turn in its session, in order, for Layout.Spread.
func layout(c *locomo.Conversation) *lexical.Layout {
	l := lexical.NewLayout()
	for i, tu := range c.Turns {
		l.Add(tu.DiaID, session(tu.DiaID), i)
	}
	return l
}

func session(id string) string { return id[:strings.IndexByte(id, ':')] }

// spread wraps a ranker with Layout.Spread.
func spread(convs []locomo.Conversation, w lexical.SpreadWeights, r ranker) ranker {
	ls := make([]*lexical.Layout, len(convs))
	for ci := range convs {
		ls[ci] = layout(&convs[ci])
	}
	return func(c *locomo.Conversation, ci int, q string) []lexical.Hit { return ls[ci].Spread(r(c, ci, q), w) }
}

// pcMode chooses how SIF's common component is obtained.
type pcMode int

const (
	pcVocab  pcMode = iota // precomputed from the vocabulary (the shipped default)
	pcNone                 // not removed
	pcCorpus               // fitted on the conversation's own turns
)

type sifArm struct {
	doc     docOptions
	a       float64
	pc      pcMode
	sentLen int // for pcVocab: the sentence length of the component (0: the file's)
}

func (a sifArm) ranker(wv *embed.WordVectors, convs []locomo.Conversation) ranker {
	opt := embed.SIFOptions{A: a.a, KeepComponent: a.pc != pcVocab}
	if a.sentLen > 0 {
		aa := a.a
		if aa == 0 {
			aa = embed.DefaultSIFA
		}
		opt.Component = embed.SIFComponent(wv, aa, a.sentLen)
	}
	e := embed.NewSIF(wv, opt)
	vecs := make([][][]float32, len(convs))
	pcs := make([][]float32, len(convs))
	for ci, c := range convs {
		texts := make([]string, len(c.Turns))
		for i, tu := range c.Turns {
			texts[i] = docText(tu, a.doc)
		}
		vs, err := e.Embed(context.Background(), texts)
		if err != nil {
			panic(err)
		}
		if a.pc == pcCorpus {
			pcs[ci] = firstPC(vs)
			for _, v := range vs {
				removePC(v, pcs[ci])
			}
		}
		vecs[ci] = vs
	}
	return func(c *locomo.Conversation, ci int, q string) []lexical.Hit {
		qv := e.EmbedOne(q)
		if a.pc == pcCorpus {
			removePC(qv, pcs[ci])
		}
		hits := make([]lexical.Hit, 0, len(c.Turns))
		for i, v := range vecs[ci] {
			hits = append(hits, lexical.Hit{ID: c.Turns[i].DiaID, Score: embed.Cosine(qv, v)})
		}
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
		return hits
	}
}

// firstPC is the top right singular vector of the (uncentred) matrix of vs,
// by power iteration, as SIF fits it on a batch.
func firstPC(vs [][]float32) []float32 {
	dim := len(vs[0])
	u := make([]float64, dim)
	for _, v := range vs {
		for j, x := range v {
			u[j] += float64(x)
		}
	}
	for it := 0; it < 200; it++ {
		next := make([]float64, dim)
		for _, v := range vs {
			var d float64
			for j, x := range v {
				d += float64(x) * u[j]
			}
			for j, x := range v {
				next[j] += d * float64(x)
			}
		}
		var n float64
		for _, x := range next {
			n += x * x
		}
		n = math.Sqrt(n)
		for j := range next {
			next[j] /= n
		}
		u = next
	}
	out := make([]float32, dim)
	for j, x := range u {
		out[j] = float32(x)
	}
	return out
}

func removePC(v, pc []float32) {
	var d float32
	for j := range v {
		d += v[j] * pc[j]
	}
	for j := range v {
		v[j] -= d * pc[j]
	}
	embed.Normalize(v)
}

type fusionArm struct {
	rrfK     float64 // 0: score fusion
	wLex     float64
	wVec     float64
	vecDepth int // vector hits that enter the fusion (0: all)
}

func (f fusionArm) ranker(lex, vec ranker) ranker {
	return func(c *locomo.Conversation, ci int, q string) []lexical.Hit {
		l, v := lex(c, ci, q), vec(c, ci, q)
		if f.vecDepth > 0 && len(v) > f.vecDepth {
			v = v[:f.vecDepth]
		}
		if f.rrfK > 0 {
			return lexical.FuseRRF(f.rrfK, lexical.Ranked{Weight: f.wLex, Hits: l}, lexical.Ranked{Weight: f.wVec, Hits: v})
		}
		return lexical.FuseScores(lexical.Ranked{Weight: f.wLex, Hits: l}, lexical.Ranked{Weight: f.wVec, Hits: v})
	}
}

func repoPath(rel string) string {
	// The package directory is internal/lexical; the repository root is two up.
	return filepath.Join("..", "..", rel)
}

func TestLoCoMo(t *testing.T) {
	if os.Getenv("ADMEM_LOCOMO") == "" {
		t.Skip("measurement: set ADMEM_LOCOMO=1 to run")
	}
	path := testenv.SharedData(t, "ADMEM_LOCOMO_DATA", "locomo/locomo-dev.json")
	convs, skipped, err := locomo.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	nq, nt := 0, 0
	for _, c := range convs {
		nq += len(c.Questions)
		nt += len(c.Turns)
	}
	t.Logf("%s: %d conversations, %d turns, %d questions (categories 1-4), %d malformed or unknown evidence ids skipped",
		path, len(convs), nt, nq, skipped)
	all := os.Getenv("ADMEM_LOCOMO_ALL") != ""

	plain := docOptions{}
	full := docOptions{speaker: true, date: true, caption: true}
	noStem := &lexical.Analyzer{StopWords: lexical.EnglishStopWords}
	fb := lexical.Feedback{Docs: 5, Terms: 10, Weight: 0.3}
	var results []result
	run := func(name string, r ranker) ranker {
		results = append(results, evaluate(convs, name, r))
		return r
	}
	ctx := lexical.DefaultSpread

	bm25Base := run("bm25: turn text (stop words, Porter2, k1 1.2 b 0.75)", bm25Arm{doc: plain, params: lexical.DefaultBM25}.ranker(convs))
	if all {
		run("bm25: turn text, no stemming", bm25Arm{doc: plain, analyzer: noStem, params: lexical.DefaultBM25}.ranker(convs))
		run("bm25: +speaker", bm25Arm{doc: docOptions{speaker: true}, params: lexical.DefaultBM25}.ranker(convs))
		run("bm25: +caption", bm25Arm{doc: docOptions{caption: true}, params: lexical.DefaultBM25}.ranker(convs))
		run("bm25: +date", bm25Arm{doc: docOptions{date: true}, params: lexical.DefaultBM25}.ranker(convs))
	}
	bm25Full := run("bm25: full doc (speaker+caption+date)", bm25Arm{doc: full, params: lexical.DefaultBM25}.ranker(convs))
	if all {
		for _, p := range []lexical.BM25Params{{K1: 0.9, B: 0.4}, {K1: 1.2, B: 0.5}, {K1: 1.5, B: 0.75}, {K1: 2.0, B: 0.75}, {K1: 1.2, B: 1}} {
			run(fmt.Sprintf("bm25: full doc, k1 %.1f b %.2f", p.K1, p.B), bm25Arm{doc: full, params: p}.ranker(convs))
		}
		run("bm25: full doc, feedback 5 docs/10 terms/0.3", bm25Arm{doc: full, params: lexical.DefaultBM25, feedback: fb}.ranker(convs))
		run("bm25: full doc, spread neighbours 0.35 only", spread(convs, lexical.SpreadWeights{Prev: 0.35, Next: 0.35}, bm25Full))
		run("bm25: full doc, spread session 0.2 only", spread(convs, lexical.SpreadWeights{Group: 0.2}, bm25Full))
		run("bm25: full doc, spread 0.5/0.5/0.2", spread(convs, lexical.SpreadWeights{Prev: 0.5, Next: 0.5, Group: 0.2}, bm25Full))
		run("bm25: full doc, spread 0.2/0.2/0.1", spread(convs, lexical.SpreadWeights{Prev: 0.2, Next: 0.2, Group: 0.1}, bm25Full))
		run("bm25: full doc, k1 0.9 b 0.4 + spread", spread(convs, ctx, bm25Arm{doc: full, params: lexical.BM25Params{K1: 0.9, B: 0.4}}.ranker(convs)))
		run("bm25: full doc, feedback + spread", spread(convs, ctx, bm25Arm{doc: full, params: lexical.DefaultBM25, feedback: fb}.ranker(convs)))
	}
	run("bm25: full doc + spread 0.35/0.35/0.2", spread(convs, ctx, bm25Full))

	wvPath := os.Getenv("ADMEM_EMBED_FILE")
	if wvPath == "" {
		wvPath = repoPath(".data/embed/glove-50k.bin")
	}
	wv, err := embed.LoadWordVectors(wvPath)
	if err != nil {
		t.Logf("vector arms skipped: %v", err)
	} else {
		sifText := run("glove-sif: turn text (a 1e-3, vocabulary PC)", sifArm{doc: plain}.ranker(wv, convs))
		if all {
			run("glove-sif: turn text, no PC removal", sifArm{doc: plain, pc: pcNone}.ranker(wv, convs))
			run("glove-sif: turn text, PC fitted per conversation", sifArm{doc: plain, pc: pcCorpus}.ranker(wv, convs))
			run("glove-sif: turn text, a 1e-4", sifArm{doc: plain, a: 1e-4}.ranker(wv, convs))
			run("glove-sif: turn text, a 1e-2", sifArm{doc: plain, a: 1e-2}.ranker(wv, convs))
			for _, n := range []int{1, 1000} {
				run(fmt.Sprintf("glove-sif: turn text, vocabulary PC for %d-word sentences", n), sifArm{doc: plain, sentLen: n}.ranker(wv, convs))
			}
		}
		sifFull := run("glove-sif: full doc", sifArm{doc: full}.ranker(wv, convs))
		if all {
			run("glove-sif: full doc + spread", spread(convs, ctx, sifFull))
		}
		run("fusion: DESIGN.md (rrf k 60, bm25 1 + sif 0.5, turn text)", fusionArm{rrfK: 60, wLex: 1, wVec: 0.5}.ranker(bm25Base, sifText))
		if all {
			run("fusion: rrf k 60 1/0.5, full doc", fusionArm{rrfK: 60, wLex: 1, wVec: 0.5}.ranker(bm25Full, sifFull))
			run("fusion: rrf k 60 1/0.5, full doc + spread", spread(convs, ctx, fusionArm{rrfK: 60, wLex: 1, wVec: 0.5}.ranker(bm25Full, sifFull)))
			run("fusion: rrf k 10 1/0.5, full doc + spread", spread(convs, ctx, fusionArm{rrfK: 10, wLex: 1, wVec: 0.5}.ranker(bm25Full, sifFull)))
			for _, w := range []float64{0.2, 0.35, 0.75} {
				run(fmt.Sprintf("fusion: scores 1/%.2f, full doc + spread", w), spread(convs, ctx, fusionArm{wLex: 1, wVec: w}.ranker(bm25Full, sifFull)))
			}
		}
		run("fusion: scores 1/0.5, full doc", fusionArm{wLex: 1, wVec: 0.5}.ranker(bm25Full, sifFull))
		run("hybrid: scores 1/0.5, full doc + spread", spread(convs, ctx, fusionArm{wLex: 1, wVec: 0.5}.ranker(bm25Full, sifFull)))
	}

	var b strings.Builder
	b.WriteString("\nevidence recall@k, LoCoMo categories 1-4\n" + tableHead + "\n" + rows(results))
	fmt.Fprintf(&b, "questions per category: multi-hop %d, temporal %d, open-domain %d, single-hop %d\n",
		results[0].n[1], results[0].n[2], results[0].n[3], results[0].n[4])
	t.Log(b.String())
	if out := os.Getenv("ADMEM_LOCOMO_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rows(rs []result) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.row() + "\n")
	}
	return b.String()
}
