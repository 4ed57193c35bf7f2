package admem

import (
	"context"
	"slices"
	"time"
)

// TenantStatus says whether a tenant may use the service.
type TenantStatus string

// Tenant statuses.
const (
	TenantActive   TenantStatus = "active"
	TenantDisabled TenantStatus = "disabled"
)

// Tenant is one customer of the service; all memory is owned by a tenant.
type Tenant struct {
	ID          string
	Name        string // unique slug
	DisplayName string
	Status      TenantStatus
	IsPlatform  bool     // the operator's own tenant, whose admin keys manage tenants
	RateRPS     *float64 // nil: the deployment default
	RateBurst   *int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TenantUpdate changes some of a tenant's fields; nil means unchanged.
type TenantUpdate struct {
	DisplayName *string
	Status      *TenantStatus
	RateRPS     *float64
	RateBurst   *int
}

// Scope names what a key may do.
type KeyScope string

// Key scopes. admin implies write, write implies read; platform (held only by
// keys of the platform tenant) allows managing tenants.
const (
	ScopeRead     KeyScope = "read"
	ScopeWrite    KeyScope = "write"
	ScopeAdmin    KeyScope = "admin"
	ScopePlatform KeyScope = "platform"
)

// ValidScope reports whether s is a known scope.
func ValidScope(s KeyScope) bool {
	switch s {
	case ScopeRead, ScopeWrite, ScopeAdmin, ScopePlatform:
		return true
	}
	return false
}

// APIKey is a credential of one tenant. Its secret is shown once, at creation.
type APIKey struct {
	ID         string
	TenantID   string
	Name       string
	Prefix     string // the visible, non-secret part of the key string
	Scopes     []KeyScope
	CreatedBy  string // key id of the creator, empty for the bootstrap key
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	// TrustedForLearning: a tenant admin vouches for what the key reports;
	// its evidence counts on its own (see docs/trust.md).
	TrustedForLearning bool
	// AgentID is the agent the key was issued to ("" when none): learning
	// counts everything the key reports as that agent's, whatever agent
	// its requests name, so that keys of one agent are one source.
	AgentID string
}

// Principal is who is calling: the key (directly or through a token) and its
// tenant. Every domain call that touches tenant data takes one.
type Principal struct {
	KeyID      string
	TenantID   string
	Scopes     []KeyScope
	IsPlatform bool
	RateRPS    *float64
	RateBurst  *int
}

// Can reports whether the principal holds scope s, directly or by implication.
func (p Principal) Can(s KeyScope) bool {
	has := func(x KeyScope) bool { return slices.Contains(p.Scopes, x) }
	switch s {
	case ScopeRead:
		return has(ScopeRead) || has(ScopeWrite) || has(ScopeAdmin)
	case ScopeWrite:
		return has(ScopeWrite) || has(ScopeAdmin)
	case ScopeAdmin:
		return has(ScopeAdmin)
	case ScopePlatform:
		return p.IsPlatform && has(ScopePlatform)
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// AuditEvent records an administrative action.
type AuditEvent struct {
	ID         int64
	TenantID   string
	ActorKeyID string
	Action     string // e.g. "key.created"
	TargetType string
	TargetID   string
	Details    map[string]any
	RequestID  string
	CreatedAt  time.Time
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id, so audit records and
// logs written deep in a call can name the request.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// KeyRecord is what authentication needs to know about a key and its tenant.
type KeyRecord struct {
	Key          APIKey
	SecretHash   []byte
	TenantStatus TenantStatus
	IsPlatform   bool
	RateRPS      *float64
	RateBurst    *int
}

// AuditFilter narrows an audit listing.
type AuditFilter struct {
	Action string
	Since  *time.Time
}
