package config

import (
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestLoadDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"ADMEM_DATABASE_URL": "postgres://u:secretpw@127.0.0.1:5432/admem",
		"ADMEM_JWT_SECRET":   strings.Repeat("x", 32),
	}
	c, err := Load(env(good))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.MigrateDatabaseURL != good["ADMEM_DATABASE_URL"] {
		t.Fatalf("defaults not applied: %+v", c)
	}

	tests := []struct {
		name    string
		set     map[string]string
		wantErr string
	}{
		{"missing database", map[string]string{"ADMEM_DATABASE_URL": ""}, "ADMEM_DATABASE_URL"},
		{"short secret", map[string]string{"ADMEM_JWT_SECRET": "short"}, "ADMEM_JWT_SECRET"},
		{"bad duration", map[string]string{"ADMEM_JWT_TTL": "soon"}, "ADMEM_JWT_TTL"},
		{"half tls", map[string]string{"ADMEM_TLS_CERT_FILE": "c.pem"}, "ADMEM_TLS_KEY_FILE"},
		{"bad proxy", map[string]string{"ADMEM_TRUSTED_PROXIES": "10.0.0.0/8,nope"}, "ADMEM_TRUSTED_PROXIES"},
		{"bad redis", map[string]string{"ADMEM_REDIS_URL": "http://x"}, "ADMEM_REDIS_URL"},
		{"bad level", map[string]string{"ADMEM_LOG_LEVEL": "loud"}, "ADMEM_LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range good {
				m[k] = v
			}
			for k, v := range tt.set {
				m[k] = v
			}
			_, err := Load(env(m))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("want error mentioning %s, got %v", tt.wantErr, err)
			}
		})
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"ADMEM_DATABASE_URL":    "postgres://u:dbsecret@127.0.0.1:5432/admem",
		"ADMEM_REDIS_URL":       "redis://:redissecret@127.0.0.1:6379/0",
		"ADMEM_JWT_SECRET":      "jwtsecret-jwtsecret-jwtsecret-jwtsecret",
		"ADMEM_TRUSTED_PROXIES": "10.1.2.3",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	out := b.String()
	for _, s := range []string{"dbsecret", "redissecret", "jwtsecret"} {
		if strings.Contains(out, s) {
			t.Fatalf("log leaks %q: %s", s, out)
		}
	}
	if !strings.Contains(out, "10.1.2.3/32") {
		t.Fatalf("trusted proxy not normalised: %s", out)
	}
}
