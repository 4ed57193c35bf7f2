// Package config reads the service's configuration from environment variables,
// applies defaults, validates it, and renders it for logs with secrets masked.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
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
	LogLevel           slog.Level
	ShutdownTimeout    time.Duration
	DBMaxConns         int32
	WorkerAddr         string
	Embedder           string
	EmbedFile          string
	BootstrapKeyFile   string
}

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

	c := Config{
		HTTPAddr:           str("ADMEM_HTTP_ADDR", "127.0.0.1:8080"),
		DatabaseURL:        str("ADMEM_DATABASE_URL", ""),
		MigrateDatabaseURL: str("ADMEM_MIGRATE_DATABASE_URL", ""),
		RedisURL:           str("ADMEM_REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix:        str("ADMEM_REDIS_PREFIX", "admem:"),
		JWTSecret:          getenv("ADMEM_JWT_SECRET"),
		JWTTTL:             dur("ADMEM_JWT_TTL", 15*time.Minute),
		JWTIssuer:          str("ADMEM_JWT_ISSUER", "admem"),
		JWTAudience:        str("ADMEM_JWT_AUDIENCE", "admem-api"),
		TLSCertFile:        str("ADMEM_TLS_CERT_FILE", ""),
		TLSKeyFile:         str("ADMEM_TLS_KEY_FILE", ""),
		MaxBodyBytes:       int64(num("ADMEM_MAX_BODY_BYTES", 16<<20)),
		RateLimitRPS:       num("ADMEM_RATE_LIMIT_RPS", 200),
		RateLimitBurst:     int(num("ADMEM_RATE_LIMIT_BURST", 400)),
		ShutdownTimeout:    dur("ADMEM_SHUTDOWN_TIMEOUT", 20*time.Second),
		DBMaxConns:         int32(num("ADMEM_DB_MAX_CONNS", 20)),
		WorkerAddr:         str("ADMEM_WORKER_ADDR", "127.0.0.1:8081"),
		Embedder:           str("ADMEM_EMBEDDER", "glove"),
		EmbedFile:          str("ADMEM_EMBED_FILE", ".data/embed/glove-50k.bin"),
		BootstrapKeyFile:   str("ADMEM_BOOTSTRAP_KEY_FILE", ""),
	}
	if c.MigrateDatabaseURL == "" {
		c.MigrateDatabaseURL = c.DatabaseURL
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
	for _, addr := range []struct{ key, v string }{{"ADMEM_HTTP_ADDR", c.HTTPAddr}, {"ADMEM_WORKER_ADDR", c.WorkerAddr}} {
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
	return c, errors.Join(errs...)
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
		slog.String("log_level", c.LogLevel.String()),
		slog.Int("db_max_conns", int(c.DBMaxConns)),
		slog.String("embedder", c.Embedder),
		slog.String("embed_file", c.EmbedFile),
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
