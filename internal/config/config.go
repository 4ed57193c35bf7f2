// Package config reads the service's configuration from environment variables,
// applies defaults, validates it, and renders it for logs with secrets masked.
//
// The embedder (the vector space of factual memory and of guard's contexts)
// is chosen by ADMEM_EMBEDDER; each choice reads only its own variables, and
// setting another choice's variable is an error:
//
//	glove   ADMEM_EMBED_FILE (default .data/embed/glove-50k.bin, made by
//	        scripts/embeddings.sh): the offline default, GloVe 100-d + SIF
//	openai  ADMEM_EMBED_URL (API root; requests go to URL/embeddings),
//	        ADMEM_EMBED_MODEL, ADMEM_EMBED_DIM (vector length), all required;
//	        ADMEM_EMBED_API_KEY or ADMEM_EMBED_API_KEY_FILE (bearer token,
//	        optional), ADMEM_EMBED_TIMEOUT (per request, default 30s)
//	onnx    ADMEM_EMBED_MODEL_DIR: a sentence-transformer folder with
//	        model.onnx and vocab.txt, run in pure Go
//
// Changing the embedder is safe: the worker re-embeds every entry in the new
// space in the background, and search never compares vectors across spaces.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is everything the API and the worker read from their environment.
type Config struct {
	HTTPAddr           string
	DatabaseURL        string
	MigrateDatabaseURL string
	RedisURL           string
	RedisPrefix        string
	JWTSecret          string
	JWTTTL             time.Duration
	JWTIssuer          string
	JWTAudience        string
	TLSCertFile        string
	TLSKeyFile         string
	TrustedProxies     []netip.Prefix
	MaxBodyBytes       int64
	RateLimitRPS       float64
	RateLimitBurst     int
	// KeyRateLimitRPS and KeyRateLimitBurst cap one API key within its
	// tenant's limit (0: a key may use all of it).
	KeyRateLimitRPS   float64
	KeyRateLimitBurst int
	// AuthFailRPS and AuthFailBurst bound failed authentications per client
	// address and per key prefix; beyond them the address or prefix is
	// refused with 429 for a while.
	AuthFailRPS   float64
	AuthFailBurst int
	// MetricsAddr, when set, serves /metrics there without credentials (for
	// a scraper on a private network); the API port's /metrics needs a
	// platform key either way.
	MetricsAddr string
	// RedisRequestTimeout bounds each Redis call made while a request
	// waits (rate limits, notifications); a circuit breaker stops calling
	// a Redis that keeps failing.
	RedisRequestTimeout time.Duration
	LogLevel            slog.Level
	ShutdownTimeout     time.Duration
	DBMaxConns          int32
	WorkerAddr          string
	Embedder            string
	EmbedFile           string
	BootstrapKeyFile    string

	// The OpenAI-compatible embedder (ADMEM_EMBEDDER=openai): requests go
	// to EmbedURL + "/embeddings" with EmbedModel, and EmbedDim is the length
	// of the vectors it returns. EmbedAPIKey comes from ADMEM_EMBED_API_KEY
	// or the file ADMEM_EMBED_API_KEY_FILE names (for secret mounts).
	EmbedURL     string
	EmbedModel   string
	EmbedAPIKey  string
	EmbedDim     int
	EmbedTimeout time.Duration
	// EmbedModelDir is the sentence-transformer ONNX folder of
	// ADMEM_EMBEDDER=onnx.
	EmbedModelDir string

	// Adapter training and publication. The worker looks for tenants due
	// for training every AdapterTrainEvery; a tenant is due once
	// AdapterMinNew labelled steps arrived since its last training, or
	// any did and AdapterMaxAge has passed. API replicas learn of a new
	// active version by pub/sub at once, and poll every AdapterPoll in
	// case a notification was lost.
	AdapterMinNew     int
	AdapterMaxAge     time.Duration
	AdapterTrainEvery time.Duration
	AdapterPoll       time.Duration

	// EventClaimIdle is how long a stream entry a worker read and never
	// acknowledged stays with it before another worker reclaims it: the
	// time a killed worker's events wait.
	EventClaimIdle time.Duration

	// IdempotencyLease is how long an Idempotency-Key claimed by a request
	// stays claimed without its request renewing it (it renews it while it
	// runs, however long): the time a retry of a request whose process died
	// mid-request gets 409 before it may run again.
	IdempotencyLease time.Duration
}

// Embedder names accepted in ADMEM_EMBEDDER.
const (
	EmbedderGloVe  = "glove"
	EmbedderOpenAI = "openai"
	EmbedderONNX   = "onnx"
)

