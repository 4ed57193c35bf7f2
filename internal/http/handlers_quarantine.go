package http

import "net/http"

// handleListQuarantine lists the entries held in quarantine (admin).
func (s *Server) handleListQuarantine(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	es, next, err := s.memory.Quarantined(r.Context(), principal(r).TenantID, pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := entryList{Items: make([]entryJSON, len(es)), NextCursor: next}
	for i, e := range es {
		out.Items[i] = toEntryJSON(e)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleReleaseQuarantine releases one entry from quarantine (admin,
// audited).
func (s *Server) handleReleaseQuarantine(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "entryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.memory.ReleaseQuarantine(r.Context(), principal(r).TenantID, id, s.provenance(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEntryJSON(e))
}
