// Package locomo reads the LoCoMo long-conversation benchmark (Maharana et
// al., 2024) for the retrieval measurements: the locomo bench command and the
// lexical package's ranking harness read it here, so both see the same turns,
// questions and evidence.
package locomo

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Turn is one dialog turn, in conversation order.
type Turn struct {
	DiaID   string // "D3:12": session 3, turn 12
	Speaker string
	Text    string
	Caption string // the caption of an image the speaker shared, if any
	Session int
	Date    string // the session's date and time, e.g. "1:56 pm on 8 May, 2023"
}

// Day is the date part of the session's time stamp ("8 May, 2023"), or the
// whole stamp when it has no " on ".
func (t Turn) Day() string {
	if i := strings.Index(t.Date, " on "); i >= 0 {
		return t.Date[i+4:]
	}
	return t.Date
}

// Document is the text a turn is indexed with: speaker, words, the caption of
// a shared image and the session's day. The date answers "when" questions
// and the speaker "who" questions; this measured best for BM25 in the lexical
// package's harness.
func (t Turn) Document() string {
	var b strings.Builder
	b.WriteString(t.Speaker + ": " + t.Text)
	if t.Caption != "" {
		b.WriteString(" [shared " + t.Caption + "]")
	}
	if d := t.Day(); d != "" {
		b.WriteString(" (" + d + ")")
	}
	return b.String()
}

// Question is a question of categories 1–4 (multi-hop, temporal,
// open-domain, single-hop) with the turns that answer it.
type Question struct {
	Text     string
	Category int
	Evidence []string // dia ids of turns of the same conversation
}

// RecallAt is the share of the evidence among the first k of ranked, a list
// of dia ids best first (a repeated id counts at its first place; "" stands
// for a result that is not a turn).
func (q Question) RecallAt(k int, ranked []string) float64 {
	if len(q.Evidence) == 0 {
		return 0
	}
	top := map[string]bool{}
	for i := 0; i < k && i < len(ranked); i++ {
		top[ranked[i]] = true
	}
	found := 0
	for _, ev := range q.Evidence {
		if top[ev] {
			found++
		}
	}
	return float64(found) / float64(len(q.Evidence))
}

// Conversation is one sample: its turns in order and its questions.
type Conversation struct {
	ID        string
	Turns     []Turn
	Questions []Question
}

var (
	sessionKey = regexp.MustCompile(`^session_(\d+)$`)
	diaID      = regexp.MustCompile(`^D\d+:\d+$`)
)

type rawTurn struct {
	Speaker     string `json:"speaker"`
	DiaID       string `json:"dia_id"`
	Text        string `json:"text"`
	BlipCaption string `json:"blip_caption"`
}

type rawConversation struct {
	SampleID     string                     `json:"sample_id"`
	Conversation map[string]json.RawMessage `json:"conversation"`
	QA           []struct {
		Question string `json:"question"`
		Evidence []any  `json:"evidence"` // strings, rarely malformed
		Category int    `json:"category"`
	} `json:"qa"`
}

// Load reads a file in the LoCoMo format.
func Load(path string) (convs []Conversation, skipped int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	convs, skipped, err = Parse(data)
	if err != nil {
		return nil, 0, fmt.Errorf("locomo: %s: %w", path, err)
	}
	return convs, skipped, nil
}

// Parse decodes the LoCoMo format. It keeps the questions of categories 1–4
// that have a question text and evidence; evidence ids that are malformed or
// name no turn of the conversation are dropped and counted in skipped, never
// fatal (the published files have a few).
func Parse(data []byte) (convs []Conversation, skipped int, err error) {
	var raw []rawConversation
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, 0, fmt.Errorf("decode: %w", err)
	}
	for _, rc := range raw {
		c := Conversation{ID: rc.SampleID}
		var sessions []int
		for k := range rc.Conversation {
			if m := sessionKey.FindStringSubmatch(k); m != nil {
				n, _ := strconv.Atoi(m[1])
				sessions = append(sessions, n)
			}
		}
		sort.Ints(sessions)
		known := map[string]bool{}
		for _, n := range sessions {
			var turns []rawTurn
			if err := json.Unmarshal(rc.Conversation["session_"+strconv.Itoa(n)], &turns); err != nil {
				return nil, 0, fmt.Errorf("%s session %d: %w", rc.SampleID, n, err)
			}
			var date string
			_ = json.Unmarshal(rc.Conversation[fmt.Sprintf("session_%d_date_time", n)], &date)
			for _, t := range turns {
				c.Turns = append(c.Turns, Turn{DiaID: t.DiaID, Speaker: t.Speaker, Text: t.Text, Caption: t.BlipCaption, Session: n, Date: date})
				known[t.DiaID] = true
			}
		}
		for _, qa := range rc.QA {
			if qa.Category < 1 || qa.Category > 4 {
				continue
			}
			q := Question{Text: qa.Question, Category: qa.Category}
			for _, ev := range qa.Evidence {
				if s, ok := ev.(string); ok && diaID.MatchString(s) && known[s] {
					q.Evidence = append(q.Evidence, s)
				} else {
					skipped++
				}
			}
			if len(q.Evidence) > 0 && strings.TrimSpace(q.Text) != "" {
				c.Questions = append(c.Questions, q)
			}
		}
		convs = append(convs, c)
	}
	return convs, skipped, nil
}