// Adapter pipeline defaults (see Config.AdapterMinNew and the rest).
const (
	DefaultAdapterMinNew     = 200
	DefaultAdapterMaxAge     = time.Hour
	DefaultAdapterTrainEvery = 30 * time.Second
	// One indexed query a second per API replica bounds how long a lost
	// activation message leaves a replica on the previous version.
	DefaultAdapterPoll = time.Second
)

// DefaultEventClaimIdle is Config.EventClaimIdle's default.
const DefaultEventClaimIdle = 30 * time.Second

// DefaultIdempotencyLease is Config.IdempotencyLease's default.
const DefaultIdempotencyLease = 30 * time.Second

// Getenv is os.Getenv's shape, so tests can pass a map.
type Getenv func(string) string

// Load reads and validates the configuration. Every problem is reported, not
// just the first.
func Load(getenv Getenv) (Config, error) {
	var errs []error
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	dur := func(key string, def time.Duration) time.Duration {
		v := getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive duration like 15m, got %q", key, v))
			return def
		}
		return d
	}
	whole := func(key string) int {
		v := strings.TrimSpace(getenv(key))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive whole number, got %q", key, v))
			return 0
		}
		return n
	}
	num := func(key string, def float64) float64 {
		v := getenv(key)
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive number, got %q", key, v))
			return def
		}
		return f
	}

	optNum := func(key string) float64 { // 0 when unset
		if getenv(key) == "" {
			return 0
		}
		return num(key, 0)
	}

	c := Config{
		HTTPAddr:            str("ADMEM_HTTP_ADDR", "127.0.0.1:8080"),
		DatabaseURL:         str("ADMEM_DATABASE_URL", ""),
		MigrateDatabaseURL:  str("ADMEM_MIGRATE_DATABASE_URL", ""),
		RedisURL:            str("ADMEM_REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix:         str("ADMEM_REDIS_PREFIX", "admem:"),
		JWTSecret:           getenv("ADMEM_JWT_SECRET"),
		JWTTTL:              dur("ADMEM_JWT_TTL", 15*time.Minute),
		JWTIssuer:           str("ADMEM_JWT_ISSUER", "admem"),
		JWTAudience:         str("ADMEM_JWT_AUDIENCE", "admem-api"),
		TLSCertFile:         str("ADMEM_TLS_CERT_FILE", ""),
		TLSKeyFile:          str("ADMEM_TLS_KEY_FILE", ""),
		MaxBodyBytes:        int64(num("ADMEM_MAX_BODY_BYTES", 16<<20)),
		RateLimitRPS:        num("ADMEM_RATE_LIMIT_RPS", 200),
		RateLimitBurst:      int(num("ADMEM_RATE_LIMIT_BURST", 400)),
		KeyRateLimitRPS:     optNum("ADMEM_KEY_RATE_LIMIT_RPS"),
		KeyRateLimitBurst:   int(optNum("ADMEM_KEY_RATE_LIMIT_BURST")),
		AuthFailRPS:         num("ADMEM_AUTH_FAIL_RPS", 0.2),
		AuthFailBurst:       int(num("ADMEM_AUTH_FAIL_BURST", 20)),
		MetricsAddr:         str("ADMEM_METRICS_ADDR", ""),
		RedisRequestTimeout: dur("ADMEM_REDIS_REQUEST_TIMEOUT", 50*time.Millisecond),
		ShutdownTimeout:     dur("ADMEM_SHUTDOWN_TIMEOUT", 20*time.Second),
		DBMaxConns:          int32(num("ADMEM_DB_MAX_CONNS", 20)),
		WorkerAddr:          str("ADMEM_WORKER_ADDR", "127.0.0.1:8081"),
		Embedder:            strings.ToLower(str("ADMEM_EMBEDDER", EmbedderGloVe)),
		EmbedFile:           str("ADMEM_EMBED_FILE", ".data/embed/glove-50k.bin"),
		BootstrapKeyFile:    str("ADMEM_BOOTSTRAP_KEY_FILE", ""),
		EmbedURL:            str("ADMEM_EMBED_URL", ""),
		EmbedModel:          str("ADMEM_EMBED_MODEL", ""),
		EmbedAPIKey:         strings.TrimSpace(getenv("ADMEM_EMBED_API_KEY")),
		EmbedDim:            whole("ADMEM_EMBED_DIM"),
		EmbedTimeout:        dur("ADMEM_EMBED_TIMEOUT", 30*time.Second),
		EmbedModelDir:       str("ADMEM_EMBED_MODEL_DIR", ""),
		AdapterMinNew:       whole("ADMEM_ADAPTER_MIN_NEW"),
		AdapterMaxAge:       dur("ADMEM_ADAPTER_MAX_AGE", DefaultAdapterMaxAge),
		AdapterTrainEvery:   dur("ADMEM_ADAPTER_TRAIN_EVERY", DefaultAdapterTrainEvery),
		AdapterPoll:         dur("ADMEM_ADAPTER_POLL", DefaultAdapterPoll),
		EventClaimIdle:      dur("ADMEM_EVENT_CLAIM_IDLE", DefaultEventClaimIdle),
		IdempotencyLease:    dur("ADMEM_IDEMPOTENCY_LEASE", DefaultIdempotencyLease),
	}
	if c.MigrateDatabaseURL == "" {
		c.MigrateDatabaseURL = c.DatabaseURL
	}
	if c.AdapterMinNew == 0 {
		c.AdapterMinNew = DefaultAdapterMinNew
	}

	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("ADMEM_DATABASE_URL: required (postgres://user:pass@host:port/db)"))
	} else if err := checkURL(c.DatabaseURL, "postgres", "postgresql"); err != nil {
		errs = append(errs, fmt.Errorf("ADMEM_DATABASE_URL: %w", err))
	}
	if err := checkURL(c.MigrateDatabaseURL, "postgres", "postgresql"); c.MigrateDatabaseURL != "" && err != nil {
		errs = append(errs, fmt.Errorf("ADMEM_MIGRATE_DATABASE_URL: %w", err))
	}
	if err := checkURL(c.RedisURL, "redis", "rediss"); err != nil {
		errs = append(errs, fmt.Errorf("ADMEM_REDIS_URL: %w", err))
	}
	if len(c.JWTSecret) < 32 {
		errs = append(errs, errors.New("ADMEM_JWT_SECRET: required, at least 32 bytes"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("ADMEM_TLS_CERT_FILE and ADMEM_TLS_KEY_FILE: set both or neither"))
	}
	for _, addr := range []struct{ key, v string }{{"ADMEM_HTTP_ADDR", c.HTTPAddr}, {"ADMEM_WORKER_ADDR", c.WorkerAddr}, {"ADMEM_METRICS_ADDR", c.MetricsAddr}} {
		if addr.v == "" && addr.key == "ADMEM_METRICS_ADDR" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: want host:port, got %q", addr.key, addr.v))
		}
	}
	if v := getenv("ADMEM_TRUSTED_PROXIES"); v != "" {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if !strings.Contains(s, "/") {
				if a, err := netip.ParseAddr(s); err == nil {
					s = netip.PrefixFrom(a, a.BitLen()).String()
				}
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("ADMEM_TRUSTED_PROXIES: %q is not an address or CIDR", s))
				continue
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
	}
	switch lv := strings.ToLower(str("ADMEM_LOG_LEVEL", "info")); lv {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("ADMEM_LOG_LEVEL: want debug, info, warn or error, got %q", lv))
	}
	if c.RateLimitBurst < 1 {
		errs = append(errs, errors.New("ADMEM_RATE_LIMIT_BURST: must be at least 1"))
	}
	if (c.KeyRateLimitRPS == 0) != (c.KeyRateLimitBurst == 0) {
		errs = append(errs, errors.New("ADMEM_KEY_RATE_LIMIT_RPS and ADMEM_KEY_RATE_LIMIT_BURST: set both or neither"))
	}
	if c.AuthFailBurst < 1 {
		errs = append(errs, errors.New("ADMEM_AUTH_FAIL_BURST: must be at least 1"))
	}
	errs = append(errs, c.loadEmbedder(str("ADMEM_EMBED_API_KEY_FILE", ""))...)
	return c, errors.Join(errs...)
}

