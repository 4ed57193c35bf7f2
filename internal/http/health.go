package http

import (
	"context"
	"net/http"
	"slices"
	"time"
)

type healthResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// handleHealthz says the process is up; it checks nothing else.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, healthResponse{Status: "ok"})
}

// handleReadyz says whether the dependencies answer. Postgres down is
// "unavailable" (503: take this replica out); a degradable dependency down
// (Redis: rate limits and notices are skipped, writes still work) is
// "degraded" with a 200, so load balancers keep serving.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := healthResponse{Status: "ok", Checks: map[string]string{}}
	status := http.StatusOK
	if s.ready != nil {
		for name, err := range s.ready(ctx) {
			if err == nil {
				out.Checks[name] = "ok"
				continue
			}
			out.Checks[name] = "unavailable: " + err.Error()
			if slices.Contains(s.degradable, name) {
				if out.Status == "ok" {
					out.Status = "degraded"
				}
			} else {
				out.Status, status = "unavailable", http.StatusServiceUnavailable
			}
		}
	}
	writeJSON(w, status, out)
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(s.openapi)
}
