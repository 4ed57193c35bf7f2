package wiring

import (
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

// NewEmbedder builds the configured embedder, or returns nil (and logs why)
// when it is unavailable: memory then works without vectors and searches
// lexically, which is degraded but correct. Embedders are shared per
// configuration within a process, since the word vectors are read-only.
func NewEmbedder(cfg config.Config, log *slog.Logger) embed.Embedder {
	key := cfg.Embedder + "\x00" + cfg.EmbedFile
	memEmbedMu.Lock()
	defer memEmbedMu.Unlock()
	if e, ok := memEmbedCache[key]; ok {
		return e
	}
	e, err := embed.New(embed.Config{Provider: cfg.Embedder, GloVeFile: cfg.EmbedFile})
	if err != nil {
		log.Warn("no embedder: memory search is lexical only (make the word vectors with scripts/embeddings.sh)", "embedder", cfg.Embedder, "err", err)
		return nil
	}
	memEmbedCache[key] = e
	return e
}

// NewMemory builds the factual memory service over infra.
func NewMemory(cfg config.Config, infra *Infra, log *slog.Logger) *memory.Service {
	if e := NewEmbedder(cfg, log); e != nil {
		return memory.New(infra.DB, e, log)
	}
	return memory.New(infra.DB, nil, log)
}