// loadEmbedder reads the API key file and checks that the chosen embedder has
// what it needs and that no other embedder's settings are given: a URL set
// while the embedder is still glove is a forgotten ADMEM_EMBEDDER, and
// silently embedding with GloVe would hide it.
func (c *Config) loadEmbedder(keyFile string) []error {
	var errs []error
	if keyFile != "" {
		if c.EmbedAPIKey != "" {
			errs = append(errs, errors.New("ADMEM_EMBED_API_KEY and ADMEM_EMBED_API_KEY_FILE: set one, not both"))
		} else if b, err := os.ReadFile(keyFile); err != nil {
			errs = append(errs, fmt.Errorf("ADMEM_EMBED_API_KEY_FILE: %w", err))
		} else if c.EmbedAPIKey = strings.TrimSpace(string(b)); c.EmbedAPIKey == "" {
			errs = append(errs, fmt.Errorf("ADMEM_EMBED_API_KEY_FILE: %s is empty", keyFile))
		}
	}
	need := func(key string, missing bool, why string) {
		if missing {
			errs = append(errs, fmt.Errorf("%s: required with ADMEM_EMBEDDER=%s (%s)", key, c.Embedder, why))
		}
	}
	openai := []struct {
		key string
		set bool
	}{
		{"ADMEM_EMBED_URL", c.EmbedURL != ""},
		{"ADMEM_EMBED_MODEL", c.EmbedModel != ""},
		{"ADMEM_EMBED_API_KEY", c.EmbedAPIKey != ""},
		{"ADMEM_EMBED_DIM", c.EmbedDim != 0},
	}
	unused := func(key, embedder string, set bool) {
		if set && c.Embedder != embedder {
			errs = append(errs, fmt.Errorf("%s: only read with ADMEM_EMBEDDER=%s, but it is %s", key, embedder, c.Embedder))
		}
	}
	switch c.Embedder {
	case EmbedderGloVe, EmbedderONNX:
	case EmbedderOpenAI:
		need("ADMEM_EMBED_URL", c.EmbedURL == "", "the API root, e.g. http://127.0.0.1:11434/v1")
		need("ADMEM_EMBED_MODEL", c.EmbedModel == "", "the model name sent with each request")
		need("ADMEM_EMBED_DIM", c.EmbedDim == 0, "the length of the model's vectors")
		if c.EmbedURL != "" {
			if u, err := url.Parse(c.EmbedURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("ADMEM_EMBED_URL: want an http(s) URL with a host, got %q", MaskURL(c.EmbedURL)))
			}
		}
	default:
		return append(errs, fmt.Errorf("ADMEM_EMBEDDER: want %s, %s or %s, got %q", EmbedderGloVe, EmbedderOpenAI, EmbedderONNX, c.Embedder))
	}
	need("ADMEM_EMBED_MODEL_DIR", c.Embedder == EmbedderONNX && c.EmbedModelDir == "", "a sentence-transformer folder with model.onnx and vocab.txt")
	for _, o := range openai {
		unused(o.key, EmbedderOpenAI, o.set)
	}
	unused("ADMEM_EMBED_MODEL_DIR", EmbedderONNX, c.EmbedModelDir != "")
	return errs
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("scheme must be one of %v", schemes)
}

