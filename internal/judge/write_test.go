package judge

import (
	"strings"
	"testing"

	"github.com/admem/admem"
)

func TestDecideWrite(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		existing []string // contents, ids e0, e1, …
		keys     []string // optional keys of existing, same order
		write    string
		key      string
		op       admem.WriteOp
		match    string // expected matched id ("" for ADD)
		reason   string // substring of the reason
	}{
		// Near-duplicates: NOOP.
		{name: "identical", existing: []string{"The user prefers dark mode in the IDE."}, write: "The user prefers dark mode in the IDE.", op: admem.OpNoop, match: "e0", reason: "near-duplicate"},
		{name: "case and punctuation", existing: []string{"Alice's flight to Lisbon leaves on Friday."}, write: "alice's flight to lisbon leaves on friday", op: admem.OpNoop, match: "e0"},
		{name: "stop words and inflection", existing: []string{"User prefers dark mode"}, write: "The user preferred the dark mode", op: admem.OpNoop, match: "e0"},
		{name: "word order", existing: []string{"Customer is allergic to peanuts and shellfish"}, write: "Customer is allergic to shellfish and peanuts", op: admem.OpNoop, match: "e0"},
		{name: "duplicate among several", existing: []string{"The API rate limit is 100 requests per minute", "Billing runs on the first of the month", "Support hours are 9 to 5 CET"}, write: "Billing runs on the first day of each month", op: admem.OpNoop, match: "e1"},

		// Contradictions: UPDATE the entry on the same subject.
		{name: "negation flip", existing: []string{"The user likes cilantro in their food."}, write: "The user does not like cilantro in their food.", op: admem.OpUpdate, match: "e0", reason: "negation"},
		{name: "negation removed", existing: []string{"Jordan doesn't drink coffee"}, write: "Jordan drinks coffee every morning", op: admem.OpUpdate, match: "e0", reason: "negation"},
		{name: "no longer", existing: []string{"Sam works from the Berlin office"}, write: "Sam no longer works from the Berlin office", op: admem.OpUpdate, match: "e0", reason: "negation"},
		{name: "number changed", existing: []string{"The API rate limit is 100 requests per minute"}, write: "The API rate limit is 250 requests per minute", op: admem.OpUpdate, match: "e0", reason: "number"},
		{name: "age changed", existing: []string{"Maria is 34 years old"}, write: "Maria is 35 years old", op: admem.OpUpdate, match: "e0", reason: "number"},
		{name: "moved city", existing: []string{"The user lives in Berlin."}, write: "The user moved to Paris last month.", op: admem.OpUpdate, match: "e0", reason: "location"},
		{name: "preference changed", existing: []string{"User prefers dark mode"}, write: "User prefers light mode", op: admem.OpUpdate, match: "e0", reason: "preference"},
		{name: "favourite changed", existing: []string{"Priya's favorite programming language is Python"}, write: "Priya's favorite programming language is Rust now", op: admem.OpUpdate, match: "e0", reason: "contradiction"},
		{name: "new employer", existing: []string{"Tom works at Acme Corp as an engineer"}, write: "Tom works at Globex as an engineer", op: admem.OpUpdate, match: "e0", reason: "contradiction"},
		{name: "contradiction picks the right entry", existing: []string{"The user has two cats", "The user lives in Berlin", "The user enjoys hiking"}, write: "The user lives in Munich", op: admem.OpUpdate, match: "e1", reason: "location"},

		// Same key: UPDATE (or NOOP when nothing changed).
		{name: "same key new value", existing: []string{"Preferred language: German"}, keys: []string{"user.preferred_language"}, write: "Preferred language: French", key: "user.preferred_language", op: admem.OpUpdate, match: "e0", reason: "same key"},
		{name: "same key same value", existing: []string{"Preferred language: German"}, keys: []string{"user.preferred_language"}, write: "preferred language: german", key: "user.preferred_language", op: admem.OpNoop, match: "e0"},
		{name: "different keys never merge", existing: []string{"Preferred language: German"}, keys: []string{"user.ui_language"}, write: "Preferred language: German", key: "user.preferred_language", op: admem.OpAdd},

		// Refinement: UPDATE with more detail.
		{name: "refinement", existing: []string{"User likes hiking"}, write: "User likes hiking in the Alps on weekends", op: admem.OpUpdate, match: "e0", reason: "refinement"},

		// Different facts: ADD.
		{name: "nothing stored", write: "The deploy key rotates every 90 days", op: admem.OpAdd},
		{name: "unrelated", existing: []string{"The user lives in Berlin"}, write: "The user's laptop is a ThinkPad", op: admem.OpAdd},
		{name: "likes are not exclusive", existing: []string{"User likes Python"}, write: "User likes Go", op: admem.OpAdd},
		{name: "different preference objects", existing: []string{"User prefers dark mode"}, write: "User prefers tea in the morning", op: admem.OpAdd},
		{name: "someone else's city", existing: []string{"The user lives in Berlin"}, write: "The user's sister lives in Paris", op: admem.OpAdd},
		{name: "different people", existing: []string{"Alice lives in Berlin"}, write: "Bob lives in Paris", op: admem.OpAdd},
		{name: "related but new", existing: []string{"Caroline went to an LGBTQ support group on Tuesday"}, write: "Caroline is researching adoption agencies", op: admem.OpAdd},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var cands []WriteCandidate
			for i, e := range c.existing {
				wc := WriteCandidate{ID: "e" + string(rune('0'+i)), Content: e}
				if i < len(c.keys) {
					wc.Key = c.keys[i]
				}
				cands = append(cands, wc)
			}
			d := DecideWrite(WriteInput{Kind: admem.KindFact, Key: c.key, Content: c.write}, cands, DefaultWriteThresholds)
			if d.Op != c.op || d.MatchID != c.match {
				t.Fatalf("%q: got %s (match %q, reason %q, scores %v), want %s match %q", c.write, d.Op, d.MatchID, d.Reason, d.Scores, c.op, c.match)
			}
			if c.reason != "" && !strings.Contains(d.Reason, c.reason) {
				t.Errorf("reason %q, want it to mention %q", d.Reason, c.reason)
			}
		})
	}
}

