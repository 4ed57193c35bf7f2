package worker_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/admem/admem/internal/apitest"
)

// textRecorder passes requests on to the embedding stand-in and keeps the
// texts it was asked to embed.
type textRecorder struct {
	next http.Handler

	mu    sync.Mutex
	texts []string
}

func (r *textRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var in struct {
		Input []string `json:"input"`
	}
	if json.Unmarshal(body, &in) == nil {
		r.mu.Lock()
		r.texts = append(r.texts, in.Input...)
		r.mu.Unlock()
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.next.ServeHTTP(w, req)
}

func (r *textRecorder) saw(text string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.texts, text)
}

// TestFailureLearningUsesTheConfiguredEmbedder configures the API and the
// worker with ADMEM_EMBEDDER=openai (no word-vector file at all): the
// worker's failure clustering and the API's guard must embed through the
// configured service, in its space, like factual memory does. With an
// embedder built from the provider and file alone, the worker recorded no
// failures and guard embedded nothing.
func TestFailureLearningUsesTheConfiguredEmbedder(t *testing.T) {
	t.Parallel()
	stand := &textRecorder{next: &embeddingServer{dim: 32, key: "sk-stand-in", texts: map[string]int{}}}
	ext := httptest.NewServer(stand)
	defer ext.Close()
	env := apitest.New(t,
		apitest.WithEnv("ADMEM_EMBEDDER", "openai"),
		apitest.WithEnv("ADMEM_EMBED_FILE", ""),
		apitest.WithEnv("ADMEM_EMBED_URL", ext.URL+"/v1"),
		apitest.WithEnv("ADMEM_EMBED_MODEL", "stand-in-learning"),
		apitest.WithEnv("ADMEM_EMBED_DIM", "32"),
		apitest.WithEnv("ADMEM_EMBED_API_KEY", "sk-stand-in"),
	)
	tenantID, admin := env.Tenant(t, "learning-embedder")
	startWorker(t, env.Config, env.Infra)

	const task = "book a flight for the user"
	clusterID := clusterThreeFailures(t, env, admin, task, "the worker never clustered the 3 failures (no embedder?)")
	// The cluster lives in the configured space.
	cl, err := env.Infra.DB.GetFailureCluster(t.Context(), tenantID, clusterID)
	if err != nil {
		t.Fatal(err)
	}
	if cl.EmbedderID != "openai-stand-in-learning-32d" || len(cl.Centroid) != 32 {
		t.Fatalf("cluster in space %q with a %d-d centroid", cl.EmbedderID, len(cl.Centroid))
	}
	if id := env.API.Learning.Embedder; id == nil || id.ID() != cl.EmbedderID || env.API.Learning.Failures.Embedder() != id {
		t.Fatalf("the API's learning embedder is not the configured one: %v", id)
	}

	// Guard answers from the mistake the same pass learnt; it embeds
	// nothing itself until the tenant has an adapter.
	candidate := map[string]any{"tool": "book", "args": map[string]any{"mode": "fast", "seat": 7}}
	r := env.Do(t, "POST", "/v1/guard", admin, map[string]any{"task": task, "candidates": []any{candidate}})
	if r.Status != http.StatusOK {
		t.Fatalf("guard: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(string(r.Body), cl.Signature) || !strings.Contains(string(r.Body), `"decision":"warn"`) {
		t.Fatalf("guard does not warn with the cluster's mistake %q: %s", cl.Signature, r.Body)
	}
}
