package http

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
)

// IdempotencyStore keeps claimed keys and their responses.
type IdempotencyStore interface {
	BeginIdempotent(ctx context.Context, tenantID, key string, hash []byte, ttl, lease time.Duration) (*store.IdempotentResponse, error)
	RenewIdempotent(ctx context.Context, tenantID, key string, lease time.Duration) error
	CompleteIdempotent(ctx context.Context, tenantID, key string, r store.IdempotentResponse) error
	AbortIdempotent(ctx context.Context, tenantID, key string) error
}

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// DefaultIdempotencyLease is how long a claimed key outlives the last
// renewal by its request (which renews it every third of that while it
// runs) when Deps sets none.
const DefaultIdempotencyLease = 30 * time.Second

// recorder captures a response so it can be stored for replay.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

// idempotent makes a creating POST safe to retry: the same Idempotency-Key
// with the same body replays the first response (at any age within
// IdempotencyTTL); with another body it is a 409, and while the first
// request still runs, however long, a 409 with Retry-After: the request
// renews its claim until its response is stored, so only a request whose
// process died lets a retry run again. Responses are sealed (AES-GCM) before they are stored, because some
// (a new API key) carry secrets that must not sit in the database in clear.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 255 {
			s.writeError(w, r, admem.Invalid("Idempotency-Key", "at most 255 characters"))
			return
		}
		p, _ := admem.PrincipalFrom(r.Context())
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.writeError(w, r, &admem.Error{Code: admem.ETOOLARGE, Message: "the request body is too large"})
				return
			}
			s.writeError(w, r, &admem.Error{Code: admem.EMALFORMED, Message: "could not read the request body"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
		h.Write(body)
		fp := h.Sum(nil)

		stored, err := s.idem.BeginIdempotent(r.Context(), p.TenantID, key, fp, IdempotencyTTL, s.idemLease)
		if err != nil {
			if errors.Is(err, store.ErrIdempotencyInFlight) {
				w.Header().Set("Retry-After", "1")
			}
			s.writeError(w, r, err)
			return
		}
		if stored != nil {
			plain, err := s.open(stored.Body)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			w.Header().Set("Content-Type", stored.ContentType)
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(stored.Status)
			_, _ = w.Write(plain)
			return
		}
		rec := &recorder{ResponseWriter: w}
		// The claim is renewed until its fate is stored (or released).
		stopRenewing := s.renewClaim(context.WithoutCancel(r.Context()), p.TenantID, key)
		completed := false
		defer func() {
			if completed {
				return
			}
			defer stopRenewing()
			// A panic or a server error: release the key so a retry runs.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
			defer cancel()
			if err := s.idem.AbortIdempotent(ctx, p.TenantID, key); err != nil {
				// The database is likely what failed the request: keep
				// trying in the background, or the client's retries
				// would meet a key in flight until its lease ends.
				go s.releaseLater(context.WithoutCancel(r.Context()), p.TenantID, key, err)
			}
		}()
		next.ServeHTTP(rec, r)
		if rec.status >= 500 || rec.status == 0 {
			return
		}
		sealed, err := s.seal(rec.buf.Bytes())
		if err != nil {
			return
		}
		resp := store.IdempotentResponse{Status: rec.status, ContentType: rec.Header().Get("Content-Type"), Body: sealed}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		completed = true
		if err := s.idem.CompleteIdempotent(ctx, p.TenantID, key, resp); err != nil {
			// The request's effect happened: releasing the key would let a
			// retry apply it again. Keep the claim (renewed) and keep
			// trying to store the response.
			go s.completeLater(context.WithoutCancel(r.Context()), p.TenantID, key, resp, err, stopRenewing)
			return
		}
		stopRenewing()
	})
}

// renewClaim renews the claim of key every third of the lease until the
// returned function is called.
func (s *Server) renewClaim(ctx context.Context, tenantID, key string) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(s.idemLease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(ctx, s.idemLease/3)
			if err := s.idem.RenewIdempotent(rctx, tenantID, key, s.idemLease); err != nil {
				s.log.WarnContext(rctx, "renew idempotency key", "err", err)
			}
			cancel()
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// completeLater retries storing the response of a request whose effect
// happened, with backoff, while the claim is renewed; it gives up after
// IdempotencyTTL's tenth (a database down that long), and the claim then
// lapses with its lease.
func (s *Server) completeLater(ctx context.Context, tenantID, key string, resp store.IdempotentResponse, err error, stopRenewing func()) {
	defer stopRenewing()
	deadline := time.Now().Add(IdempotencyTTL / 10)
	for wait := 250 * time.Millisecond; time.Now().Before(deadline); wait = min(2*wait, 5*time.Second) {
		time.Sleep(wait)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = s.idem.CompleteIdempotent(cctx, tenantID, key, resp)
		cancel()
		if err == nil {
			return
		}
	}
	s.log.WarnContext(ctx, "store idempotent response: giving up; the claim lapses with its lease", "err", err)
}

// releaseLater retries releasing an Idempotency-Key whose release failed,
// with backoff, until the key's in-flight lease would release it anyway.
func (s *Server) releaseLater(ctx context.Context, tenantID, key string, err error) {
	deadline := time.Now().Add(s.idemLease)
	for wait := 250 * time.Millisecond; time.Now().Before(deadline); wait = min(2*wait, 5*time.Second) {
		time.Sleep(wait)
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = s.idem.AbortIdempotent(actx, tenantID, key)
		cancel()
		if err == nil {
			return
		}
	}
	s.log.WarnContext(ctx, "release idempotency key: giving up; its lease releases it", "err", err)
}

func (s *Server) aead() (cipher.AEAD, error) {
	k := sha256.Sum256(append([]byte("admem idempotency v1\x00"), s.sealKey...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *Server) seal(plain []byte) ([]byte, error) {
	g, err := s.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, plain, nil), nil
}

func (s *Server) open(sealed []byte) ([]byte, error) {
	g, err := s.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize() {
		return nil, errors.New("http: stored idempotent response is corrupt")
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], nil)
	if err != nil {
		return nil, errors.New("http: stored idempotent response cannot be opened (was the secret rotated?)")
	}
	return plain, nil
}
