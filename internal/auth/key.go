// Package auth owns credentials: API key strings (generation, parsing,
// hashing, constant-time checks), short-lived JWT access tokens, and the
// Authenticator that turns either into an admem.Principal.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"
)

// Key strings look like adm_1a2b3c4d5e_<43 base62 characters>. The first 14
// characters are the public prefix: stored in clear and shown in listings, so
// a leaked key can be identified and revoked; the rest is the secret.
const (
	keyTag       = "adm_"
	prefixRand   = 10
	prefixLen    = len(keyTag) + prefixRand
	secretLen    = 43
	keyLen       = prefixLen + 1 + secretLen
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	prefixAlphas = "0123456789abcdefghijklmnopqrstuvwxyz"
)

// NewKey returns a new key string, its public prefix and the hash to store.
func NewKey() (key, prefix string, hash []byte) {
	var b strings.Builder
	b.WriteString(keyTag)
	b.WriteString(randomString(prefixAlphas, prefixRand))
	prefix = b.String()
	b.WriteByte('_')
	b.WriteString(randomString(base62, secretLen))
	key = b.String()
	return key, prefix, HashKey(key)
}

// HashKey is the stored form of a key. The secret has ~256 bits of entropy, so
// a fast hash is enough: there is nothing to brute-force.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// ParseKey returns the public prefix of a well-formed key string.
func ParseKey(key string) (prefix string, ok bool) {
	if len(key) != keyLen || !strings.HasPrefix(key, keyTag) || key[prefixLen] != '_' {
		return "", false
	}
	for _, c := range key[len(keyTag):prefixLen] {
		if !strings.ContainsRune(prefixAlphas, c) {
			return "", false
		}
	}
	for _, c := range key[prefixLen+1:] {
		if !strings.ContainsRune(base62, c) {
			return "", false
		}
	}
	return key[:prefixLen], true
}

// LooksLikeKey tells a key string from a JWT in an Authorization header.
func LooksLikeKey(s string) bool { return strings.HasPrefix(s, keyTag) }

func randomString(alphabet string, n int) string {
	out := make([]byte, n)
	buf := make([]byte, n*2)
	// Rejection sampling keeps every character equally likely.
	limit := 256 - 256%len(alphabet)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic("auth: crypto/rand failed: " + err.Error())
		}
		for _, c := range buf {
			if int(c) < limit && i < n {
				out[i] = alphabet[int(c)%len(alphabet)]
				i++
			}
		}
	}
	return string(out)
}
