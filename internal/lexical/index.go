package lexical

import (
	"container/heap"
	"fmt"
	"sort"
	"sync"
)

// Hit is one ranked document.
type Hit struct {
	ID    string
	Score float64
}

// Index is an in-memory BM25 index. It is safe for concurrent use; searches
// run in parallel with each other and wait for writes.
type Index struct {
	params   BM25Params
	analyzer *Analyzer

	mu       sync.RWMutex
	ids      []string
	byID     map[string]int32
	lens     []int32
	terms    [][]termCount // forward index, for feedback expansion
	total    int64
	postings map[string][]posting
}

type posting struct {
	doc int32
	tf  int32
}

type termCount struct {
	term string
	tf   int32
}

// NewIndex returns an empty index that analyses with a (DefaultAnalyzer when
// nil) and scores with p.
func NewIndex(a *Analyzer, p BM25Params) *Index {
	if a == nil {
		a = DefaultAnalyzer
	}
	return &Index{params: p, analyzer: a, byID: map[string]int32{}, postings: map[string][]posting{}}
}

// Analyzer returns the analyser the index uses for documents and queries.
func (ix *Index) Analyzer() *Analyzer { return ix.analyzer }

// Len returns the number of documents.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.ids)
}

// Add analyses text and indexes it under id.
func (ix *Index) Add(id, text string) error {
	return ix.AddTerms(id, ix.analyzer.Analyze(text))
}

// AddTerms indexes already analysed terms under id. IDs are unique: adding
// an existing id is an error, since silently double-counting would skew
// every document frequency.
func (ix *Index) AddTerms(id string, terms []string) error {
	counts := make(map[string]int32, len(terms))
	for _, t := range terms {
		counts[t]++
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, dup := ix.byID[id]; dup {
		return fmt.Errorf("lexical: document %q already indexed", id)
	}
	doc := int32(len(ix.ids))
	ix.ids = append(ix.ids, id)
	ix.byID[id] = doc
	ix.lens = append(ix.lens, int32(len(terms)))
	ix.total += int64(len(terms))
	tcs := make([]termCount, 0, len(counts))
	for t, c := range counts {
		ix.postings[t] = append(ix.postings[t], posting{doc: doc, tf: c})
		tcs = append(tcs, termCount{t, c})
	}
	// Map order is random; sorting keeps feedback expansion deterministic.
	sort.Slice(tcs, func(i, j int) bool { return tcs[i].term < tcs[j].term })
	ix.terms = append(ix.terms, tcs)
	return nil
}

// Remove drops the document id from the index and reports whether it was
// there. Document count, total length and every document frequency change
// exactly as if the document had never been added, so scores match a fresh
// index of the remaining documents. The last document takes the removed
// one's slot, which costs a walk of the posting lists of both documents'
// terms rather than of the whole index.
func (ix *Index) Remove(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	d, ok := ix.byID[id]
	if !ok {
		return false
	}
	for _, tc := range ix.terms[d] {
		ps := ix.postings[tc.term]
		for i := range ps {
			if ps[i].doc == d {
				ps[i] = ps[len(ps)-1]
				ps = ps[:len(ps)-1]
				break
			}
		}
		if len(ps) == 0 {
			delete(ix.postings, tc.term)
		} else {
			ix.postings[tc.term] = ps
		}
	}
	ix.total -= int64(ix.lens[d])
	last := int32(len(ix.ids) - 1)
	if d != last {
		for _, tc := range ix.terms[last] {
			ps := ix.postings[tc.term]
			for i := range ps {
				if ps[i].doc == last {
					ps[i].doc = d
					break
				}
			}
		}
		ix.ids[d], ix.lens[d], ix.terms[d] = ix.ids[last], ix.lens[last], ix.terms[last]
		ix.byID[ix.ids[d]] = d
	}
	delete(ix.byID, id)
	ix.ids, ix.lens = ix.ids[:last], ix.lens[:last]
	ix.terms[last] = nil
	ix.terms = ix.terms[:last]
	return true
}

// Replace indexes text under id in place of the document id had, if any.
func (ix *Index) Replace(id, text string) error {
	ix.Remove(id)
	return ix.Add(id, text)
}

// DocFreq returns how many documents contain term (an analysed term).
func (ix *Index) DocFreq(term string) int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.postings[term])
}

// Search ranks documents for a query text and returns the best k (all
// matching documents when k <= 0).
func (ix *Index) Search(query string, k int) []Hit {
	return ix.SearchTerms(ix.analyzer.Analyze(query), k)
}

