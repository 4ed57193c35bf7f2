// Package tenancy owns tenants, their API keys and the audit log: the rules
// for who may create, change and revoke what, and the first-start bootstrap
// of the platform admin key.
package tenancy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/auth"
)

// Store is the storage the service needs.
type Store interface {
	CreateTenant(ctx context.Context, t admem.Tenant, audit admem.AuditEvent) (admem.Tenant, error)
	PlatformTenant(ctx context.Context) (admem.Tenant, error)
	GetTenant(ctx context.Context, p admem.Principal, id string) (admem.Tenant, error)
	ListTenants(ctx context.Context, page admem.Page) ([]admem.Tenant, string, error)
	UpdateTenant(ctx context.Context, id string, u admem.TenantUpdate, audit admem.AuditEvent) (admem.Tenant, error)
	CreateKey(ctx context.Context, k admem.APIKey, secretHash []byte, audit admem.AuditEvent) (admem.APIKey, error)
	GetKey(ctx context.Context, tenantID, id string) (admem.APIKey, error)
	ListKeys(ctx context.Context, tenantID string, page admem.Page) ([]admem.APIKey, string, error)
	RevokeKey(ctx context.Context, tenantID, id string, audit admem.AuditEvent) (admem.APIKey, error)
	SetKeyTrust(ctx context.Context, tenantID, id string, trusted bool, audit admem.AuditEvent) (admem.APIKey, error)
	ListAudit(ctx context.Context, tenantID string, f admem.AuditFilter, page admem.Page) ([]admem.AuditEvent, string, error)
}

// Forgetter drops cached credentials after a revocation.
type Forgetter interface{ Forget(prefix string) }

// Service implements tenant and key administration.
type Service struct {
	store  Store
	forget Forgetter
}

// New returns a Service.
func New(store Store, forget Forgetter) *Service { return &Service{store: store, forget: forget} }

