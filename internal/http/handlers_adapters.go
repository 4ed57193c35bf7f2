package http

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/admem/admem"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

func parseUUID(s string) (string, bool) {
	if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
		return "", false
	}
	return strings.ToLower(s), true
}

func itoa(n int) string { return strconv.Itoa(n) }

// pathVersion reads an adapter version number; anything else names nothing.
func pathVersion(r *http.Request) (int, error) {
	v, err := strconv.Atoi(chi.URLParam(r, "version"))
	if err != nil || v < 1 || v > 1<<30 {
		return 0, admem.ErrNotFound
	}
	return v, nil
}

func (s *Server) handleListAdapters(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vs, next, err := s.adapters.List(r.Context(), principal(r), pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := adapterVersionList{Items: make([]adapterVersionJSON, 0, len(vs)), NextCursor: next}
	for _, v := range vs {
		out.Items = append(out.Items, toAdapterVersionJSON(v))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetAdapter(w http.ResponseWriter, r *http.Request) {
	n, err := pathVersion(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.adapters.Get(r.Context(), principal(r), n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAdapterVersionJSON(v))
}

func (s *Server) handleActivateAdapter(w http.ResponseWriter, r *http.Request) {
	n, err := pathVersion(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.adapters.Activate(r.Context(), principal(r), n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAdapterVersionJSON(v))
}