// SearchTerms ranks documents for analysed query terms; each distinct term
// counts once.
func (ix *Index) SearchTerms(terms []string, k int) []Hit {
	q := make(map[string]float64, len(terms))
	for _, t := range terms {
		q[t] = 1
	}
	return ix.SearchWeighted(q, k)
}

// SearchWeighted ranks documents for a weighted query: each term's BM25
// contribution is multiplied by its weight; terms of weight ≤ 0 are ignored.
// Feedback-expanded queries use it.
func (ix *Index) SearchWeighted(query map[string]float64, k int) []Hit {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := len(ix.ids)
	if n == 0 {
		return nil
	}
	avg := float64(ix.total) / float64(n)
	// A dense score array beats a map once a query touches more than a few
	// documents, which any common term does.
	scores := make([]float64, n)
	var touched []int32
	for t, w := range query {
		ps := ix.postings[t]
		if len(ps) == 0 || w <= 0 {
			continue
		}
		idf := IDF(len(ps), n)
		for _, p := range ps {
			if scores[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			scores[p.doc] += w * ix.params.TermScore(int(p.tf), int(ix.lens[p.doc]), avg, idf)
		}
	}
	hits := make([]Hit, 0, len(touched))
	for _, d := range touched {
		hits = append(hits, Hit{ID: ix.ids[d], Score: scores[d]})
	}
	return topK(hits, k)
}

// topK returns the k best hits, best first (all when k <= 0). A bounded
// min-heap keeps it O(n log k) for the usual small k.
func topK(hits []Hit, k int) []Hit {
	if k <= 0 || k >= len(hits) {
		sortHits(hits)
		return hits
	}
	h := hitHeap(hits[:0:0])
	for _, x := range hits {
		if len(h) < k {
			heap.Push(&h, x)
		} else if better(x, h[0]) {
			h[0] = x
			heap.Fix(&h, 0)
		}
	}
	out := []Hit(h)
	sortHits(out)
	return out
}

// better orders hits by score, then by id so that ties rank deterministically.
func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}

// hitHeap is a min-heap: its root is the worst of the kept hits.
type hitHeap []Hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// sortHits orders by score, then by id so that ties rank deterministically.
func sortHits(hits []Hit) {
	sort.Slice(hits, func(i, j int) bool { return better(hits[i], hits[j]) })
}

// Feedback configures pseudo-relevance feedback (RM3-style): the top Docs
// results of the original query are assumed relevant, their Terms most
// characteristic terms are added to the query, and the expanded query is
// Weight parts feedback to 1−Weight parts original.
type Feedback struct {
	Docs   int
	Terms  int
	Weight float64
}

// SearchFeedback runs the query, expands it from its top results (see
// Feedback) and runs the expanded query.
func (ix *Index) SearchFeedback(query string, k int, fb Feedback) []Hit {
	terms := ix.analyzer.Analyze(query)
	first := ix.SearchTerms(terms, fb.Docs)
	if len(first) == 0 || fb.Terms <= 0 || fb.Weight <= 0 {
		return ix.SearchTerms(terms, k)
	}
	return ix.SearchWeighted(ix.Expand(terms, first, fb), k)
}

// Expand builds the RM3 query: original terms with weight (1−w)/|q| each,
// plus the fb.Terms terms with the highest relevance-model weight
// Σ_d P(t|d)·P(d|q)·idf(t) over the feedback documents, scaled to sum to w.
// The idf factor keeps generic terms of chatty documents out of the query.
func (ix *Index) Expand(terms []string, top []Hit, fb Feedback) map[string]float64 {
	q := map[string]float64{}
	for _, t := range terms {
		q[t] = 1
	}
	for t := range q {
		q[t] = (1 - fb.Weight) / float64(len(q))
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := len(ix.ids)
	var z float64
	for _, h := range top[:min(len(top), fb.Docs)] {
		z += h.Score
	}
	if z == 0 {
		return q
	}
	rel := map[string]float64{}
	for _, h := range top[:min(len(top), fb.Docs)] {
		d, ok := ix.byID[h.ID]
		if !ok || ix.lens[d] == 0 {
			continue
		}
		for _, tc := range ix.terms[d] {
			rel[tc.term] += float64(tc.tf) / float64(ix.lens[d]) * h.Score / z * IDF(len(ix.postings[tc.term]), n)
		}
	}
	cand := make([]Hit, 0, len(rel))
	for t, w := range rel {
		cand = append(cand, Hit{ID: t, Score: w})
	}
	sortHits(cand)
	cand = cand[:min(len(cand), fb.Terms)]
	var sum float64
	for _, c := range cand {
		sum += c.Score
	}
	for _, c := range cand {
		q[c.ID] += fb.Weight * c.Score / sum
	}
	return q
}
