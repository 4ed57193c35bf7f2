package http

import (
	"net/http"

	"github.com/admem/admem"
)

func (s *Server) handleListFailures(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := admem.FailureFilter{Tool: q.Get("tool")}
	for name, dst := range map[string]*bool{"include_merged": &f.IncludeMerged, "include_suppressed": &f.IncludeSuppress} {
		switch q.Get(name) {
		case "", "false":
		case "true":
			*dst = true
		default:
			s.writeError(w, r, admem.Invalid(name, "true or false"))
			return
		}
	}
	cs, next, err := s.failures.List(r.Context(), principal(r), f, pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := failureClusterList{Items: make([]failureClusterJSON, 0, len(cs)), NextCursor: next}
	for _, c := range cs {
		out.Items = append(out.Items, toFailureClusterJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetFailure(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "failureID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.failures.Get(r.Context(), principal(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toFailureClusterJSON(c))
}

func (s *Server) handleUpdateFailure(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "failureID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req updateFailureRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.failures.Update(r.Context(), principal(r), id, admem.FailureClusterUpdate{Label: req.Label, Suppressed: req.Suppressed})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toFailureClusterJSON(c))
}

func (s *Server) handleMergeFailure(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "failureID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req mergeFailureRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	from, ok := parseUUID(req.From)
	if !ok {
		s.writeError(w, r, admem.Invalid("from", "the id of a failure cluster"))
		return
	}
	c, err := s.failures.Merge(r.Context(), principal(r), id, from)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toFailureClusterJSON(c))
}

func (s *Server) handleSplitFailure(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "failureID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req splitFailureRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	c, err := s.failures.Split(r.Context(), principal(r), id, req.Force)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/failures/"+c.ID)
	writeJSON(w, http.StatusCreated, toFailureClusterJSON(c))
}
