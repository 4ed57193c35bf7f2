package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/golang-jwt/jwt/v5"
)

// TokenIssuer signs and verifies short-lived access tokens (HS256 only: the
// parser refuses any other algorithm, including "none").
type TokenIssuer struct {
	secret   []byte
	issuer   string
	audience string
	ttl      time.Duration
	leeway   time.Duration
	now      func() time.Time
}

// NewTokenIssuer returns an issuer for tokens valid for ttl.
func NewTokenIssuer(secret, issuer, audience string, ttl time.Duration) *TokenIssuer {
	return &TokenIssuer{secret: []byte(secret), issuer: issuer, audience: audience, ttl: ttl, leeway: 30 * time.Second, now: time.Now}
}

type claims struct {
	TenantID  string   `json:"tid"`
	KeyPrefix string   `json:"kpf"`
	Scopes    []string `json:"scp"`
	jwt.RegisteredClaims
}

// Issue returns a signed token for the key and when it expires.
func (ti *TokenIssuer) Issue(keyID, keyPrefix, tenantID string, scopes []admem.KeyScope, notAfter *time.Time) (string, time.Time, error) {
	now := ti.now()
	exp := now.Add(ti.ttl)
	if notAfter != nil && notAfter.Before(exp) {
		exp = *notAfter // a token never outlives its key
	}
	sc := make([]string, len(scopes))
	for i, s := range scopes {
		sc[i] = string(s)
	}
	c := claims{
		TenantID:  tenantID,
		KeyPrefix: keyPrefix,
		Scopes:    sc,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    ti.issuer,
			Subject:   keyID,
			Audience:  jwt.ClaimStrings{ti.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        randomString(base62, 16),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(ti.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return s, exp, nil
}

// TokenClaims is what a verified token says.
type TokenClaims struct {
	KeyID     string
	KeyPrefix string
	TenantID  string
	Scopes    []admem.KeyScope
	Expires   time.Time
}

// Verify checks the signature, algorithm, issuer, audience, expiry and
// issued-at time (with a small leeway for clock skew).
func (ti *TokenIssuer) Verify(token string) (TokenClaims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return ti.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(ti.issuer),
		jwt.WithAudience(ti.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(ti.leeway),
		jwt.WithTimeFunc(ti.now),
	)
	if err != nil {
		return TokenClaims{}, fmt.Errorf("auth: %w", errors.Join(admem.ErrUnauthorized, err))
	}
	if c.Subject == "" || c.TenantID == "" || c.KeyPrefix == "" {
		return TokenClaims{}, fmt.Errorf("auth: token lacks subject or tenant: %w", admem.ErrUnauthorized)
	}
	out := TokenClaims{KeyID: c.Subject, KeyPrefix: c.KeyPrefix, TenantID: c.TenantID, Expires: c.ExpiresAt.Time}
	for _, s := range c.Scopes {
		out.Scopes = append(out.Scopes, admem.KeyScope(s))
	}
	return out, nil
}
