package adapters

import (
	"context"

	"github.com/admem/admem"
)

// AdminStore is what the admin operations need from storage.
type AdminStore interface {
	ListAdapterVersions(ctx context.Context, tenantID string, page admem.Page) ([]admem.AdapterVersion, string, error)
	GetAdapterVersion(ctx context.Context, tenantID string, version int, withBlob bool) (admem.AdapterVersion, error)
	ActivateAdapterVersion(ctx context.Context, tenantID, actorKeyID string, version int) (admem.AdapterVersion, error)
}

// Service lists adapter versions and activates one (rollback or roll
// forward), for tenant admins.
type Service struct {
	store    AdminStore
	registry *Registry
	notify   *Notifier
}

// NewService returns the admin service. The registry (this replica's) is
// refreshed at once on activation; other replicas hear the notification.
func NewService(store AdminStore, registry *Registry, notify *Notifier) *Service {
	return &Service{store: store, registry: registry, notify: notify}
}

// List pages through the tenant's versions, newest first (admin).
func (s *Service) List(ctx context.Context, p admem.Principal, page admem.Page) ([]admem.AdapterVersion, string, error) {
	if !p.Can(admem.ScopeAdmin) {
		return nil, "", admem.ErrForbidden
	}
	return s.store.ListAdapterVersions(ctx, p.TenantID, page)
}

// Get returns one version without its blob (admin).
func (s *Service) Get(ctx context.Context, p admem.Principal, version int) (admem.AdapterVersion, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.AdapterVersion{}, admem.ErrForbidden
	}
	return s.store.GetAdapterVersion(ctx, p.TenantID, version, false)
}

// Activate makes version the tenant's active adapter, audited, and tells
// every replica (admin).
func (s *Service) Activate(ctx context.Context, p admem.Principal, version int) (admem.AdapterVersion, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.AdapterVersion{}, admem.ErrForbidden
	}
	v, err := s.store.ActivateAdapterVersion(ctx, p.TenantID, p.KeyID, version)
	if err != nil {
		return v, err
	}
	// The row update is committed: the activation holds even if the
	// announcement is lost (replicas poll).
	_ = s.notify.Activated(ctx, p.TenantID, v.Version)
	if s.registry != nil {
		_ = s.registry.Refresh(ctx, p.TenantID)
	}
	return v, nil
}
