package trajectories

import (
	"context"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/store"
	"github.com/google/uuid"
)

func validSource(src admem.Source) error {
	if src.KeyID == "" && src.AgentID == "" {
		return admem.Invalid("key_id", "name a key_id, an agent_id or both")
	}
	if src.KeyID != "" {
		if _, err := uuid.Parse(src.KeyID); err != nil {
			return admem.Invalid("key_id", "not a key id")
		}
	}
	if len(src.AgentID) > admem.MaxScopeLen {
		return admem.Invalid("agent_id", "too long")
	}
	return nil
}

// Source lists what one key or agent taught the tenant (admin scope): its
// trajectories and feedback, the learned items built on them, and the
// purges of it.
func (s *Service) Source(ctx context.Context, p admem.Principal, src admem.Source, limit int) (admem.SourceReport, error) {
	if err := need(p, admem.ScopeAdmin); err != nil {
		return admem.SourceReport{}, err
	}
	if err := validSource(src); err != nil {
		return admem.SourceReport{}, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.store.SourceReport(ctx, p.TenantID, src, limit)
}

// Purge takes back what one key or agent taught (admin scope, audited):
// its trajectories and feedback stop counting, and the tenant's mistakes
// and procedures are recomputed without them, as new versions.
func (s *Service) Purge(ctx context.Context, p admem.Principal, src admem.Source) (admem.Purge, error) {
	if err := need(p, admem.ScopeAdmin); err != nil {
		return admem.Purge{}, err
	}
	if err := validSource(src); err != nil {
		return admem.Purge{}, err
	}
	stillRetired := func(r store.Rated) bool {
		// What stays after the purge must still hold: the counts call for
		// retirement and the remaining ratings against it come from a
		// quorum of independent sources.
		return judge.RetireBy(r.Uses, r.Successes, r.Against, r.Quorum, r.AdminAgainst)
	}
	return s.store.PurgeSource(ctx, p.TenantID, src, admem.AuditEvent{ActorKeyID: p.KeyID}, s.learner.Relearn, stillRetired)
}
