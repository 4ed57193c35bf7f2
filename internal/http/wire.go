package http

import (
	"time"

	"github.com/admem/admem"
)

// Wire types mirror openapi.yaml. Server-owned fields (ids, times, status)
// exist only on responses: request types cannot set them.

type rateLimitJSON struct {
	RequestsPerSecond *float64 `json:"requests_per_second,omitempty"`
	Burst             *int     `json:"burst,omitempty"`
}

type tenantJSON struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	Status      string         `json:"status"`
	IsPlatform  bool           `json:"is_platform"`
	RateLimit   *rateLimitJSON `json:"rate_limit,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

func toTenantJSON(t admem.Tenant) tenantJSON {
	out := tenantJSON{ID: t.ID, Name: t.Name, DisplayName: t.DisplayName, Status: string(t.Status),
		IsPlatform: t.IsPlatform, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if t.RateRPS != nil || t.RateBurst != nil {
		out.RateLimit = &rateLimitJSON{RequestsPerSecond: t.RateRPS, Burst: t.RateBurst}
	}
	return out
}

type createTenantRequest struct {
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	RateLimit   *rateLimitJSON `json:"rate_limit"`
}

type updateTenantRequest struct {
	DisplayName *string        `json:"display_name"`
	Status      *string        `json:"status"`
	RateLimit   *rateLimitJSON `json:"rate_limit"`
}

type tenantList struct {
	Items      []tenantJSON `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

type apiKeyJSON struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// Trusted for learning (see docs/trust.md).
	TrustedForLearning bool `json:"trusted_for_learning"`
	// The agent the key was issued to.
	AgentID string `json:"agent_id,omitempty"`
}

func toKeyJSON(k admem.APIKey) apiKeyJSON {
	sc := make([]string, len(k.Scopes))
	for i, s := range k.Scopes {
		sc[i] = string(s)
	}
	return apiKeyJSON{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Scopes: sc,
		CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt,
		TrustedForLearning: k.TrustedForLearning, AgentID: k.AgentID}
}

type createdKeyJSON struct {
	apiKeyJSON
	Key string `json:"key"`
}

type createKeyRequest struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
	AgentID   string     `json:"agent_id"`
}

type keyList struct {
	Items      []apiKeyJSON `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

type auditEventJSON struct {
	ID         int64          `json:"id"`
	TenantID   string         `json:"tenant_id"`
	ActorKeyID string         `json:"actor_key_id,omitempty"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type,omitempty"`
	TargetID   string         `json:"target_id,omitempty"`
	Details    map[string]any `json:"details"`
	RequestID  string         `json:"request_id,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
}

type auditList struct {
	Items      []auditEventJSON `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

type tokenRequest struct {
	Scopes []string `json:"scopes"`
}

type tokenResponse struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresIn   int       `json:"expires_in"`
	ExpiresAt   time.Time `json:"expires_at"`
	Scopes      []string  `json:"scopes"`
}

type meResponse struct {
	KeyID      string   `json:"key_id"`
	TenantID   string   `json:"tenant_id"`
	Scopes     []string `json:"scopes"`
	IsPlatform bool     `json:"is_platform"`
}

func scopesToStrings(s []admem.KeyScope) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func stringsToScopes(s []string) []admem.KeyScope {
	out := make([]admem.KeyScope, len(s))
	for i, x := range s {
		out[i] = admem.KeyScope(x)
	}
	return out
}
