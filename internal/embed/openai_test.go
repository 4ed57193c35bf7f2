package embed

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeEmbeddings speaks the OpenAI /embeddings protocol: each input becomes
// a vector [len(text), 1, 0, …] of length dim, returned in reverse order to
// check that the client sorts by index. fail, when set, answers instead.
type fakeEmbeddings struct {
	dim      int
	requests atomic.Int32
	inputs   atomic.Int32
	fail     func(n int32, w http.ResponseWriter) bool
	lastReq  atomic.Value // openAIRequest
	lastAuth atomic.Value // string
}

func (f *fakeEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	f.lastAuth.Store(r.Header.Get("Authorization"))
	if f.fail != nil && f.fail(n, w) {
		return
	}
	var req openAIRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.lastReq.Store(req)
	f.inputs.Add(int32(len(req.Input)))
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	var data []item
	for i := len(req.Input) - 1; i >= 0; i-- {
		v := make([]float32, f.dim)
		v[0] = float32(len(req.Input[i]))
		if f.dim > 1 {
			v[1] = 1
		}
		data = append(data, item{"embedding", i, v})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model})
}

func newFake(t *testing.T, dim int) (*fakeEmbeddings, *httptest.Server) {
	f := &fakeEmbeddings{dim: dim}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func testConfig(url string, dim int) OpenAIConfig {
	return OpenAIConfig{BaseURL: url + "/v1/", Model: "m1", APIKey: "sk-test", Dim: dim, BatchSize: 2, RetryBase: time.Millisecond}
}

func TestOpenAIEmbedsInOrderInBatches(t *testing.T) {
	f, srv := newFake(t, 3)
	o, err := NewOpenAI(testConfig(srv.URL, 3))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"a", "bbb", "  ", "cc", "dddd", ""}
	vs, err := o.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.requests.Load(); got != 2 {
		t.Errorf("%d requests, want 2 (4 non-blank texts, batches of 2)", got)
	}
	if got := f.inputs.Load(); got != 4 {
		t.Errorf("%d inputs sent, want 4: blank texts must not be sent", got)
	}
	for i, text := range texts {
		v := vs[i]
		if len(v) != 3 {
			t.Fatalf("vector %d has %d dims", i, len(v))
		}
		if strings.TrimSpace(text) == "" {
			if v[0] != 0 || v[1] != 0 {
				t.Errorf("blank text %d: %v, want zero", i, v)
			}
			continue
		}
		// [len, 1, 0] normalised: the first component recovers the length.
		l := float64(len(text))
		want := l / math.Sqrt(l*l+1)
		if math.Abs(float64(v[0])-want) > 1e-6 {
			t.Errorf("text %q: %v, want first component %v (order or normalisation wrong)", text, v, want)
		}
	}
	if auth := f.lastAuth.Load(); auth != "Bearer sk-test" {
		t.Errorf("Authorization %q", auth)
	}
	req := f.lastReq.Load().(openAIRequest)
	if req.Model != "m1" || req.EncodingFormat != "float" || req.Dimensions != 0 {
		t.Errorf("request %+v", req)
	}
	if o.ID() != "openai-m1-3d" || o.Dim() != 3 {
		t.Errorf("ID %q, Dim %d", o.ID(), o.Dim())
	}
}

func TestOpenAIRetriesTransientFailures(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		f, srv := newFake(t, 2)
		f.fail = func(n int32, w http.ResponseWriter) bool {
			if n <= 2 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, `{"error":{"message":"slow down"}}`, status)
				return true
			}
			return false
		}
		o, err := NewOpenAI(testConfig(srv.URL, 2))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Embed(context.Background(), []string{"x"}); err != nil {
			t.Errorf("status %d: %v", status, err)
		}
		if got := f.requests.Load(); got != 3 {
			t.Errorf("status %d: %d requests, want 3", status, got)
		}
	}
}

