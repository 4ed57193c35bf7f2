package lexical

import "math"

// Ranked is one ranked result list (best first) with the weight it gets in a
// fusion.
type Ranked struct {
	Weight float64
	Hits   []Hit
}

// DefaultRRFK is the reciprocal-rank constant of Cormack et al. (2009).
const DefaultRRFK = 60

// FuseRRF merges ranked lists by weighted reciprocal rank:
// score(d) = Σ wᵢ / (k + rankᵢ(d)), ranks from 1. It needs no score
// calibration between lists, which is why it is the safe default for mixing
// BM25 with cosine similarity.
func FuseRRF(k float64, lists ...Ranked) []Hit {
	scores := map[string]float64{}
	for _, l := range lists {
		for i, h := range l.Hits {
			scores[h.ID] += l.Weight / (k + float64(i+1))
		}
	}
	return collect(scores)
}

// FuseScores merges lists by a weighted sum of min-max normalised scores
// (each list's best becomes 1, its worst 0); a document missing from a list
// gets 0 from it. Unlike FuseRRF it keeps how far ahead a top hit is, which
// helps when one signal is confident, but it is sensitive to how deep each
// list is cut.
func FuseScores(lists ...Ranked) []Hit {
	scores := map[string]float64{}
	for _, l := range lists {
		if len(l.Hits) == 0 {
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, h := range l.Hits {
			lo, hi = math.Min(lo, h.Score), math.Max(hi, h.Score)
		}
		for _, h := range l.Hits {
			x := 1.0
			if hi > lo {
				x = (h.Score - lo) / (hi - lo)
			}
			scores[h.ID] += l.Weight * x
		}
	}
	return collect(scores)
}

func collect(scores map[string]float64) []Hit {
	out := make([]Hit, 0, len(scores))
	for id, s := range scores {
		out = append(out, Hit{ID: id, Score: s})
	}
	sortHits(out)
	return out
}
