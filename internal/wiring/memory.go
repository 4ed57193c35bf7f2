package wiring

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"

	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/memory"
)

var (
	memEmbedMu    sync.Mutex
	memEmbedCache = map[string]embed.Embedder{}
)

// EmbedConfig is the embedder part of cfg in the embed package's terms.
func EmbedConfig(cfg config.Config) embed.Config {
	return embed.Config{
		Provider:  cfg.Embedder,
		GloVeFile: cfg.EmbedFile,
		BaseURL:   cfg.EmbedURL,
		Model:     cfg.EmbedModel,
		APIKey:    cfg.EmbedAPIKey,
		Dim:       cfg.EmbedDim,
		Timeout:   cfg.EmbedTimeout,
		ModelDir:  cfg.EmbedModelDir,
	}
}

// embedderKey tells configurations apart for the cache: every setting that
// changes the embedder is in it, the API key only as a hash.
func embedderKey(ec embed.Config) string {
	if ec.APIKey != "" {
		ec.APIKey = fmt.Sprintf("%x", sha256.Sum256([]byte(ec.APIKey)))
	}
	return fmt.Sprintf("%#v", ec)
}

// LoadEmbedder builds the embedder cfg names, once per configuration within
// a process: the word vectors and ONNX graphs are read-only and large, and
// tests start many APIs.
func LoadEmbedder(cfg config.Config) (embed.Embedder, error) {
	ec := EmbedConfig(cfg)
	key := embedderKey(ec)
	memEmbedMu.Lock()
	defer memEmbedMu.Unlock()
	if e, ok := memEmbedCache[key]; ok {
		return e, nil
	}
	e, err := embed.New(ec)
	if err != nil {
		return nil, err
	}
	memEmbedCache[key] = e
	return e, nil
}

// NewEmbedder builds the configured embedder, or returns nil (and logs why)
// when it is unavailable: memory then works without vectors and searches
// lexically, which is degraded but correct.
func NewEmbedder(cfg config.Config, log *slog.Logger) embed.Embedder {
	e, err := LoadEmbedder(cfg)
	if err != nil {
		hint := "check the ADMEM_EMBED_* settings"
		if cfg.Embedder == config.EmbedderGloVe {
			hint = "make the word vectors with scripts/embeddings.sh"
		}
		log.Warn("no embedder: memory search is lexical only ("+hint+")", "embedder", cfg.Embedder, "err", err)
		return nil
	}
	return e
}

// NewMemory builds the factual memory service over infra.
func NewMemory(cfg config.Config, infra *Infra, log *slog.Logger) *memory.Service {
	if e := NewEmbedder(cfg, log); e != nil {
		return memory.New(infra.DB, e, log)
	}
	return memory.New(infra.DB, nil, log)
}
