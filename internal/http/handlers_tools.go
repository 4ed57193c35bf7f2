package http

import (
	"net/http"
	"net/url"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/toolclass"
	"github.com/go-chi/chi/v5"
)

type toolJSON struct {
	Name         string     `json:"name"`
	Class        string     `json:"class"`
	Declared     bool       `json:"declared"`
	DeclaredAt   *time.Time `json:"declared_at,omitempty"`
	Replacements []string   `json:"replacements"`
}

type toolList struct {
	Items      []toolJSON `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

func toToolJSON(l toolclass.Listing) toolJSON {
	return toolJSON{Name: l.Name, Class: string(l.Class), Declared: l.Declared, DeclaredAt: l.DeclaredAt, Replacements: l.Replacements}
}

// pathTool reads a tool name from the path (URL-encoded there: a name may
// hold any character).
func pathTool(r *http.Request, name string) (string, error) {
	v, err := url.PathUnescape(chi.URLParam(r, name))
	if err != nil {
		return "", admem.Invalid(name, "not a URL-encoded tool name")
	}
	return v, nil
}

func (s *Server) handleListTools(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ls, next, err := s.tools.List(r.Context(), principal(r), pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toolList{Items: make([]toolJSON, len(ls)), NextCursor: next}
	for i, l := range ls {
		out.Items[i] = toToolJSON(l)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetTool(w http.ResponseWriter, r *http.Request) {
	tool, err := pathTool(r, "tool")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	l, err := s.tools.Get(r.Context(), principal(r), tool)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toToolJSON(l))
}

func (s *Server) handlePutToolAnnotation(w http.ResponseWriter, r *http.Request) {
	tool, err := pathTool(r, "tool")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Class *string `json:"class"`
	}
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Class == nil || *req.Class == "" {
		s.writeError(w, r, admem.Invalid("class", "required: read_only, writes or destructive"))
		return
	}
	l, err := s.tools.Annotate(r.Context(), principal(r), tool, toolclass.Class(*req.Class))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toToolJSON(l))
}

func (s *Server) handleDeleteToolAnnotation(w http.ResponseWriter, r *http.Request) {
	tool, err := pathTool(r, "tool")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	l, err := s.tools.Annotate(r.Context(), principal(r), tool, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toToolJSON(l))
}

func (s *Server) confirmReplacement(w http.ResponseWriter, r *http.Request, confirm bool) {
	from, err := pathTool(r, "tool")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	to, err := pathTool(r, "replacement")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	l, err := s.tools.ConfirmReplacement(r.Context(), principal(r), from, to, confirm)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toToolJSON(l))
}

func (s *Server) handleConfirmReplacement(w http.ResponseWriter, r *http.Request) {
	s.confirmReplacement(w, r, true)
}

func (s *Server) handleWithdrawReplacement(w http.ResponseWriter, r *http.Request) {
	s.confirmReplacement(w, r, false)
}

func (s *Server) handleSetKeyTrust(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "keyID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Trusted *bool `json:"trusted"`
	}
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Trusted == nil {
		s.writeError(w, r, admem.Invalid("trusted", "required"))
		return
	}
	k, err := s.tenancy.SetKeyTrust(r.Context(), principal(r), id, *req.Trusted)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toKeyJSON(k))
}
