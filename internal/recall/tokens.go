package recall

import (
	"fmt"
	"sync"

	tiktoken "github.com/pkoukk/tiktoken-go"
	loader "github.com/pkoukk/tiktoken-go-loader"
)

// Encoding is the BPE vocabulary budgets are counted in: cl100k_base, the
// tokenizer of the GPT-4 / GPT-3.5 family, loaded from data compiled into
// the binary (no network).
const Encoding = "cl100k_base"

var (
	encOnce sync.Once
	enc     *tiktoken.Tiktoken
	encErr  error
)

// CountTokens returns the number of BPE tokens of s.
func CountTokens(s string) (int, error) {
	encOnce.Do(func() {
		tiktoken.SetBpeLoader(loader.NewOfflineLoader())
		enc, encErr = tiktoken.GetEncoding(Encoding)
	})
	if encErr != nil {
		return 0, fmt.Errorf("recall: tokenizer: %w", encErr)
	}
	return len(enc.Encode(s, nil, nil)), nil
}
