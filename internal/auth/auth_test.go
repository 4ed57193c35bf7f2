package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/admem/admem"
)

func TestNewKeyParses(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		key, prefix, hash := NewKey()
		p, ok := ParseKey(key)
		if !ok || p != prefix || !strings.HasPrefix(key, prefix+"_") || len(hash) != 32 {
			t.Fatalf("key %q prefix %q parsed %q %v", key, prefix, p, ok)
		}
		if seen[prefix] {
			t.Fatalf("prefix %s repeated", prefix)
		}
		seen[prefix] = true
	}
}

func TestParseKeyRejects(t *testing.T) {
	t.Parallel()
	good, _, _ := NewKey()
	for _, k := range []string{"", "adm_", good[:len(good)-1], good + "x", "xdm" + good[3:], good[:14] + "-" + good[15:],
		strings.Replace(good, good[20:21], "!", 1), strings.ToUpper(good[:14]) + good[14:]} {
		if _, ok := ParseKey(k); ok && k != good {
			t.Errorf("ParseKey(%q) accepted", k)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	good, _, _ := NewKey()
	f.Add(good)
	f.Add("adm_0000000000_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := ParseKey(s)
		if ok && (len(p) != prefixLen || !strings.HasPrefix(s, p+"_")) {
			t.Fatalf("ParseKey(%q) = %q", s, p)
		}
	})
}

func TestTokenRoundTripAndLimits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ti := NewTokenIssuer(strings.Repeat("s", 32), "admem", "admem-api", 15*time.Minute)
	ti.now = func() time.Time { return now }
	keyExp := now.Add(5 * time.Minute)
	tok, exp, err := ti.Issue("key-1", "adm_abcdefghij", "tenant-1", []admem.KeyScope{admem.ScopeRead}, &keyExp)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(keyExp) {
		t.Fatalf("token expires %v, after its key (%v)", exp, keyExp)
	}
	c, err := ti.Verify(tok)
	if err != nil || c.KeyID != "key-1" || c.TenantID != "tenant-1" || c.KeyPrefix != "adm_abcdefghij" || len(c.Scopes) != 1 {
		t.Fatalf("verify: %+v %v", c, err)
	}
	// Within the leeway it still verifies; beyond it, not.
	ti.now = func() time.Time { return keyExp.Add(20 * time.Second) }
	if _, err := ti.Verify(tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	ti.now = func() time.Time { return keyExp.Add(time.Minute) }
	if _, err := ti.Verify(tok); err == nil {
		t.Fatal("expired token verified")
	}
	ti.now = func() time.Time { return now }
	other := NewTokenIssuer(strings.Repeat("s", 32), "admem", "someone-else", 15*time.Minute)
	other.now = ti.now
	tok2, _, _ := other.Issue("key-1", "adm_abcdefghij", "tenant-1", nil, nil)
	if _, err := ti.Verify(tok2); err == nil {
		t.Fatal("token for another audience verified")
	}
}