var tenantName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,62}$`)

// PlatformTenantName is the name of the operator's own tenant.
const PlatformTenantName = "platform"

// Bootstrap creates the platform tenant and its first admin key when there is
// none. It returns the key string (shown once; only its hash is stored) and
// whether it created anything.
func (s *Service) Bootstrap(ctx context.Context) (string, bool, error) {
	if _, err := s.store.PlatformTenant(ctx); err == nil {
		return "", false, nil
	} else if !errors.Is(err, admem.ErrNotFound) {
		return "", false, err
	}
	t, err := s.store.CreateTenant(ctx, admem.Tenant{Name: PlatformTenantName, DisplayName: "Platform", Status: admem.TenantActive, IsPlatform: true},
		admem.AuditEvent{Action: "tenant.created", TargetType: "tenant", Details: map[string]any{"bootstrap": true}})
	if errors.Is(err, admem.ErrConflict) {
		return "", false, nil // another replica bootstrapped first
	}
	if err != nil {
		return "", false, err
	}
	key, prefix, hash := auth.NewKey()
	_, err = s.store.CreateKey(ctx, admem.APIKey{TenantID: t.ID, Name: "bootstrap", Prefix: prefix,
		Scopes: []admem.KeyScope{admem.ScopePlatform, admem.ScopeAdmin}},
		hash, admem.AuditEvent{Action: "key.created", Details: map[string]any{"name": "bootstrap", "bootstrap": true}})
	if err != nil {
		return "", false, err
	}
	return key, true, nil
}

// NewTenant is a request to create a tenant.
type NewTenant struct {
	Name        string
	DisplayName string
	RateRPS     *float64
	RateBurst   *int
}

// CreateTenant creates an active tenant (platform admins only).
func (s *Service) CreateTenant(ctx context.Context, p admem.Principal, in NewTenant) (admem.Tenant, error) {
	if !p.Can(admem.ScopePlatform) {
		return admem.Tenant{}, admem.ErrForbidden
	}
	in.Name = strings.TrimSpace(in.Name)
	if !tenantName.MatchString(in.Name) {
		return admem.Tenant{}, admem.Invalid("name", "2–63 characters: lowercase letters, digits, '-' or '_', starting with a letter or digit")
	}
	if err := validateRate(in.RateRPS, in.RateBurst); err != nil {
		return admem.Tenant{}, err
	}
	if len(in.DisplayName) > 200 {
		return admem.Tenant{}, admem.Invalid("display_name", "at most 200 characters")
	}
	return s.store.CreateTenant(ctx, admem.Tenant{Name: in.Name, DisplayName: in.DisplayName, Status: admem.TenantActive,
		RateRPS: in.RateRPS, RateBurst: in.RateBurst},
		admem.AuditEvent{ActorKeyID: p.KeyID, Action: "tenant.created", TargetType: "tenant", Details: map[string]any{"name": in.Name}})
}

func validateRate(rps *float64, burst *int) error {
	if rps != nil && (*rps <= 0 || *rps > 1e6) {
		return admem.Invalid("rate_limit.requests_per_second", "must be in (0, 1000000]")
	}
	if burst != nil && (*burst < 1 || *burst > 1e7) {
		return admem.Invalid("rate_limit.burst", "must be in [1, 10000000]")
	}
	return nil
}

// GetTenant returns a tenant: any tenant for platform admins, the caller's own
// otherwise.
func (s *Service) GetTenant(ctx context.Context, p admem.Principal, id string) (admem.Tenant, error) {
	return s.store.GetTenant(ctx, p, id)
}

// ListTenants lists all tenants (platform admins only).
func (s *Service) ListTenants(ctx context.Context, p admem.Principal, page admem.Page) ([]admem.Tenant, string, error) {
	if !p.Can(admem.ScopePlatform) {
		return nil, "", admem.ErrForbidden
	}
	return s.store.ListTenants(ctx, page)
}

// UpdateTenant changes a tenant's name, status or rate limit (platform admins
// only). Disabling a tenant makes all its keys and tokens stop working.
func (s *Service) UpdateTenant(ctx context.Context, p admem.Principal, id string, u admem.TenantUpdate) (admem.Tenant, error) {
	if !p.Can(admem.ScopePlatform) {
		return admem.Tenant{}, admem.ErrForbidden
	}
	if u.Status != nil && *u.Status != admem.TenantActive && *u.Status != admem.TenantDisabled {
		return admem.Tenant{}, admem.Invalid("status", "must be active or disabled")
	}
	if err := validateRate(u.RateRPS, u.RateBurst); err != nil {
		return admem.Tenant{}, err
	}
	details := map[string]any{}
	if u.Status != nil {
		details["status"] = string(*u.Status)
	}
	if u.DisplayName != nil {
		details["display_name"] = *u.DisplayName
	}
	if u.RateRPS != nil {
		details["rate_rps"] = *u.RateRPS
	}
	if u.RateBurst != nil {
		details["rate_burst"] = *u.RateBurst
	}
	return s.store.UpdateTenant(ctx, id, u, admem.AuditEvent{ActorKeyID: p.KeyID, Action: "tenant.updated", TargetType: "tenant", Details: details})
}

// NewKey is a request to create an API key.
type NewKey struct {
	TenantID  string // empty: the caller's tenant
	Name      string
	Scopes    []admem.KeyScope
	ExpiresAt *time.Time
	// AgentID binds the key to one agent ("" none).
	AgentID string
}

// CreateKey creates a key and returns it with its secret string, which is
// never shown again. Tenant admins create keys for their own tenant; platform
// admins for any tenant.
func (s *Service) CreateKey(ctx context.Context, p admem.Principal, in NewKey) (admem.APIKey, string, error) {
	if in.TenantID == "" {
		in.TenantID = p.TenantID
	}
	if in.TenantID != p.TenantID && !p.Can(admem.ScopePlatform) {
		return admem.APIKey{}, "", admem.ErrNotFound // another tenant's resource does not exist for the caller
	}
	if in.TenantID == p.TenantID && !p.Can(admem.ScopeAdmin) {
		return admem.APIKey{}, "", admem.ErrForbidden
	}
	t, err := s.store.GetTenant(ctx, p, in.TenantID)
	if err != nil {
		return admem.APIKey{}, "", err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return admem.APIKey{}, "", admem.Invalid("name", "1–100 characters")
	}
	if len(in.Scopes) == 0 {
		return admem.APIKey{}, "", admem.Invalid("scopes", "at least one of read, write, admin")
	}
	seen := map[admem.KeyScope]bool{}
	var scopes []admem.KeyScope
	for _, sc := range in.Scopes {
		if !admem.ValidScope(sc) {
			return admem.APIKey{}, "", admem.Invalid("scopes", fmt.Sprintf("unknown scope %q", sc))
		}
		if sc == admem.ScopePlatform && !(t.IsPlatform && p.Can(admem.ScopePlatform)) {
			return admem.APIKey{}, "", admem.Invalid("scopes", "the platform scope exists only on the platform tenant")
		}
		if !seen[sc] {
			seen[sc] = true
			scopes = append(scopes, sc)
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(time.Now()) {
		return admem.APIKey{}, "", admem.Invalid("expires_at", "must be in the future")
	}
	if len(in.AgentID) > admem.MaxScopeLen || in.AgentID != "" && strings.TrimSpace(in.AgentID) == "" {
		return admem.APIKey{}, "", admem.Invalid("agent_id", fmt.Sprintf("1–%d bytes, not blank", admem.MaxScopeLen))
	}
	key, prefix, hash := auth.NewKey()
	details := map[string]any{"name": in.Name, "prefix": prefix, "scopes": scopeList(scopes)}
	if in.AgentID != "" {
		details["agent_id"] = in.AgentID
	}
	k, err := s.store.CreateKey(ctx, admem.APIKey{TenantID: in.TenantID, Name: in.Name, Prefix: prefix, Scopes: scopes,
		CreatedBy: p.KeyID, ExpiresAt: in.ExpiresAt, AgentID: in.AgentID}, hash,
		admem.AuditEvent{ActorKeyID: p.KeyID, Action: "key.created", Details: details})
	if err != nil {
		return admem.APIKey{}, "", err
	}
	return k, key, nil
}

func scopeList(s []admem.KeyScope) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

// GetKey returns one of the caller's tenant's keys (tenant admins).
func (s *Service) GetKey(ctx context.Context, p admem.Principal, id string) (admem.APIKey, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.APIKey{}, admem.ErrForbidden
	}
	return s.store.GetKey(ctx, p.TenantID, id)
}

// ListKeys lists the caller's tenant's keys (tenant admins).
func (s *Service) ListKeys(ctx context.Context, p admem.Principal, page admem.Page) ([]admem.APIKey, string, error) {
	if !p.Can(admem.ScopeAdmin) {
		return nil, "", admem.ErrForbidden
	}
	return s.store.ListKeys(ctx, p.TenantID, page)
}

// RevokeKey revokes one of the caller's tenant's keys (tenant admins). Its
// tokens stop working too.
func (s *Service) RevokeKey(ctx context.Context, p admem.Principal, id string) (admem.APIKey, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.APIKey{}, admem.ErrForbidden
	}
	k, err := s.store.RevokeKey(ctx, p.TenantID, id, admem.AuditEvent{ActorKeyID: p.KeyID, Action: "key.revoked"})
	if err != nil {
		return admem.APIKey{}, err
	}
	s.forget.Forget(k.Prefix)
	return k, nil
}

// SetKeyTrust marks one of the tenant's keys trusted for learning, or not
// (tenant admins; audited as key.learning_trust): what a trusted key
// reports counts on its own, as independent sources' reports do.
func (s *Service) SetKeyTrust(ctx context.Context, p admem.Principal, id string, trusted bool) (admem.APIKey, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.APIKey{}, admem.ErrForbidden
	}
	return s.store.SetKeyTrust(ctx, p.TenantID, id, trusted, admem.AuditEvent{ActorKeyID: p.KeyID, Action: "key.learning_trust"})
}

// ListAudit lists the caller's tenant's audit log (tenant admins).
func (s *Service) ListAudit(ctx context.Context, p admem.Principal, f admem.AuditFilter, page admem.Page) ([]admem.AuditEvent, string, error) {
	if !p.Can(admem.ScopeAdmin) {
		return nil, "", admem.ErrForbidden
	}
	return s.store.ListAudit(ctx, p.TenantID, f, page)
}
