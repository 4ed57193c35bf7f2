package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OpenAIConfig configures an OpenAI-compatible /embeddings endpoint (OpenAI,
// Ollama, vLLM, TEI, LiteLLM, ...).
type OpenAIConfig struct {
	// BaseURL is the API root; requests go to BaseURL + "/embeddings", e.g.
	// "http://localhost:11434/v1".
	BaseURL string
	// Model is the model name sent with every request.
	Model string
	// APIKey, when set, is sent as a bearer token.
	APIKey string
	// Dim is the vector length the model returns. It is required: the store
	// sizes vector columns by it, and a response of another length is an
	// error rather than a silently mixed space.
	Dim int
	// SendDimensions asks the server for Dim-long vectors (the "dimensions"
	// parameter of models that support shortening).
	SendDimensions bool
	// BatchSize is the most texts per request; 0 means 64.
	BatchSize int
	// Timeout bounds each request; 0 means 30 s.
	Timeout time.Duration
	// MaxRetries is how often a request that failed with 429, a 5xx status or
	// a network error is retried; 0 means 4, negative means never.
	MaxRetries int
	// RetryBase is the first backoff; it doubles per retry up to 30 s, with
	// jitter. 0 means 500 ms.
	RetryBase time.Duration
	// Client sends the requests; nil means a client with no overall timeout
	// (Timeout applies per request).
	Client *http.Client
}

// OpenAI embeds through an OpenAI-compatible HTTP endpoint. It is safe for
// concurrent use.
type OpenAI struct {
	cfg OpenAIConfig
	url string
	id  string
}

// maxResponseBytes bounds a response body: 64 texts × 4096 dims of JSON
// floats is about 6 MB, so 64 MB only stops a misbehaving server.
const maxResponseBytes = 64 << 20

// NewOpenAI validates cfg and returns the provider. It makes no request.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.BaseURL == "" || cfg.Model == "" {
		return nil, errors.New("embed: openai provider needs a base URL and a model")
	}
	if cfg.Dim <= 0 {
		return nil, errors.New("embed: openai provider needs the model's dimension")
	}
	if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, fmt.Errorf("embed: openai base URL %q is not http(s)", cfg.BaseURL)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 64
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 500 * time.Millisecond
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	return &OpenAI{
		cfg: cfg,
		url: strings.TrimRight(cfg.BaseURL, "/") + "/embeddings",
		id:  fmt.Sprintf("openai-%s-%dd", cfg.Model, cfg.Dim),
	}, nil
}

// ID names the space by model and dimension: the same model served by
// different servers yields the same vectors.
func (o *OpenAI) ID() string { return o.id }

// Dim is the configured vector length.
func (o *OpenAI) Dim() int { return o.cfg.Dim }

// Embed sends texts in batches and returns L2-normalised vectors in input
// order. Blank texts are not sent (servers reject them) and get the zero
// vector.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var idx []int
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		vecs, err := o.embedBatch(ctx, batch)
		if err != nil {
			return err
		}
		for i, v := range vecs {
			out[idx[i]] = v
		}
		idx, batch = idx[:0], batch[:0]
		return nil
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			out[i] = make([]float32, o.cfg.Dim)
			continue
		}
		idx = append(idx, i)
		batch = append(batch, t)
		if len(batch) == o.cfg.BatchSize {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

type openAIRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

type openAIResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

type openAIError struct {
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
}

// retryableError marks a failure worth retrying and the server's wish for
// how long to wait (0: no wish).
type retryableError struct {
	err   error
	after time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

func (o *OpenAI) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	req := openAIRequest{Model: o.cfg.Model, Input: texts, EncodingFormat: "float"}
	if o.cfg.SendDimensions {
		req.Dimensions = o.cfg.Dim
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("embed: openai: %w", err)
	}
	for attempt := 0; ; attempt++ {
		vecs, err := o.post(ctx, body, len(texts))
		if err == nil {
			return vecs, nil
		}
		var re *retryableError
		if !errors.As(err, &re) || attempt >= o.cfg.MaxRetries {
			return nil, err
		}
		wait := o.backoff(attempt)
		if re.after > wait {
			wait = min(re.after, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("embed: openai: %w (after %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// backoff is base·2^attempt capped at 30 s, with up to 50 % jitter so that
// replicas hitting the same rate limit do not retry in lockstep.
func (o *OpenAI) backoff(attempt int) time.Duration {
	d := o.cfg.RetryBase << min(attempt, 16)
	d = min(d, 30*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (o *OpenAI) post(ctx context.Context, body []byte, n int) ([][]float32, error) {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("embed: openai: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if o.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.cfg.APIKey)
	}
	resp, err := o.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
			return nil, fmt.Errorf("embed: openai: %w", err)
		}
		// Network failures and per-request timeouts are transient.
		return nil, &retryableError{err: fmt.Errorf("embed: openai: %w", err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &retryableError{err: fmt.Errorf("embed: openai: read response: %w", err)}
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("embed: openai: response over %d bytes", maxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("embed: openai: status %d: %s", resp.StatusCode, errorMessage(data))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return nil, &retryableError{err: err, after: retryAfter(resp.Header.Get("Retry-After"))}
		}
		return nil, err
	}
	var r openAIResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("embed: openai: decode response: %w", err)
	}
	if len(r.Data) != n {
		return nil, fmt.Errorf("embed: openai: %d embeddings for %d inputs", len(r.Data), n)
	}
	out := make([][]float32, n)
	for _, d := range r.Data {
		if d.Index < 0 || d.Index >= n || out[d.Index] != nil {
			return nil, fmt.Errorf("embed: openai: bad or repeated index %d", d.Index)
		}
		if len(d.Embedding) != o.cfg.Dim {
			return nil, fmt.Errorf("embed: openai: model %s returned %d dimensions, configured %d",
				o.cfg.Model, len(d.Embedding), o.cfg.Dim)
		}
		Normalize(d.Embedding)
		out[d.Index] = d.Embedding
	}
	return out, nil
}

// errorMessage extracts an OpenAI-style error message, or a short prefix of
// the body.
func errorMessage(body []byte) string {
	var e openAIError
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// retryAfter parses a Retry-After header given in seconds (the HTTP-date
// form is rare for APIs and ignored).
func retryAfter(h string) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}
