package http

import (
	"context"
	"net/http"
	"time"

	"github.com/admem/admem"
)

// LearningStatus reports how far the worker has caught up with a tenant.
type LearningStatus interface {
	LearningStatus(ctx context.Context, tenantID string) (admem.LearningStatus, error)
}

// learningStatusJSON is the LearningStatus schema of openapi.yaml.
type learningStatusJSON struct {
	PendingEvents      int64      `json:"pending_events"`
	OldestPendingAt    *time.Time `json:"oldest_pending_at"`
	LastProcessedAt    *time.Time `json:"last_processed_at"`
	DeadLetteredEvents int64      `json:"dead_lettered_events"`
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (s *Server) handleGetLearningStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.learningStatus.LearningStatus(r.Context(), principal(r).TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, learningStatusJSON{PendingEvents: st.PendingEvents, OldestPendingAt: timeOrNull(st.OldestPendingAt),
		LastProcessedAt: timeOrNull(st.LastProcessedAt), DeadLetteredEvents: st.DeadLettered})
}
