package http

import (
	"net/http"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/guard"
)

func (s *Server) handleGuard(w http.ResponseWriter, r *http.Request) {
	var req guardRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := guard.Request{Task: req.Task, Candidates: make([]guard.Candidate, len(req.Candidates)), Context: make([]admem.Step, len(req.Context))}
	for i, c := range req.Candidates {
		tool, err := actionName("candidates["+itoa(i)+"]", c.Action, c.Tool)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		in.Candidates[i] = guard.Candidate{Tool: tool, Args: c.Args}
	}
	for i, st := range req.Context {
		tool, err := actionName("context["+itoa(i)+"]", st.Action, st.Tool)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		status := admem.StepOK
		switch st.Status {
		case "", "ok":
			if st.Error != "" {
				status = admem.StepError
			}
		case "error":
			status = admem.StepError
		default:
			s.writeError(w, r, admem.Invalid("context["+itoa(i)+"].status", "ok or error"))
			return
		}
		index := i
		if st.Index != nil {
			index = *st.Index
		}
		in.Context[i] = admem.Step{Index: index, Action: tool, Args: st.Args, Status: status, Error: st.Error, ErrorType: st.ErrorType, Observation: st.Observation}
	}
	resp, err := s.guard.Check(r.Context(), principal(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toGuardResponse(resp))
}

func (s *Server) handleGetGuardSettings(w http.ResponseWriter, r *http.Request) {
	gs, err := s.guard.Settings(r.Context(), principal(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toGuardSettings(gs))
}

func (s *Server) handlePutGuardSettings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Warn       *float64 `json:"warn"`
		Block      *float64 `json:"block"`
		UseAdapter *bool    `json:"use_adapter"`
	}
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Warn == nil {
		s.writeError(w, r, admem.Invalid("warn", "required"))
		return
	}
	if req.Block == nil {
		s.writeError(w, r, admem.Invalid("block", "required"))
		return
	}
	gs, err := s.guard.SetSettings(r.Context(), principal(r), guard.Thresholds{Warn: *req.Warn, Block: *req.Block}, req.UseAdapter)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toGuardSettings(gs))
}
