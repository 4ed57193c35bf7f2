package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestLoadDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"ADMEM_DATABASE_URL": "postgres://u:secretpw@127.0.0.1:5432/admem",
		"ADMEM_JWT_SECRET":   strings.Repeat("x", 32),
	}
	c, err := Load(env(good))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.MigrateDatabaseURL != good["ADMEM_DATABASE_URL"] {
		t.Fatalf("defaults not applied: %+v", c)
	}

	tests := []struct {
		name    string
		set     map[string]string
		wantErr string
	}{
		{"missing database", map[string]string{"ADMEM_DATABASE_URL": ""}, "ADMEM_DATABASE_URL"},
		{"short secret", map[string]string{"ADMEM_JWT_SECRET": "short"}, "ADMEM_JWT_SECRET"},
		{"bad duration", map[string]string{"ADMEM_JWT_TTL": "soon"}, "ADMEM_JWT_TTL"},
		{"half tls", map[string]string{"ADMEM_TLS_CERT_FILE": "c.pem"}, "ADMEM_TLS_KEY_FILE"},
		{"bad proxy", map[string]string{"ADMEM_TRUSTED_PROXIES": "10.0.0.0/8,nope"}, "ADMEM_TRUSTED_PROXIES"},
		{"bad redis", map[string]string{"ADMEM_REDIS_URL": "http://x"}, "ADMEM_REDIS_URL"},
		{"bad level", map[string]string{"ADMEM_LOG_LEVEL": "loud"}, "ADMEM_LOG_LEVEL"},
		{"fractional min new", map[string]string{"ADMEM_ADAPTER_MIN_NEW": "2.5"}, "ADMEM_ADAPTER_MIN_NEW"},
		{"zero min new", map[string]string{"ADMEM_ADAPTER_MIN_NEW": "0"}, "ADMEM_ADAPTER_MIN_NEW"},
		{"bad max age", map[string]string{"ADMEM_ADAPTER_MAX_AGE": "daily"}, "ADMEM_ADAPTER_MAX_AGE"},
		{"negative train interval", map[string]string{"ADMEM_ADAPTER_TRAIN_EVERY": "-1s"}, "ADMEM_ADAPTER_TRAIN_EVERY"},
		{"zero poll", map[string]string{"ADMEM_ADAPTER_POLL": "0s"}, "ADMEM_ADAPTER_POLL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range good {
				m[k] = v
			}
			for k, v := range tt.set {
				m[k] = v
			}
			_, err := Load(env(m))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("want error mentioning %s, got %v", tt.wantErr, err)
			}
		})
	}
}

