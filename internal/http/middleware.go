package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/ratelimit"
	"github.com/go-chi/chi/v5"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxClientIP
)

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(ctxRequestID).(string)
	return s
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// withRequestID accepts a sane X-Request-Id from the client or makes one, and
// echoes it back.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), ctxRequestID, id)
		ctx = admem.WithRequestID(ctx, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// statusWriter remembers the status and size of a response.
// It also stamps Server-Timing with the time spent until the header is
// written, which is where handlers finish their work: clients and benchmarks
// read the server-side latency from it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	start  time.Time
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.Header().Set("Server-Timing", fmt.Sprintf("app;dur=%.3f", float64(time.Since(w.start).Microseconds())/1000))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs every request and records its metrics by route pattern, and
// turns a panic into a 500 problem.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, start: start}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "request_id", requestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeProblem(sw, problemFor(r, http.StatusInternalServerError, admem.EINTERNAL, "internal error"))
				}
			}
			d := time.Since(start)
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			st := strconv.Itoa(status)
			s.metrics.requests.WithLabelValues(r.Method, route, st).Inc()
			s.metrics.latency.WithLabelValues(r.Method, route, st).Observe(d.Seconds())
			tenant := ""
			if p, ok := admem.PrincipalFrom(r.Context()); ok {
				tenant = p.TenantID
			} else if t, ok := r.Context().Value(ctxTenantHolder).(*string); ok {
				tenant = *t
			}
			s.log.LogAttrs(r.Context(), logLevel(status), "request",
				slog.String("request_id", requestID(r.Context())),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.Int("bytes", sw.bytes),
				slog.String("tenant", tenant),
				slog.String("client_ip", clientIP(r.Context())),
			)
		}()
		// The tenant is only known after authentication, deeper in the chain;
		// a holder lets the log line above see it.
		holder := new(string)
		ctx := context.WithValue(r.Context(), ctxTenantHolder, holder)
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

const ctxTenantHolder ctxKey = 100

// realIP resolves the client address, trusting X-Forwarded-For and
// X-Forwarded-Proto only from configured proxies.
func (s *Server) realIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := remoteAddr(r.RemoteAddr)
		secure := r.TLS != nil
		if s.trusted(ip) {
			if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
				// The right-most address not ours is the client.
				parts := strings.Split(xff, ",")
				for i := len(parts) - 1; i >= 0; i-- {
					a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
					if err != nil {
						break
					}
					ip = a
					if !s.trusted(a) {
						break
					}
				}
			}
			if strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
				secure = true
			}
		}
		if secure && s.hsts {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		ctx := context.WithValue(r.Context(), ctxClientIP, ip.String())
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func remoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func clientIP(ctx context.Context) string {
	s, _ := ctx.Value(ctxClientIP).(string)
	return s
}

// limitBody caps request bodies.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.maxBody {
			s.writeError(w, r, &admem.Error{Code: admem.ETOOLARGE, Message: fmt.Sprintf("the request body exceeds %d bytes", s.maxBody)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		next.ServeHTTP(w, r)
	})
}

// authenticate accepts an API key or an access token, as
// "Authorization: Bearer …" or "X-API-Key: …". A client address or key
// prefix that failed too often is refused before its credential is looked
// at (see authThrottle).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred := r.Header.Get("X-API-Key")
		if h := r.Header.Get("Authorization"); cred == "" && h != "" {
			scheme, rest, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				s.unauthorized(w, r, "use Authorization: Bearer <API key or access token>")
				return
			}
			cred = strings.TrimSpace(rest)
		}
		if cred == "" {
			s.unauthorized(w, r, "missing credentials: send Authorization: Bearer <API key or access token>")
			return
		}
		subjects := authSubjects(r, cred)
		if wait := s.authThrottle.refusedFor(subjects); wait > 0 {
			s.authRefused(w, r, wait)
			return
		}
		var p admem.Principal
		var err error
		if strings.HasPrefix(cred, "adm_") {
			p, err = s.auth.AuthenticateKey(r.Context(), cred)
		} else {
			p, err = s.auth.AuthenticateToken(r.Context(), cred)
		}
		if err != nil {
			if admem.ErrorCode(err) == admem.EUNAUTHORIZED {
				if wait := s.authFailed(r.Context(), subjects); wait > 0 {
					s.authRefused(w, r, wait)
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="admem", error="invalid_token"`)
			}
			s.writeError(w, r, err)
			return
		}
		if t, ok := r.Context().Value(ctxTenantHolder).(*string); ok {
			*t = p.TenantID
		}
		next.ServeHTTP(w, r.WithContext(admem.WithPrincipal(r.Context(), p)))
	})
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="admem"`)
	s.writeError(w, r, &admem.Error{Code: admem.EUNAUTHORIZED, Message: msg})
}

// require rejects principals without the scope.
func (s *Server) require(scope admem.KeyScope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := admem.PrincipalFrom(r.Context())
			if !p.Can(scope) {
				s.writeError(w, r, &admem.Error{Code: admem.EFORBIDDEN, Message: fmt.Sprintf("this needs the %q scope", scope)})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// rateLimit spends one request from the tenant's budget and the key's, at
// once: the tenant's limit holds however many keys its admin makes, and a
// key's own limit (when configured lower) keeps one key from taking all of
// it. If Redis is down the request is let through (and counted): an outage
// of the limiter must not become an outage of the API.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limiter == nil {
			next.ServeHTTP(w, r)
			return
		}
		p, _ := admem.PrincipalFrom(r.Context())
		tenant := s.defaultLimit
		if p.RateRPS != nil {
			tenant.RPS = *p.RateRPS
		}
		if p.RateBurst != nil {
			tenant.Burst = *p.RateBurst
		}
		key := tenant
		if s.keyLimit.RPS > 0 {
			key = ratelimit.Limit{RPS: math.Min(key.RPS, s.keyLimit.RPS), Burst: min(key.Burst, s.keyLimit.Burst)}
		}
		// One hash tag per tenant keeps both buckets in one Redis Cluster slot.
		tag := "{t:" + p.TenantID + "}"
		res, err := s.limiter.Allow(r.Context(),
			ratelimit.Bucket{Subject: tag + ":tenant", Limit: tenant},
			ratelimit.Bucket{Subject: tag + ":key:" + p.KeyID, Limit: key})
		if err != nil {
			s.metrics.rateLimitErrors.Inc()
			s.log.DebugContext(r.Context(), "rate limiter unavailable; request allowed", "err", err)
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(res.Limit.Burst))
		h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(res.ResetAfter)))
		h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d", res.Limit.Burst, int(math.Max(1, math.Round(float64(res.Limit.Burst)/res.Limit.RPS)))))
		if !res.Allowed {
			h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(res.RetryAfter))))
			s.metrics.rateLimited.Inc()
			whose := "the tenant's"
			if strings.Contains(res.Subject, ":key:") {
				whose = "this key's"
			}
			s.writeError(w, r, &admem.Error{Code: admem.ERATELIMITED, Message: fmt.Sprintf("%s rate limit exceeded; retry in %s", whose, res.RetryAfter.Round(time.Millisecond))})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// Limiter is the rate limiter the server uses: Allow for request budgets,
// Spend for counting failed authentications.
type Limiter interface {
	Allow(ctx context.Context, buckets ...ratelimit.Bucket) (ratelimit.Result, error)
	Spend(ctx context.Context, buckets ...ratelimit.Bucket) ([]ratelimit.Result, error)
}

func logLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
