package http

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/auth"
	"github.com/admem/admem/internal/tenancy"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

func principal(r *http.Request) admem.Principal {
	p, _ := admem.PrincipalFrom(r.Context())
	return p
}

// pathID reads a UUID path parameter; anything else cannot name a resource.
func pathID(r *http.Request, name string) (string, error) {
	v := chi.URLParam(r, name)
	if _, err := uuid.Parse(v); err != nil {
		return "", admem.ErrNotFound
	}
	return strings.ToLower(v), nil
}

// page reads limit and cursor query parameters.
func page(r *http.Request) (admem.Page, error) {
	q := r.URL.Query()
	p := admem.Page{Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > admem.MaxPageLimit {
			return p, admem.Invalid("limit", "an integer from 1 to 500")
		}
		p.Limit = n
	}
	return p, nil
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	writeJSON(w, http.StatusOK, meResponse{KeyID: p.KeyID, TenantID: p.TenantID, Scopes: scopesToStrings(p.Scopes), IsPlatform: p.IsPlatform})
}

func (s *Server) handleIssueToken(w http.ResponseWriter, r *http.Request) {
	cred := r.Header.Get("X-API-Key")
	if cred == "" {
		_, cred, _ = strings.Cut(r.Header.Get("Authorization"), " ")
		cred = strings.TrimSpace(cred)
	}
	if !auth.LooksLikeKey(cred) {
		s.unauthorized(w, r, "exchange an API key for a token, not a token")
		return
	}
	var req tokenRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	for _, sc := range req.Scopes {
		if !admem.ValidScope(admem.KeyScope(sc)) {
			s.writeError(w, r, admem.Invalid("scopes", "unknown scope "+strconv.Quote(sc)))
			return
		}
	}
	tok, exp, err := s.auth.IssueToken(r.Context(), cred, stringsToScopes(req.Scopes))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	scopes := req.Scopes
	if len(scopes) == 0 {
		scopes = scopesToStrings(principal(r).Scopes)
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer",
		ExpiresIn: int(time.Until(exp).Round(time.Second).Seconds()), ExpiresAt: exp.UTC(), Scopes: scopes})
}

func (s *Server) handleCreateTenant(w http.ResponseWriter, r *http.Request) {
	var req createTenantRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := tenancy.NewTenant{Name: req.Name, DisplayName: req.DisplayName}
	if req.RateLimit != nil {
		in.RateRPS, in.RateBurst = req.RateLimit.RequestsPerSecond, req.RateLimit.Burst
	}
	t, err := s.tenancy.CreateTenant(r.Context(), principal(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	writeJSON(w, http.StatusCreated, toTenantJSON(t))
}

func (s *Server) handleListTenants(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ts, next, err := s.tenancy.ListTenants(r.Context(), principal(r), pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := tenantList{Items: make([]tenantJSON, 0, len(ts)), NextCursor: next}
	for _, t := range ts {
		out.Items = append(out.Items, toTenantJSON(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetTenant(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "tenantID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.tenancy.GetTenant(r.Context(), principal(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTenantJSON(t))
}

func (s *Server) handleUpdateTenant(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "tenantID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req updateTenantRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u := admem.TenantUpdate{DisplayName: req.DisplayName}
	if req.Status != nil {
		st := admem.TenantStatus(*req.Status)
		u.Status = &st
	}
	if req.RateLimit != nil {
		u.RateRPS, u.RateBurst = req.RateLimit.RequestsPerSecond, req.RateLimit.Burst
	}
	t, err := s.tenancy.UpdateTenant(r.Context(), principal(r), id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTenantJSON(t))
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, tenantID string) {
	var req createKeyRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, secret, err := s.tenancy.CreateKey(r.Context(), principal(r), tenancy.NewKey{
		TenantID: tenantID, Name: req.Name, Scopes: stringsToScopes(req.Scopes), ExpiresAt: req.ExpiresAt, AgentID: req.AgentID})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/keys/"+k.ID)
	writeJSON(w, http.StatusCreated, createdKeyJSON{apiKeyJSON: toKeyJSON(k), Key: secret})
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) { s.createKey(w, r, "") }

func (s *Server) handleCreateTenantKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "tenantID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.createKey(w, r, id)
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ks, next, err := s.tenancy.ListKeys(r.Context(), principal(r), pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := keyList{Items: make([]apiKeyJSON, 0, len(ks)), NextCursor: next}
	for _, k := range ks {
		out.Items = append(out.Items, toKeyJSON(k))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "keyID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.tenancy.GetKey(r.Context(), principal(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toKeyJSON(k))
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "keyID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.tenancy.RevokeKey(r.Context(), principal(r), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := admem.AuditFilter{Action: r.URL.Query().Get("action")}
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.writeError(w, r, admem.Invalid("since", "an RFC 3339 time"))
			return
		}
		f.Since = &t
	}
	es, next, err := s.tenancy.ListAudit(r.Context(), principal(r), f, pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := auditList{Items: make([]auditEventJSON, 0, len(es)), NextCursor: next}
	for _, e := range es {
		out.Items = append(out.Items, auditEventJSON{ID: e.ID, TenantID: e.TenantID, ActorKeyID: e.ActorKeyID, Action: e.Action,
			TargetType: e.TargetType, TargetID: e.TargetID, Details: e.Details, RequestID: e.RequestID, CreatedAt: e.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}
