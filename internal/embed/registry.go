package embed

import (
	"fmt"
	"strings"
	"time"
)

// Provider names accepted by New.
const (
	ProviderGloVe  = "glove"
	ProviderOpenAI = "openai"
	ProviderONNX   = "onnx"
)

// Config selects and configures a provider; each provider reads only its own
// fields.
type Config struct {
	// Provider is "glove" (the default when empty), "openai" or "onnx".
	Provider string

	// GloVeFile is the word-vector file made by scripts/embeddings.sh.
	GloVeFile string

	// OpenAI-compatible endpoint.
	BaseURL string
	Model   string
	APIKey  string
	Dim     int
	Timeout time.Duration

	// ModelDir is a local sentence-transformer folder for "onnx".
	ModelDir string
}

// New builds the embedder cfg names.
func New(cfg Config) (Embedder, error) {
	switch strings.ToLower(strings.TrimSpace(cfg.Provider)) {
	case "", ProviderGloVe:
		if cfg.GloVeFile == "" {
			return nil, fmt.Errorf("embed: provider glove needs a word-vector file (make it with scripts/embeddings.sh)")
		}
		wv, err := LoadWordVectors(cfg.GloVeFile)
		if err != nil {
			return nil, err
		}
		return NewSIF(wv, SIFOptions{}), nil
	case ProviderOpenAI:
		return NewOpenAI(OpenAIConfig{BaseURL: cfg.BaseURL, Model: cfg.Model, APIKey: cfg.APIKey, Dim: cfg.Dim, Timeout: cfg.Timeout})
	case ProviderONNX:
		if cfg.ModelDir == "" {
			return nil, fmt.Errorf("embed: provider onnx needs a model folder")
		}
		return NewONNX(ONNXConfig{Dir: cfg.ModelDir})
	default:
		return nil, fmt.Errorf("embed: unknown provider %q (want glove, openai or onnx)", cfg.Provider)
	}
}
