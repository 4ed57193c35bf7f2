package signature

import (
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/admem/admem/internal/datafile"
)

// A minimal reading of the log, independent of internal/taubench, so the
// normaliser's figures do not depend on the parser under test elsewhere.
type tbEpisode struct {
	TaskID json.RawMessage `json:"task_id"`
	Trial  int             `json:"trial"`
	Traj   []struct {
		Role    string `json:"role"`
		Name    string `json:"name"`
		Content any    `json:"content"`
	} `json:"traj"`
}

type tbError struct {
	task  string
	trial int
	tool  string
	msg   string
}

func loadTaubenchErrors(t *testing.T) []tbError {
	t.Helper()
	raw, err := os.ReadFile(datafile.Path(t, "TAUBENCH_FILE", "taubench/airline-dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	var eps []tbEpisode
	if err := json.Unmarshal(raw, &eps); err != nil {
		t.Fatalf("decode: %v", err)
	}
	var out []tbError
	for _, e := range eps {
		for _, m := range e.Traj {
			s, _ := m.Content.(string)
			if m.Role == "tool" && strings.HasPrefix(s, "Error:") {
				out = append(out, tbError{task: string(e.TaskID), trial: e.Trial, tool: m.Name, msg: s})
			}
		}
	}
	return out
}

func TestTaubenchSignatures(t *testing.T) {
	t.Parallel()
	errs := loadTaubenchErrors(t)
	if len(errs) == 0 {
		t.Fatal("no Error: tool results in the file")
	}
	bySig := map[Signature]map[string]bool{}
	messages := map[string]bool{}
	for _, e := range errs {
		s := Normalize(e.tool, "", e.msg)
		if s.Class != GenericClass {
			t.Errorf("%q: class %q, want %q", e.msg, s.Class, GenericClass)
		}
		if strings.ContainsAny(s.Template, "0123456789") {
			t.Errorf("%q: template %q still holds digits", e.msg, s.Template)
		}
		if bySig[s] == nil {
			bySig[s] = map[string]bool{}
		}
		bySig[s][e.msg] = true
		messages[e.tool+"\x00"+e.msg] = true
	}
	var lines []string
	for s, msgs := range bySig {
		lines = append(lines, s.ID()+"  "+s.String()+"  ("+strconv.Itoa(len(msgs))+" distinct messages)")
	}
	sort.Strings(lines)
	t.Logf("%d failed tool calls, %d distinct messages, %d signatures:\n%s", len(errs), len(messages), len(bySig), strings.Join(lines, "\n"))

	// The templates a person reading the messages would write; every
	// message must land in one of them.
	want := map[string]bool{
		"book_reservation: Error: not enough balance in payment method <ID>":                            true,
		"book_reservation: Error: not enough seats on flight <ID>":                                      true,
		"book_reservation: Error: payment amount does not add up, total price is <NUM>, but paid <NUM>": true,
		"book_reservation: Error: payment method <ID> not found":                                        true,
		"update_reservation_flights: Error: flight <ID> not available on date <DATE>":                   true,
		"update_reservation_flights: Error: payment method not found":                                   true,
	}
	for s := range bySig {
		if !want[s.String()] {
			t.Errorf("unexpected signature %q", s.String())
		}
	}
	if len(bySig) != len(want) {
		t.Errorf("%d signatures, want %d", len(bySig), len(want))
	}
}

func TestTaubenchCollapse(t *testing.T) {
	t.Parallel()
	// Pairs from the airline log: same kind of failure with other ids must
	// share a signature; different kinds must not.
	same := [][2]string{
		{"Error: flight HAT030 not available on date 2024-05-13", "Error: flight HAT271 not available on date 2024-05-10"},
		{"Error: payment amount does not add up, total price is 1002, but paid 957", "Error: payment amount does not add up, total price is 375, but paid 299"},
		{"Error: payment method certificate_4856383 not found", "Error: payment method certificate_7504069 not found"},
	}
	for _, p := range same {
		a, b := Normalize("t", "", p[0]), Normalize("t", "", p[1])
		if a.ID() != b.ID() {
			t.Errorf("%q and %q differ: %q vs %q", p[0], p[1], a.Template, b.Template)
		}
	}
	differ := [][2]string{
		{"Error: payment method certificate_4856383 not found", "Error: payment method not found"},
		{"Error: not enough seats on flight HAT139", "Error: flight HAT139 not available on date 2024-05-13"},
		{"Error: not enough balance in payment method gift_card_5094406", "Error: payment method gift_card_5094406 not found"},
		{"Error: reservation ABC123 not found", "KeyError: reservation ABC123 not found"},
		{"Error: reservation ABC123 not found", "HTTP 404 Not Found: reservation ABC123"},
	}
	for _, p := range differ {
		a, b := Normalize("t", "", p[0]), Normalize("t", "", p[1])
		if a.ID() == b.ID() {
			t.Errorf("%q and %q collapse to %v", p[0], p[1], a)
		}
	}
}

// TestTaubenchRepeats measures what DESIGN.md cites: the share of tool
// errors in trials 2..4 whose signature already occurred in an earlier trial
// of the same task.
func TestTaubenchRepeats(t *testing.T) {
	t.Parallel()
	errs := loadTaubenchErrors(t)
	seen := map[string]map[string]int{} // task → signature id → earliest trial
	for _, e := range errs {
		id := Normalize(e.tool, "", e.msg).ID()
		if seen[e.task] == nil {
			seen[e.task] = map[string]int{}
		}
		if first, ok := seen[e.task][id]; !ok || e.trial < first {
			seen[e.task][id] = e.trial
		}
	}
	var later, repeats int
	for _, e := range errs {
		if e.trial == 0 {
			continue
		}
		later++
		if seen[e.task][Normalize(e.tool, "", e.msg).ID()] < e.trial {
			repeats++
		}
	}
	if later == 0 {
		t.Fatal("no errors after the first trial")
	}
	share := float64(repeats) / float64(later)
	t.Logf("errors in trials 2..4: %d, of which %d repeat a signature from an earlier trial of the same task (%.1f%%)", later, repeats, 100*share)
	if share < 0.2 || share > 0.9 {
		t.Errorf("repeat share %.2f outside the plausible band around one half", share)
	}
}
