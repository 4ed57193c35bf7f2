package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/admem/admem"
)

// KeyStore is the storage authentication reads.
type KeyStore interface {
	LookupKey(ctx context.Context, prefix string) (admem.KeyRecord, error)
	TouchKey(ctx context.Context, tenantID, id string, t time.Time) error
}

// Authenticator turns a key string or an access token into a Principal. Key
// records are cached for a few seconds, so a revocation takes effect on every
// replica within CacheTTL (at once on the replica that revoked).
type Authenticator struct {
	keys     KeyStore
	tokens   *TokenIssuer
	log      *slog.Logger
	CacheTTL time.Duration

	mu      sync.Mutex
	cache   map[string]cachedKey // by prefix
	touched map[string]time.Time // by key id
}

type cachedKey struct {
	rec     admem.KeyRecord
	err     error
	fetched time.Time
}

// NewAuthenticator returns an Authenticator over keys and tokens.
func NewAuthenticator(keys KeyStore, tokens *TokenIssuer, log *slog.Logger) *Authenticator {
	return &Authenticator{keys: keys, tokens: tokens, log: log, CacheTTL: 5 * time.Second,
		cache: map[string]cachedKey{}, touched: map[string]time.Time{}}
}

// Tokens returns the token issuer.
func (a *Authenticator) Tokens() *TokenIssuer { return a.tokens }

func unauthorized(reason string) error {
	return &admem.Error{Code: admem.EUNAUTHORIZED, Message: reason}
}

// AuthenticateKey checks a key string.
func (a *Authenticator) AuthenticateKey(ctx context.Context, key string) (admem.Principal, error) {
	prefix, ok := ParseKey(key)
	if !ok {
		return admem.Principal{}, unauthorized("malformed API key")
	}
	rec, err := a.record(ctx, prefix)
	if err != nil {
		return admem.Principal{}, err
	}
	if subtle.ConstantTimeCompare(HashKey(key), rec.SecretHash) != 1 {
		return admem.Principal{}, unauthorized("invalid API key")
	}
	if err := a.usable(rec); err != nil {
		return admem.Principal{}, err
	}
	a.touch(rec.Key)
	return principal(rec), nil
}

// AuthenticateToken checks an access token and that its key is still usable:
// revoking a key also ends its tokens.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (admem.Principal, error) {
	c, err := a.tokens.Verify(token)
	if err != nil {
		return admem.Principal{}, unauthorized("invalid or expired access token")
	}
	rec, err := a.record(ctx, c.KeyPrefix)
	if err != nil {
		return admem.Principal{}, err
	}
	if rec.Key.ID != c.KeyID || rec.Key.TenantID != c.TenantID {
		return admem.Principal{}, unauthorized("invalid access token")
	}
	if err := a.usable(rec); err != nil {
		return admem.Principal{}, err
	}
	p := principal(rec)
	p.Scopes = c.Scopes // a token may carry fewer scopes than its key
	return p, nil
}

// IssueToken exchanges an authenticated key principal for an access token.
func (a *Authenticator) IssueToken(ctx context.Context, key string, scopes []admem.KeyScope) (string, time.Time, error) {
	p, err := a.AuthenticateKey(ctx, key)
	if err != nil {
		return "", time.Time{}, err
	}
	prefix, _ := ParseKey(key)
	rec, err := a.record(ctx, prefix)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(scopes) == 0 {
		scopes = p.Scopes
	}
	for _, s := range scopes {
		if !p.Can(s) {
			return "", time.Time{}, admem.Invalid("scopes", fmt.Sprintf("the key does not hold scope %q", s))
		}
	}
	return a.tokens.Issue(p.KeyID, prefix, p.TenantID, scopes, rec.Key.ExpiresAt)
}

// Forget drops a cached key so a revocation is seen at once on this replica.
func (a *Authenticator) Forget(prefix string) {
	a.mu.Lock()
	delete(a.cache, prefix)
	a.mu.Unlock()
}

func (a *Authenticator) record(ctx context.Context, prefix string) (admem.KeyRecord, error) {
	now := time.Now()
	a.mu.Lock()
	c, ok := a.cache[prefix]
	a.mu.Unlock()
	if ok && now.Sub(c.fetched) < a.CacheTTL {
		return c.rec, c.err
	}
	rec, err := a.keys.LookupKey(ctx, prefix)
	if errors.Is(err, admem.ErrNotFound) {
		err = unauthorized("invalid API key")
	} else if err != nil {
		return admem.KeyRecord{}, err // not cached: a database hiccup is not a verdict
	}
	a.mu.Lock()
	if len(a.cache) > 100_000 {
		a.cache = map[string]cachedKey{}
	}
	a.cache[prefix] = cachedKey{rec: rec, err: err, fetched: now}
	a.mu.Unlock()
	return rec, err
}

func (a *Authenticator) usable(rec admem.KeyRecord) error {
	switch {
	case rec.Key.RevokedAt != nil:
		return unauthorized("the API key was revoked")
	case rec.Key.ExpiresAt != nil && !time.Now().Before(*rec.Key.ExpiresAt):
		return unauthorized("the API key has expired")
	case rec.TenantStatus != admem.TenantActive:
		return &admem.Error{Code: admem.EFORBIDDEN, Message: "the tenant is disabled"}
	}
	return nil
}

// touch records the key's last use at most once a minute per key, off the
// request path.
func (a *Authenticator) touch(k admem.APIKey) {
	now := time.Now()
	a.mu.Lock()
	last := a.touched[k.ID]
	if now.Sub(last) < time.Minute {
		a.mu.Unlock()
		return
	}
	a.touched[k.ID] = now
	a.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.keys.TouchKey(ctx, k.TenantID, k.ID, now); err != nil {
			a.log.Warn("record key use", "key_id", k.ID, "err", err)
		}
	}()
}

func principal(rec admem.KeyRecord) admem.Principal {
	return admem.Principal{
		KeyID:      rec.Key.ID,
		TenantID:   rec.Key.TenantID,
		Scopes:     rec.Key.Scopes,
		IsPlatform: rec.IsPlatform,
		RateRPS:    rec.RateRPS,
		RateBurst:  rec.RateBurst,
	}
}
