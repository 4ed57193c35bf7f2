package recall

import (
	"fmt"
	"strings"
	"testing"

	"github.com/admem/admem"
)

func TestPackNeverExceedsTheBudget(t *testing.T) {
	var cands []Item
	for i := 0; i < 40; i++ {
		kind := []admem.EntryKind{admem.KindMistake, admem.KindProcedure, admem.KindFact}[i%3]
		cands = append(cands, Item{ID: fmt.Sprint(i), Kind: kind, Score: float64(100 - i),
			Content: fmt.Sprintf("item %d: %s", i, strings.Repeat("refund_order(order_id={order}) fails with \"amount exceeds\". ", 1+i%4))})
	}
	for _, budget := range []int{MinBudget, 120, 500, DefaultBudget, 5000} {
		res, err := pack(cands, budget)
		if err != nil {
			t.Fatal(err)
		}
		n, err := CountTokens(res.Text)
		if err != nil {
			t.Fatal(err)
		}
		if n != res.Tokens || n > budget {
			t.Fatalf("budget %d: text has %d tokens, reported %d", budget, n, res.Tokens)
		}
		// Best first: a skipped item is never ranked above a kept one of the same size class.
		for i := 1; i < len(res.Items); i++ {
			if res.Items[i].Score > res.Items[i-1].Score {
				t.Fatalf("budget %d: items out of rank order", budget)
			}
		}
		if budget >= DefaultBudget && len(res.Items) < 10 {
			t.Fatalf("budget %d packed only %d items", budget, len(res.Items))
		}
	}
	// Sections: mistakes first, then procedures, then facts.
	res, _ := pack(cands[:3], DefaultBudget)
	m, p, f := strings.Index(res.Text, "Mistakes to avoid:"), strings.Index(res.Text, "Procedures that worked:"), strings.Index(res.Text, "Facts:")
	if m < 0 || p < m || f < p {
		t.Fatalf("sections out of order:\n%s", res.Text)
	}
}

func TestPackWithNothingFitting(t *testing.T) {
	res, err := pack([]Item{{ID: "a", Kind: admem.KindFact, Content: strings.Repeat("word ", 500)}}, MinBudget)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 0 || res.Text != "" || res.Tokens != 0 || res.Items == nil {
		t.Fatalf("%+v", res)
	}
}

func TestCountTokensIsBPE(t *testing.T) {
	// cl100k_base: "hello world" is two tokens; characters/4 would say 3.
	n, err := CountTokens("hello world")
	if err != nil || n != 2 {
		t.Fatalf("CountTokens = %d, %v", n, err)
	}
}

// The count pack reports is the whole block's, with lines whose ends and
// starts could tempt the tokenizer to merge across them: punctuation and
// digits at the end, multi-line contents, leading and trailing white
// space, carriage returns, non-Latin scripts, emoji, empty contents, all
// sections including the quarantined one.
func TestPackCountsTheBlockExactly(t *testing.T) {
	awkward := []string{
		"refund_order(order_id=42) fails.", "ends with digits 123", "ends with a colon:", "  leading spaces", "trailing spaces   ",
		"two\nlines", "a line\n\n\nwith gaps\n", "carriage\r\nreturn\r", "", "-", "'s 've 'll", "naïve café — “quoted”",
		"日本語のテキスト。", "emoji 🚀🔥", "tabs\tand\ttabs\t", "$ sudo rm -rf /tmp/x && echo ok;", "\n", "mixed 12ab34 !!!",
	}
	kinds := []admem.EntryKind{admem.KindMistake, admem.KindProcedure, admem.KindFact, admem.EntryKind("preference")}
	for trial := 0; trial < 200; trial++ {
		var cands []Item
		for i := 0; i < 1+trial%13; i++ {
			c := Item{ID: fmt.Sprint(i), Kind: kinds[(trial+i)%len(kinds)], Score: float64(100 - i),
				Content: awkward[(trial*7+i*3)%len(awkward)] + awkward[(trial+i)%len(awkward)]}
			if (trial+i)%5 == 0 {
				c.Trust = admem.TrustQuarantined
			}
			cands = append(cands, c)
		}
		res, err := pack(cands, MaxBudget)
		if err != nil {
			t.Fatal(err)
		}
		n, err := CountTokens(res.Text)
		if err != nil {
			t.Fatal(err)
		}
		if n != res.Tokens {
			t.Fatalf("trial %d: the block has %d tokens, pack said %d:\n%q", trial, n, res.Tokens, res.Text)
		}
	}
}