func TestOpenAIGivesUpAfterMaxRetries(t *testing.T) {
	f, srv := newFake(t, 2)
	f.fail = func(n int32, w http.ResponseWriter) bool {
		http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
		return true
	}
	cfg := testConfig(srv.URL, 2)
	cfg.MaxRetries = 2
	o, _ := NewOpenAI(cfg)
	_, err := o.Embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "overloaded") {
		t.Fatalf("err = %v, want the server's message", err)
	}
	if got := f.requests.Load(); got != 3 {
		t.Errorf("%d requests, want 1 + 2 retries", got)
	}
}

func TestOpenAIDoesNotRetryClientErrors(t *testing.T) {
	f, srv := newFake(t, 2)
	f.fail = func(n int32, w http.ResponseWriter) bool {
		http.Error(w, `{"error":{"message":"invalid model"}}`, http.StatusBadRequest)
		return true
	}
	o, _ := NewOpenAI(testConfig(srv.URL, 2))
	_, err := o.Embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "invalid model") {
		t.Fatalf("err = %v", err)
	}
	if got := f.requests.Load(); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestOpenAIChecksDimension(t *testing.T) {
	_, srv := newFake(t, 4)
	o, _ := NewOpenAI(testConfig(srv.URL, 3))
	_, err := o.Embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "4 dimensions") {
		t.Fatalf("err = %v, want a dimension mismatch", err)
	}
}

func TestOpenAISendsDimensionsWhenAsked(t *testing.T) {
	f, srv := newFake(t, 2)
	cfg := testConfig(srv.URL, 2)
	cfg.SendDimensions = true
	cfg.APIKey = ""
	o, _ := NewOpenAI(cfg)
	if _, err := o.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if req := f.lastReq.Load().(openAIRequest); req.Dimensions != 2 {
		t.Errorf("dimensions %d, want 2", req.Dimensions)
	}
	if auth := f.lastAuth.Load(); auth != "" {
		t.Errorf("Authorization %q sent without a key", auth)
	}
}

func TestOpenAITimesOutAndStopsOnCancel(t *testing.T) {
	f, srv := newFake(t, 2)
	// Registered after the server's Close, so it runs first and lets the
	// stuck handlers return before Close waits for them.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.fail = func(n int32, w http.ResponseWriter) bool {
		<-release
		return true
	}
	cfg := testConfig(srv.URL, 2)
	cfg.Timeout = 20 * time.Millisecond
	cfg.MaxRetries = 1
	o, _ := NewOpenAI(cfg)
	if _, err := o.Embed(context.Background(), []string{"x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	if got := f.requests.Load(); got != 2 {
		t.Errorf("%d requests, want 2: a timed-out request is retried once", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Embed(ctx, []string{"x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestOpenAIRejectsMalformedResponses(t *testing.T) {
	cases := map[string]string{
		"not json":    `nope`,
		"short":       `{"data":[]}`,
		"bad index":   `{"data":[{"index":5,"embedding":[1,0]}]}`,
		"wrong shape": `{"data":[{"index":0,"embedding":"x"}]}`,
	}
	for name, body := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(body))
		}))
		o, _ := NewOpenAI(testConfig(srv.URL, 2))
		if _, err := o.Embed(context.Background(), []string{"x"}); err == nil {
			t.Errorf("%s: no error", name)
		}
		srv.Close()
	}
}

func TestNewOpenAIValidates(t *testing.T) {
	for name, cfg := range map[string]OpenAIConfig{
		"no url":    {Model: "m", Dim: 3},
		"no model":  {BaseURL: "http://x", Dim: 3},
		"no dim":    {BaseURL: "http://x", Model: "m"},
		"bad proto": {BaseURL: "ftp://x", Model: "m", Dim: 3},
	} {
		if _, err := NewOpenAI(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNewPicksProvider(t *testing.T) {
	path := t.TempDir() + "/tiny.bin"
	if err := tinyTable(t).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{GloVeFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(*SIF); !ok || e.Dim() != 6 {
		t.Errorf("default provider %T dim %d", e, e.Dim())
	}
	e, err = New(Config{Provider: "OpenAI", BaseURL: "http://localhost:1/v1", Model: "m", Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(*OpenAI); !ok {
		t.Errorf("openai provider %T", e)
	}
	for _, cfg := range []Config{{Provider: "glove"}, {Provider: "bogus"}, {Provider: "glove", GloVeFile: path + ".missing"}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
