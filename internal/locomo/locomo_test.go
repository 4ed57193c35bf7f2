package locomo

import (
	"os"
	"reflect"
	"testing"

	"github.com/admem/admem/internal/testenv"
)

func TestParse(t *testing.T) {
	t.Parallel()
	// Sessions are ordered by number (10 after 2), bad evidence is counted,
	// category 5 (adversarial) and evidence-less questions are dropped.
	data := []byte(`[{
		"sample_id": "conv-x",
		"conversation": {
			"speaker_a": "Ann", "speaker_b": "Bob",
			"session_10_date_time": "9:00 am on 3 June, 2023",
			"session_10": [{"speaker": "Bob", "dia_id": "D10:1", "text": "Moved to Lisbon."}],
			"session_2_date_time": "1:56 pm on 8 May, 2023",
			"session_2": [
				{"speaker": "Ann", "dia_id": "D2:1", "text": "I adopted a dog!", "blip_caption": "a photo of a puppy"},
				{"speaker": "Bob", "dia_id": "D2:2", "text": "Congrats"}
			]
		},
		"qa": [
			{"question": "What did Ann adopt?", "evidence": ["D2:1"], "category": 4},
			{"question": "Where did Bob move after Ann adopted a dog?", "evidence": ["D2:1", "D10:1", "D9:9", "D2", 7], "category": 1},
			{"question": "Unanswerable?", "evidence": ["D2:2"], "category": 5},
			{"question": "No evidence?", "evidence": ["D99:1"], "category": 2},
			{"question": "  ", "evidence": ["D2:2"], "category": 3}
		]
	}]`)
	convs, skipped, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 4 { // D9:9 (unknown), "D2" (malformed), 7 (not a string), D99:1
		t.Errorf("skipped %d evidence ids, want 4", skipped)
	}
	want := []Conversation{{
		ID: "conv-x",
		Turns: []Turn{
			{DiaID: "D2:1", Speaker: "Ann", Text: "I adopted a dog!", Caption: "a photo of a puppy", Session: 2, Date: "1:56 pm on 8 May, 2023"},
			{DiaID: "D2:2", Speaker: "Bob", Text: "Congrats", Session: 2, Date: "1:56 pm on 8 May, 2023"},
			{DiaID: "D10:1", Speaker: "Bob", Text: "Moved to Lisbon.", Session: 10, Date: "9:00 am on 3 June, 2023"},
		},
		Questions: []Question{
			{Text: "What did Ann adopt?", Category: 4, Evidence: []string{"D2:1"}},
			{Text: "Where did Bob move after Ann adopted a dog?", Category: 1, Evidence: []string{"D2:1", "D10:1"}},
		},
	}}
	if !reflect.DeepEqual(convs, want) {
		t.Fatalf("got %+v\nwant %+v", convs, want)
	}
	if got := convs[0].Turns[0].Document(); got != "Ann: I adopted a dog! [shared a photo of a puppy] (8 May, 2023)" {
		t.Errorf("document %q", got)
	}
	if got := (Turn{Speaker: "Bob", Text: "hi", Date: "sometime"}).Document(); got != "Bob: hi (sometime)" {
		t.Errorf("document without a clock time %q", got)
	}

	for _, bad := range []string{`{`, `[{"sample_id": "c", "conversation": {"session_1": "not turns"}}]`} {
		if _, _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

func TestRecallAt(t *testing.T) {
	t.Parallel()
	q := Question{Evidence: []string{"D1:1", "D1:5"}}
	for _, tt := range []struct {
		k      int
		ranked []string
		want   float64
	}{
		{1, []string{"D1:1", "D1:5"}, 0.5},
		{2, []string{"D1:1", "D1:5"}, 1},
		{2, []string{"", "D1:1", "D1:5"}, 0.5},     // a result that is no turn still takes a place
		{3, []string{"D1:1", "D1:1", "D1:9"}, 0.5}, // a repeat does not count twice
		{25, []string{"D1:5"}, 0.5},                // fewer results than k
		{10, nil, 0},
	} {
		if got := q.RecallAt(tt.k, tt.ranked); got != tt.want {
			t.Errorf("RecallAt(%d, %v) = %v, want %v", tt.k, tt.ranked, got, tt.want)
		}
	}
}

// TestLoadDev reads the dev split the benchmarks use (../shared/data beside
// the repository, or ADMEM_LOCOMO_DATA).
func TestLoadDev(t *testing.T) {
	t.Parallel()
	path := testenv.SharedData(t, "ADMEM_LOCOMO_DATA", "locomo/locomo-dev.json")
	convs, skipped, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	turns, questions := 0, 0
	for _, c := range convs {
		turns += len(c.Turns)
		questions += len(c.Questions)
		seen := map[string]bool{}
		for i, tu := range c.Turns {
			if seen[tu.DiaID] || tu.Date == "" || (i > 0 && tu.Session < c.Turns[i-1].Session) {
				t.Fatalf("%s turn %d (%s): repeated, undated or out of session order", c.ID, i, tu.DiaID)
			}
			seen[tu.DiaID] = true
		}
		for _, q := range c.Questions {
			for _, ev := range q.Evidence {
				if !seen[ev] {
					t.Fatalf("%s: evidence %s of %q is no turn of the conversation", c.ID, ev, q.Text)
				}
			}
		}
	}
	// The figures the bench prints for the dev split (counted independently).
	if os.Getenv("ADMEM_LOCOMO_DATA") == "" && (len(convs) != 6 || turns != 3435 || questions != 882 || skipped != 4) {
		t.Fatalf("%d conversations, %d turns, %d questions, %d skipped; want 6, 3435, 882, 4", len(convs), turns, questions, skipped)
	}
}
