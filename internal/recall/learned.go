package recall

import (
	"context"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
)

// Learned returns one of the tenant's mistake notes or procedures, active
// or retired.
func (s *Service) Learned(ctx context.Context, p admem.Principal, id string) (store.LearnedItem, error) {
	if !p.Can(admem.ScopeRead) {
		return store.LearnedItem{}, admem.ErrForbidden
	}
	return s.store.LearnedItem(ctx, p.TenantID, id)
}

// LearnedVersions pages through a learned item's versions, newest first:
// every merge of a new occurrence, correction or supporting trajectory, and
// every reflection, made one.
func (s *Service) LearnedVersions(ctx context.Context, p admem.Principal, id string, page admem.Page) ([]store.LearnedItemVersion, string, error) {
	if !p.Can(admem.ScopeRead) {
		return nil, "", admem.ErrForbidden
	}
	return s.store.LearnedItemVersions(ctx, p.TenantID, id, page)
}
