package http

import (
	"net/http"
	"time"

	"github.com/admem/admem"
)

func (s *Server) provenance(r *http.Request) admem.Provenance {
	return admem.Provenance{ActorKeyID: principal(r).KeyID, Source: admem.SourceRequest, SourceID: requestID(r.Context())}
}

func (s *Server) handleCreateEntry(w http.ResponseWriter, r *http.Request) {
	var req createEntryRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principal(r)
	res, err := s.memory.Write(r.Context(), p.TenantID, req.domain(p, requestID(r.Context())),
		admem.WriteOptions{Infer: req.Infer == nil || *req.Infer, Explain: req.Explain})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Op == admem.OpAdd {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/entries/"+res.Entry.ID)
	}
	writeJSON(w, status, toWriteResultJSON(res))
}

func (s *Server) handleCreateEntries(w http.ResponseWriter, r *http.Request) {
	var req createEntriesRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principal(r)
	ins := make([]admem.NewEntry, len(req.Entries))
	for i, e := range req.Entries {
		ins[i] = e.domain(p, requestID(r.Context()))
	}
	res, err := s.memory.WriteBatch(r.Context(), p.TenantID, ins, admem.WriteOptions{Infer: req.Infer == nil || *req.Infer, Explain: req.Explain})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := batchResultJSON{Results: make([]writeResultJSON, len(res)), Counts: map[string]int{}}
	for i, x := range res {
		out.Results[i] = toWriteResultJSON(x)
		out.Counts[string(x.Op)]++
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListEntries(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := entryFilterFromQuery(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	es, next, err := s.memory.List(r.Context(), principal(r).TenantID, f, pg)
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

func (s *Server) handleGetEntry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "entryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.memory.Get(r.Context(), principal(r).TenantID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEntryJSON(e))
}

func (s *Server) handleUpdateEntry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "entryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req updateEntryRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u := admem.EntryUpdate{Content: req.Content, Key: req.Key, Metadata: req.Metadata, Tags: req.Tags, ExpiresAt: req.ExpiresAt,
		Provenance: s.provenance(r)}
	if req.Status != nil {
		st := admem.EntryStatus(*req.Status)
		u.Status = &st
	}
	e, err := s.memory.Update(r.Context(), principal(r).TenantID, id, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEntryJSON(e))
}

func (s *Server) handleDeleteEntry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "entryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.memory.Delete(r.Context(), principal(r).TenantID, id, s.provenance(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEntryJSON(e))
}

func (s *Server) handleListEntryVersions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "entryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vs, next, err := s.memory.Versions(r.Context(), principal(r).TenantID, id, pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := versionList{Items: make([]versionJSON, len(vs)), NextCursor: next}
	for i, v := range vs {
		out.Items[i] = toVersionJSON(v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRollbackEntry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "entryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req rollbackRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.memory.Rollback(r.Context(), principal(r).TenantID, id, req.Version, s.provenance(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEntryJSON(e))
}

func (s *Server) handleForgetUser(w http.ResponseWriter, r *http.Request) {
	var req forgetRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.memory.ForgetUser(r.Context(), principal(r).TenantID, req.UserID, s.provenance(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, forgetResponse{EntriesDeleted: res.Entries, VersionsDeleted: res.Versions})
}

func (s *Server) handleSearchEntries(w http.ResponseWriter, r *http.Request) {
	var req searchRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := admem.SearchQuery{Text: req.Query, Limit: req.Limit, Mode: admem.SearchMode(req.Mode), Vector: req.Vector, VectorSpace: req.VectorSpace,
		SessionContext: req.SessionContext, RecencyWeight: req.RecencyWeight, UtilityWeight: req.UtilityWeight, Explain: req.Explain}
	if req.LexicalWeight != nil || req.VectorWeight != nil {
		// One weight given: the other counts as 0, not as its default.
		q.LexicalWeight, q.VectorWeight = deref(req.LexicalWeight), deref(req.VectorWeight)
		if q.LexicalWeight == 0 && q.VectorWeight == 0 {
			s.writeError(w, r, admem.Invalid("lexical_weight", "lexical_weight and vector_weight cannot both be 0"))
			return
		}
	}
	if req.RecencyHalfLifeHours < 0 || req.RecencyHalfLifeHours > 1e6 {
		s.writeError(w, r, admem.Invalid("recency_half_life_hours", "from 0 to 1000000"))
		return
	}
	q.RecencyHalfLife = time.Duration(req.RecencyHalfLifeHours * float64(time.Hour))
	if f := req.Filter; f != nil {
		q.Filter = admem.EntryFilter{Key: f.Key, Tags: f.Tags, Metadata: f.Metadata, CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore}
		for _, k := range f.Kinds {
			q.Filter.Kinds = append(q.Filter.Kinds, admem.EntryKind(k))
		}
		if f.Scope != nil {
			q.Filter.AgentID, q.Filter.UserID, q.Filter.SessionID = f.Scope.AgentID, f.Scope.UserID, f.Scope.SessionID
		}
	}
	hits, err := s.memory.Search(r.Context(), principal(r).TenantID, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := searchResponse{Items: make([]searchHitJSON, len(hits))}
	for i, h := range hits {
		out.Items[i] = searchHitJSON{Entry: toEntryJSON(h.Entry), Score: h.Score}
		if x := h.Explain; x != nil {
			out.Items[i].Explain = &searchExplainJSON{Lexical: x.Lexical, LexicalRank: x.LexicalRank, Vector: x.Vector, VectorRank: x.VectorRank,
				Fused: x.Fused, Context: x.Context, Recency: x.Recency, Utility: x.Utility, Embedder: x.Embedder}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