func TestLoadAdapterPipeline(t *testing.T) {
	t.Parallel()
	base := map[string]string{"ADMEM_DATABASE_URL": "postgres://u:p@127.0.0.1:5432/admem", "ADMEM_JWT_SECRET": strings.Repeat("x", 32)}
	c, err := Load(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.AdapterMinNew != DefaultAdapterMinNew || c.AdapterMaxAge != DefaultAdapterMaxAge ||
		c.AdapterTrainEvery != DefaultAdapterTrainEvery || c.AdapterPoll != DefaultAdapterPoll {
		t.Fatalf("adapter defaults: %d %v %v %v", c.AdapterMinNew, c.AdapterMaxAge, c.AdapterTrainEvery, c.AdapterPoll)
	}
	base["ADMEM_ADAPTER_MIN_NEW"] = "5000"
	base["ADMEM_ADAPTER_MAX_AGE"] = "6h"
	base["ADMEM_ADAPTER_TRAIN_EVERY"] = "2m"
	base["ADMEM_ADAPTER_POLL"] = "5s"
	if c, err = Load(env(base)); err != nil {
		t.Fatal(err)
	}
	if c.AdapterMinNew != 5000 || c.AdapterMaxAge != 6*time.Hour || c.AdapterTrainEvery != 2*time.Minute || c.AdapterPoll != 5*time.Second {
		t.Fatalf("adapter settings not read: %d %v %v %v", c.AdapterMinNew, c.AdapterMaxAge, c.AdapterTrainEvery, c.AdapterPoll)
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"ADMEM_DATABASE_URL":    "postgres://u:dbsecret@127.0.0.1:5432/admem",
		"ADMEM_REDIS_URL":       "redis://:redissecret@127.0.0.1:6379/0",
		"ADMEM_JWT_SECRET":      "jwtsecret-jwtsecret-jwtsecret-jwtsecret",
		"ADMEM_TRUSTED_PROXIES": "10.1.2.3",
		"ADMEM_EMBEDDER":        "openai",
		"ADMEM_EMBED_URL":       "https://user:urlsecret@embed.internal/v1",
		"ADMEM_EMBED_MODEL":     "text-embedding-3-small",
		"ADMEM_EMBED_DIM":       "1536",
		"ADMEM_EMBED_API_KEY":   "sk-embedsecret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	out := b.String()
	for _, s := range []string{"dbsecret", "redissecret", "jwtsecret", "urlsecret", "embedsecret"} {
		if strings.Contains(out, s) {
			t.Fatalf("log leaks %q: %s", s, out)
		}
	}
	if !strings.Contains(out, "text-embedding-3-small") || !strings.Contains(out, `"embed_api_key":"****"`) {
		t.Fatalf("embedder settings not logged: %s", out)
	}
	if !strings.Contains(out, "10.1.2.3/32") {
		t.Fatalf("trusted proxy not normalised: %s", out)
	}
}

func TestLoadEmbedder(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "embed-key")
	if err := os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	openai := map[string]string{
		"ADMEM_EMBEDDER":    "OpenAI",
		"ADMEM_EMBED_URL":   "http://127.0.0.1:11434/v1",
		"ADMEM_EMBED_MODEL": "nomic-embed-text",
		"ADMEM_EMBED_DIM":   "768",
	}
	tests := []struct {
		name    string
		set     map[string]string
		check   func(Config) bool
		wantErr []string // each must appear; none means Load succeeds
	}{
		{"glove by default", nil, func(c Config) bool {
			return c.Embedder == EmbedderGloVe && c.EmbedFile != "" && c.EmbedTimeout == 30*time.Second
		}, nil},
		{"openai", openai, func(c Config) bool {
			return c.Embedder == EmbedderOpenAI && c.EmbedURL == openai["ADMEM_EMBED_URL"] && c.EmbedModel == "nomic-embed-text" && c.EmbedDim == 768 && c.EmbedAPIKey == ""
		}, nil},
		{"openai key and timeout", with(openai, "ADMEM_EMBED_API_KEY", "sk-inline", "ADMEM_EMBED_TIMEOUT", "5s"), func(c Config) bool {
			return c.EmbedAPIKey == "sk-inline" && c.EmbedTimeout == 5*time.Second
		}, nil},
		{"openai key file", with(openai, "ADMEM_EMBED_API_KEY_FILE", keyFile), func(c Config) bool { return c.EmbedAPIKey == "sk-from-file" }, nil},
		{"onnx", map[string]string{"ADMEM_EMBEDDER": "onnx", "ADMEM_EMBED_MODEL_DIR": "/models/minilm"}, func(c Config) bool {
			return c.Embedder == EmbedderONNX && c.EmbedModelDir == "/models/minilm"
		}, nil},

		{"unknown embedder", map[string]string{"ADMEM_EMBEDDER": "word2vec"}, nil, []string{"ADMEM_EMBEDDER", "word2vec"}},
		{"openai without anything", map[string]string{"ADMEM_EMBEDDER": "openai"}, nil,
			[]string{"ADMEM_EMBED_URL: required", "ADMEM_EMBED_MODEL: required", "ADMEM_EMBED_DIM: required"}},
		{"openai bad url", with(openai, "ADMEM_EMBED_URL", "127.0.0.1:11434"), nil, []string{"ADMEM_EMBED_URL: want an http(s) URL"}},
		{"openai ftp url", with(openai, "ADMEM_EMBED_URL", "ftp://models.internal/v1"), nil, []string{"ADMEM_EMBED_URL"}},
		{"openai bad dim", with(openai, "ADMEM_EMBED_DIM", "768.5"), nil, []string{"ADMEM_EMBED_DIM: want a positive whole number"}},
		{"openai negative dim", with(openai, "ADMEM_EMBED_DIM", "-3"), nil, []string{"ADMEM_EMBED_DIM"}},
		{"openai bad timeout", with(openai, "ADMEM_EMBED_TIMEOUT", "fast"), nil, []string{"ADMEM_EMBED_TIMEOUT"}},
		{"key twice", with(openai, "ADMEM_EMBED_API_KEY", "a", "ADMEM_EMBED_API_KEY_FILE", keyFile), nil, []string{"set one, not both"}},
		{"key file missing", with(openai, "ADMEM_EMBED_API_KEY_FILE", filepath.Join(t.TempDir(), "nope")), nil, []string{"ADMEM_EMBED_API_KEY_FILE"}},
		{"key file empty", with(openai, "ADMEM_EMBED_API_KEY_FILE", emptyFile), nil, []string{"ADMEM_EMBED_API_KEY_FILE", "empty"}},
		{"onnx without folder", map[string]string{"ADMEM_EMBEDDER": "onnx"}, nil, []string{"ADMEM_EMBED_MODEL_DIR: required"}},
		// A variable of another embedder is a forgotten ADMEM_EMBEDDER.
		{"url with glove", map[string]string{"ADMEM_EMBED_URL": "http://127.0.0.1:11434/v1"}, nil, []string{"ADMEM_EMBED_URL: only read with ADMEM_EMBEDDER=openai"}},
		{"model dir with openai", with(openai, "ADMEM_EMBED_MODEL_DIR", "/models"), nil, []string{"ADMEM_EMBED_MODEL_DIR: only read with ADMEM_EMBEDDER=onnx"}},
		{"dim with onnx", map[string]string{"ADMEM_EMBEDDER": "onnx", "ADMEM_EMBED_MODEL_DIR": "/m", "ADMEM_EMBED_DIM": "384"}, nil, []string{"ADMEM_EMBED_DIM: only read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{
				"ADMEM_DATABASE_URL": "postgres://u:p@127.0.0.1:5432/admem",
				"ADMEM_JWT_SECRET":   strings.Repeat("x", 32),
			}
			for k, v := range tt.set {
				m[k] = v
			}
			c, err := Load(env(m))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if !tt.check(c) {
					t.Fatalf("unexpected config: %+v", c)
				}
				return
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("want an error mentioning %q, got %v", want, err)
				}
			}
		})
	}
}

// with returns a copy of m with the key/value pairs kv set.
func with(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
