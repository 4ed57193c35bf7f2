package embed

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	unorm "golang.org/x/text/unicode/norm"
)

// WordPiece is BERT's tokenizer: basic tokenisation (clean, optional
// lowercase and accent stripping, punctuation and CJK split), then greedy
// longest-match-first word pieces with "##" continuations. It reproduces
// HuggingFace's BertTokenizer for sentence-transformer models such as
// all-MiniLM-L6-v2.
type WordPiece struct {
	vocab     map[string]int64
	lower     bool
	cls, sep  int64
	unk, pad  int64
	maxPerTok int
}

// LoadWordPiece reads vocab.txt (one token per line, id = line number) and,
// when present, tokenizer_config.json for do_lower_case (default true) from
// dir.
func LoadWordPiece(dir string) (*WordPiece, error) {
	f, err := os.Open(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		return nil, fmt.Errorf("embed: wordpiece: %w", err)
	}
	defer f.Close()
	var tokens []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		tokens = append(tokens, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("embed: wordpiece: read vocab: %w", err)
	}
	lower := true
	if data, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		var cfg struct {
			DoLowerCase *bool `json:"do_lower_case"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("embed: wordpiece: tokenizer_config.json: %w", err)
		}
		if cfg.DoLowerCase != nil {
			lower = *cfg.DoLowerCase
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("embed: wordpiece: %w", err)
	}
	return NewWordPiece(tokens, lower)
}

// NewWordPiece builds a tokenizer over tokens (id = index), which must
// contain [CLS], [SEP], [UNK] and [PAD].
func NewWordPiece(tokens []string, lower bool) (*WordPiece, error) {
	wp := &WordPiece{vocab: make(map[string]int64, len(tokens)), lower: lower, maxPerTok: 100}
	for i, t := range tokens {
		if _, dup := wp.vocab[t]; !dup {
			wp.vocab[t] = int64(i)
		}
	}
	for _, s := range []struct {
		tok string
		id  *int64
	}{{"[CLS]", &wp.cls}, {"[SEP]", &wp.sep}, {"[UNK]", &wp.unk}, {"[PAD]", &wp.pad}} {
		id, ok := wp.vocab[s.tok]
		if !ok {
			return nil, fmt.Errorf("embed: wordpiece: vocabulary lacks %s", s.tok)
		}
		*s.id = id
	}
	return wp, nil
}

// Encode returns the ids of [CLS] text [SEP], truncated to maxLen ids.
func (wp *WordPiece) Encode(text string, maxLen int) []int64 {
	ids := []int64{wp.cls}
	for _, w := range wp.basic(text) {
		ids = wp.pieces(w, ids)
		if len(ids) >= maxLen-1 {
			ids = ids[:maxLen-1]
			break
		}
	}
	return append(ids, wp.sep)
}

// basic splits text into words the way BERT's BasicTokenizer does.
func (wp *WordPiece) basic(text string) []string {
	if wp.lower {
		// Lowercase, then strip accents: NFD and drop combining marks.
		text = unorm.NFD.String(strings.ToLower(text))
	}
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range text {
		switch {
		case r == 0 || r == 0xfffd || (unicode.IsControl(r) && !unicode.IsSpace(r)):
			// BERT drops control characters.
		case wp.lower && unicode.Is(unicode.Mn, r):
		case unicode.IsSpace(r):
			flush()
		case isBertPunct(r) || isCJK(r):
			flush()
			out = append(out, string(r))
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// pieces appends the word-piece ids of one word: the longest vocabulary
// prefix, then the longest "##" continuation, and so on; a word that cannot
// be covered becomes [UNK] as a whole.
func (wp *WordPiece) pieces(word string, ids []int64) []int64 {
	rs := []rune(word)
	if len(rs) > wp.maxPerTok {
		return append(ids, wp.unk)
	}
	start := len(ids)
	for i := 0; i < len(rs); {
		j := len(rs)
		var id int64 = -1
		for ; j > i; j-- {
			sub := string(rs[i:j])
			if i > 0 {
				sub = "##" + sub
			}
			if v, ok := wp.vocab[sub]; ok {
				id = v
				break
			}
		}
		if id < 0 {
			return append(ids[:start], wp.unk)
		}
		ids = append(ids, id)
		i = j
	}
	return ids
}

// isBertPunct follows BERT: every ASCII non-alphanumeric printable character
// counts as punctuation, as does Unicode category P.
func isBertPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
