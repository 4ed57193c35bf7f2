package worker_test

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/wiring"
	"github.com/admem/admem/internal/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// embeddingServer stands in for an external OpenAI-compatible /embeddings
// service. Its vectors hash each word into one of dim signed buckets, seeded
// by the model name, so texts sharing words are close and two models are two
// unrelated vector spaces.
type embeddingServer struct {
	dim int
	key string

	mu    sync.Mutex
	texts map[string]int // texts embedded, per model
}

func (s *embeddingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.key {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"message":"bad key"}}`))
		return
	}
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	type item struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	out := struct {
		Data []item `json:"data"`
	}{}
	for i, text := range req.Input {
		out.Data = append(out.Data, item{Index: i, Embedding: s.embed(req.Model, text)})
	}
	s.mu.Lock()
	s.texts[req.Model] += len(req.Input)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *embeddingServer) embed(model, text string) []float32 {
	v := make([]float32, s.dim)
	for _, word := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
		h := fnv.New64a()
		_, _ = h.Write([]byte(model + "\x00" + word))
		x := h.Sum64()
		v[x%uint64(s.dim)] += float32(1 - 2*float64(x>>63))
	}
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	for i := range v {
		v[i] /= float32(math.Max(math.Sqrt(ss), 1e-9))
	}
	return v
}

func (s *embeddingServer) embedded(model string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.texts[model]
}

type searchHits struct {
	Items []struct {
		Entry struct {
			Content string `json:"content"`
		} `json:"entry"`
		Explain struct {
			Embedder string `json:"embedder"`
		} `json:"explain"`
	} `json:"items"`
}

func search(t *testing.T, env *apitest.Env, key, mode, query string) searchHits {
	t.Helper()
	var hits searchHits
	r := env.Do(t, "POST", "/v1/entries/search", key, map[string]any{"query": query, "mode": mode, "explain": true})
	if r.Status != http.StatusOK {
		t.Fatalf("search: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &hits)
	return hits
}

// startWorker runs a worker with cfg until the returned function is called.
func startWorker(t *testing.T, cfg config.Config, infra *wiring.Infra) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := worker.New(cfg, infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// TestOpenAIEmbedderEndToEnd configures the API and the worker with
// ADMEM_EMBEDDER=openai against an OpenAI-compatible stand-in: entries are
// embedded through it and found by vector search. Then the deployment
// switches model: the new space is empty until the worker re-embeds in the
// background, lexical search keeps working meanwhile, and afterwards the old
// space is gone, so search never compares vectors of two spaces.
func TestOpenAIEmbedderEndToEnd(t *testing.T) {
	t.Parallel()
	stand := &embeddingServer{dim: 32, key: "sk-stand-in", texts: map[string]int{}}
	ext := httptest.NewServer(stand)
	defer ext.Close()
	keyFile := filepath.Join(t.TempDir(), "embed-key")
	if err := os.WriteFile(keyFile, []byte(stand.key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := apitest.New(t,
		apitest.WithEnv("ADMEM_EMBEDDER", "openai"),
		apitest.WithEnv("ADMEM_EMBED_URL", ext.URL+"/v1"),
		apitest.WithEnv("ADMEM_EMBED_MODEL", "stand-in-a"),
		apitest.WithEnv("ADMEM_EMBED_DIM", "32"),
		apitest.WithEnv("ADMEM_EMBED_API_KEY_FILE", keyFile),
	)
	_, admin := env.Tenant(t, "openai-embedder")
	stopFirst := startWorker(t, env.Config, env.Infra)

	facts := []map[string]any{
		{"content": "The office cat is called Biscuit"},
		{"content": "Quarterly planning happens in the second week of March"},
		{"content": "The VPN certificate expires every ninety days"},
	}
	if r := env.Do(t, "POST", "/v1/entries/batch", admin, map[string]any{"entries": facts, "infer": false}); r.Status != http.StatusOK {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	// waitVector polls vector search until it returns all three entries from
	// space, the cat first.
	waitVector := func(env *apitest.Env, space string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			hits := search(t, env, admin, "vector", "what is the office cat called")
			if len(hits.Items) == 3 && strings.Contains(hits.Items[0].Entry.Content, "cat") && hits.Items[0].Explain.Embedder == space {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("vector search in %s: %+v", space, hits.Items)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitVector(env, "openai-stand-in-a-32d")
	if n := stand.embedded("stand-in-a"); n < 4 { // three entries and the query
		t.Fatalf("the stand-in embedded %d texts with model a", n)
	}
	stopFirst()

	// The deployment switches model: a new API replica and a new worker.
	cfg := env.Config
	cfg.EmbedModel = "stand-in-b"
	api := wiring.NewAPI(cfg, env.Infra, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	srv := httptest.NewServer(api.Server)
	defer srv.Close()
	switched := *env
	switched.URL = srv.URL

	if hits := search(t, &switched, admin, "vector", "what is the office cat called"); len(hits.Items) != 0 {
		t.Fatalf("the new space has hits before re-embedding (mixed spaces): %+v", hits.Items)
	}
	if hits := search(t, &switched, admin, "hybrid", "VPN certificate"); len(hits.Items) == 0 || !strings.Contains(hits.Items[0].Entry.Content, "VPN") {
		t.Fatalf("lexical search during the switch: %+v", hits.Items)
	}
	startWorker(t, cfg, env.Infra)
	waitVector(&switched, "openai-stand-in-b-32d")
	if n := stand.embedded("stand-in-b"); n < 3 {
		t.Fatalf("the worker re-embedded %d texts with model b", n)
	}
	// The old replica's space is gone: it finds nothing rather than stale vectors.
	if hits := search(t, env, admin, "vector", "what is the office cat called"); len(hits.Items) != 0 {
		t.Fatalf("the old space after the switch: %+v", hits.Items)
	}
	// New writes on the switched replica are embedded in the new space.
	if r := switched.Do(t, "POST", "/v1/entries", admin, map[string]any{"content": "The office dog is called Pepper", "infer": false}); r.Status != http.StatusCreated {
		t.Fatalf("write: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		hits := search(t, &switched, admin, "vector", "office dog Pepper")
		if len(hits.Items) == 4 && strings.Contains(hits.Items[0].Entry.Content, "Pepper") && hits.Items[0].Explain.Embedder == "openai-stand-in-b-32d" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new entry was not embedded in the new space: %+v", hits.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
