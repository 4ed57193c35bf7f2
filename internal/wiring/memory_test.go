package wiring

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/config"
)

func TestLoadEmbedderPerConfiguration(t *testing.T) {
	t.Parallel()
	base := config.Config{Embedder: config.EmbedderOpenAI, EmbedURL: "http://127.0.0.1:9/v1", EmbedModel: "m-cache-test",
		EmbedDim: 8, EmbedAPIKey: "sk-first", EmbedTimeout: time.Second}
	a, err := LoadEmbedder(base)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != "openai-m-cache-test-8d" || a.Dim() != 8 {
		t.Fatalf("embedder %s/%d", a.ID(), a.Dim())
	}
	if again, _ := LoadEmbedder(base); again != a {
		t.Fatal("the same configuration built a second embedder")
	}
	// Every setting that changes requests makes another embedder, the key too.
	for name, change := range map[string]func(*config.Config){
		"url":     func(c *config.Config) { c.EmbedURL = "http://127.0.0.1:10/v1" },
		"model":   func(c *config.Config) { c.EmbedModel = "m-other" },
		"dim":     func(c *config.Config) { c.EmbedDim = 16 },
		"key":     func(c *config.Config) { c.EmbedAPIKey = "sk-second" },
		"timeout": func(c *config.Config) { c.EmbedTimeout = 2 * time.Second },
	} {
		c := base
		change(&c)
		b, err := LoadEmbedder(c)
		if err != nil {
			t.Fatal(err)
		}
		if b == a {
			t.Errorf("changing the %s reused the cached embedder", name)
		}
	}
	if strings.Contains(embedderKey(EmbedConfig(base)), "sk-first") {
		t.Fatal("the cache key holds the API key in clear")
	}
}

func TestNewEmbedderLogsWhyWithoutTheKey(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	cfg := config.Config{Embedder: config.EmbedderOpenAI, EmbedURL: "ftp://nowhere", EmbedModel: "m", EmbedDim: 8, EmbedAPIKey: "sk-secret-in-log"}
	if e := NewEmbedder(cfg, log); e != nil {
		t.Fatalf("an ftp URL gave embedder %s", e.ID())
	}
	if !strings.Contains(buf.String(), "no embedder") || strings.Contains(buf.String(), "sk-secret-in-log") {
		t.Fatalf("log: %s", buf.String())
	}
}