func TestDecideWriteUsesVectorsForParaphrases(t *testing.T) {
	t.Parallel()
	cands := []WriteCandidate{{ID: "e0", Content: "The customer wants invoices sent monthly by email", Vector: []float32{1, 0, 0.1}}}
	in := WriteInput{Content: "The customer wants monthly invoices sent to their email", Vector: []float32{1, 0, 0.12}}
	if d := DecideWrite(in, cands, DefaultWriteThresholds); d.Op != admem.OpNoop || d.Scores["cosine"] < 0.95 {
		t.Fatalf("paraphrase with agreeing vectors: %+v", d)
	}
	// Antonyms sit close in word-vector space: a changed value stays a contradiction.
	pref := []WriteCandidate{{ID: "p", Content: "The user prefers dark mode in the editor.", Vector: []float32{1, 0, 0.1}}}
	if d := DecideWrite(WriteInput{Content: "The user prefers light mode in the editor.", Vector: []float32{1, 0, 0.11}}, pref, DefaultWriteThresholds); d.Op != admem.OpUpdate {
		t.Fatalf("changed preference with close vectors: %+v", d)
	}
	in.Vector = []float32{0, 1, 0}
	if d := DecideWrite(in, cands, DefaultWriteThresholds); d.Op == admem.OpNoop && d.Scores["jaccard"] < DefaultWriteThresholds.Duplicate {
		t.Fatalf("paraphrase with disagreeing vectors must not be a duplicate by vectors: %+v", d)
	}
}

func TestDecideWriteIsDeterministic(t *testing.T) {
	t.Parallel()
	cands := []WriteCandidate{{ID: "a", Content: "User prefers dark mode"}, {ID: "b", Content: "User prefers dark mode"}}
	first := DecideWrite(WriteInput{Content: "user prefers dark mode"}, cands, DefaultWriteThresholds)
	for i := 0; i < 20; i++ {
		if d := DecideWrite(WriteInput{Content: "user prefers dark mode"}, cands, DefaultWriteThresholds); d.MatchID != first.MatchID {
			t.Fatalf("run %d matched %s, first %s", i, d.MatchID, first.MatchID)
		}
	}
}