// TLS reports whether the API serves HTTPS itself.
func (c Config) TLS() bool { return c.TLSCertFile != "" }

// LogValue renders the configuration for the start-up log with secrets masked.
func (c Config) LogValue() slog.Value {
	proxies := make([]string, len(c.TrustedProxies))
	for i, p := range c.TrustedProxies {
		proxies[i] = p.String()
	}
	return slog.GroupValue(
		slog.String("http_addr", c.HTTPAddr),
		slog.String("worker_addr", c.WorkerAddr),
		slog.String("database_url", MaskURL(c.DatabaseURL)),
		slog.String("migrate_database_url", MaskURL(c.MigrateDatabaseURL)),
		slog.String("redis_url", MaskURL(c.RedisURL)),
		slog.String("redis_prefix", c.RedisPrefix),
		slog.String("jwt_secret", mask(c.JWTSecret)),
		slog.Duration("jwt_ttl", c.JWTTTL),
		slog.Bool("tls", c.TLS()),
		slog.String("trusted_proxies", strings.Join(proxies, ",")),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Float64("rate_limit_rps", c.RateLimitRPS),
		slog.Int("rate_limit_burst", c.RateLimitBurst),
		slog.Float64("key_rate_limit_rps", c.KeyRateLimitRPS),
		slog.Int("key_rate_limit_burst", c.KeyRateLimitBurst),
		slog.Float64("auth_fail_rps", c.AuthFailRPS),
		slog.Int("auth_fail_burst", c.AuthFailBurst),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Duration("redis_request_timeout", c.RedisRequestTimeout),
		slog.String("log_level", c.LogLevel.String()),
		slog.Int("db_max_conns", int(c.DBMaxConns)),
		slog.String("embedder", c.Embedder),
		slog.String("embed_file", c.EmbedFile),
		slog.String("embed_url", MaskURL(c.EmbedURL)),
		slog.String("embed_model", c.EmbedModel),
		slog.String("embed_api_key", mask(c.EmbedAPIKey)),
		slog.Int("embed_dim", c.EmbedDim),
		slog.Duration("embed_timeout", c.EmbedTimeout),
		slog.String("embed_model_dir", c.EmbedModelDir),
		slog.Int("adapter_min_new", c.AdapterMinNew),
		slog.Duration("adapter_max_age", c.AdapterMaxAge),
		slog.Duration("adapter_train_every", c.AdapterTrainEvery),
		slog.Duration("adapter_poll", c.AdapterPoll),
		slog.Duration("event_claim_idle", c.EventClaimIdle),
		slog.Duration("idempotency_lease", c.IdempotencyLease),
	)
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "****"
}

// MaskURL hides the password in a connection URL.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "****")
	}
	return u.String()
}
