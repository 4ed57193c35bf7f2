package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/admem/admem"
)

// DeadLetters lists a tenant's dead-lettered events.
type DeadLetters interface {
	ListDeadLetters(ctx context.Context, tenantID string, page admem.Page) ([]admem.DeadLetter, string, error)
}

func (s *Server) handleRecordTrajectory(w http.ResponseWriter, r *http.Request) {
	var req trajectoryRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ts, err := s.trajectories.Record(r.Context(), principal(r), []admem.Trajectory{req.domain()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t := ts[0]
	w.Header().Set("Location", "/v1/trajectories/"+t.ID)
	writeJSON(w, http.StatusCreated, toTrajectoryJSON(summarize(t, sourceOf(t, req.Outcome)), true))
}

// sourceOf says who decided a newly recorded trajectory's outcome.
func sourceOf(t admem.Trajectory, sent *string) admem.OutcomeSource {
	switch {
	case t.Outcome == admem.OutcomeUnknown:
		return ""
	case sent == nil:
		return admem.OutcomeByJudge
	}
	return admem.OutcomeByAgent
}

func (s *Server) handleRecordTrajectoryBatch(w http.ResponseWriter, r *http.Request) {
	var req batchRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := make([]admem.Trajectory, len(req.Trajectories))
	for i, t := range req.Trajectories {
		in[i] = t.domain()
	}
	ts, err := s.trajectories.Record(r.Context(), principal(r), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := trajectoryList{Items: make([]trajectoryJSON, len(ts))}
	for i, t := range ts {
		out.Items[i] = toTrajectoryJSON(summarize(t, sourceOf(t, req.Trajectories[i].Outcome)), false)
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleAppendSteps(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "trajectoryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req appendRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	steps := make([]admem.Step, len(req.Steps))
	for i, st := range req.Steps {
		steps[i] = st.domain()
	}
	res, err := s.trajectories.Append(r.Context(), principal(r), id, steps)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Learning happens in the worker now: learned stays empty (kept for
	// clients that read it; see openapi.yaml).
	out := appendResponse{Trajectory: toTrajectoryJSON(summarize(res.Trajectory, ""), true), Learned: []learnedItemJSON{}}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCloseTrajectory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "trajectoryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req closeRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	outcome := admem.OutcomeUnknown
	if req.Outcome != nil {
		outcome = admem.Outcome(*req.Outcome)
		if outcome == admem.OutcomeUnknown {
			outcome = "(empty)"
		}
	}
	t, err := s.trajectories.Close(r.Context(), principal(r), id, outcome, req.Score)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	src := admem.OutcomeByAgent
	if req.Outcome == nil {
		src = admem.OutcomeByJudge
	}
	writeJSON(w, http.StatusOK, toTrajectoryJSON(summarize(t, src), true))
}

func (s *Server) handleGetTrajectory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "trajectoryID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.trajectories.Get(r.Context(), principal(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTrajectoryJSON(t, true))
}

func (s *Server) handleListTrajectories(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := admem.TrajectoryFilter{Scope: admem.Scope{AgentID: q.Get("agent_id"), UserID: q.Get("user_id"), SessionID: q.Get("session_id")}}
	if v := q.Get("outcome"); v != "" {
		o := admem.Outcome(v)
		if v == "unknown" {
			o = admem.OutcomeUnknown
		}
		f.Outcome = &o
	}
	for name, dst := range map[string]**bool{"open": &f.Open, "failed": &f.Failed} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				s.writeError(w, r, admem.Invalid(name, "true or false"))
				return
			}
			*dst = &b
		}
	}
	for name, dst := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.writeError(w, r, admem.Invalid(name, "an RFC 3339 time"))
				return
			}
			*dst = &t
		}
	}
	ts, next, err := s.trajectories.List(r.Context(), principal(r), f, pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := trajectoryList{Items: make([]trajectoryJSON, len(ts)), NextCursor: next}
	for i, t := range ts {
		out.Items[i] = toTrajectoryJSON(t, false)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListLearned(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	switch kind {
	case "", string(admem.KindMistake), string(admem.KindProcedure):
	default:
		s.writeError(w, r, admem.Invalid("kind", "mistake or procedure"))
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > admem.MaxPageLimit {
			s.writeError(w, r, admem.Invalid("limit", "an integer from 1 to 500"))
			return
		}
		limit = n
	}
	items, err := s.trajectories.Learned(r.Context(), principal(r), admem.EntryKind(kind), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := learnedList{Items: make([]learnedItemJSON, len(items))}
	for i, it := range items {
		out.Items[i] = toLearnedJSON(it)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetLearned(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "itemID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	it, err := s.recall.Learned(r.Context(), principal(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLearnedJSON(it))
}

func (s *Server) handleListLearnedVersions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "itemID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vs, next, err := s.recall.LearnedVersions(r.Context(), principal(r), id, pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := learnedVersionList{Items: make([]learnedVersionJSON, len(vs)), NextCursor: next}
	for i, v := range vs {
		out.Items[i] = toLearnedVersionJSON(v)
	}
	writeJSON(w, http.StatusOK, out)
}

func toSettingsJSON(st admem.LearningSettings) learningSettingsJSON {
	out := learningSettingsJSON{JudgeRule: st.JudgeRule, JudgeThreshold: st.JudgeThreshold, Strategy: string(st.Strategy),
		RetireQuorum: st.RetireQuorum, LearningQuorum: st.LearningQuorum}
	if !st.UpdatedAt.IsZero() {
		out.UpdatedAt = &st.UpdatedAt
	}
	return out
}

func (s *Server) handleGetLearningSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.trajectories.Settings(r.Context(), principal(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSettingsJSON(st))
}

func (s *Server) handlePutLearningSettings(w http.ResponseWriter, r *http.Request) {
	var req learningSettingsRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.trajectories.Settings(r.Context(), principal(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.JudgeRule != nil {
		st.JudgeRule = *req.JudgeRule
	}
	if req.JudgeThreshold != nil {
		st.JudgeThreshold = *req.JudgeThreshold
	}
	if req.Strategy != nil {
		st.Strategy = admem.UpdateStrategy(*req.Strategy)
	}
	if req.RetireQuorum != nil {
		if *req.RetireQuorum == 0 {
			s.writeError(w, r, admem.Invalid("retire_quorum", "an integer from 1 to 100"))
			return
		}
		st.RetireQuorum = *req.RetireQuorum
	}
	if req.LearningQuorum != nil {
		if *req.LearningQuorum == 0 {
			s.writeError(w, r, admem.Invalid("learning_quorum", "an integer from 1 to 100"))
			return
		}
		st.LearningQuorum = *req.LearningQuorum
	}
	st, err = s.trajectories.PutSettings(r.Context(), principal(r), st)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSettingsJSON(st))
}

func (s *Server) handleListDeadLetters(w http.ResponseWriter, r *http.Request) {
	pg, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ds, next, err := s.deadLetters.ListDeadLetters(r.Context(), principal(r).TenantID, pg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := deadLetterList{Items: make([]deadLetterJSON, len(ds)), NextCursor: next}
	for i, d := range ds {
		p := d.Event.Payload
		if p == nil {
			p = map[string]any{}
		}
		out.Items[i] = deadLetterJSON{ID: d.ID, EventID: d.Event.ID, Type: d.Event.Type, SubjectID: d.Event.SubjectID, Payload: p,
			StreamID: d.StreamID, Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt}
	}
	writeJSON(w, http.StatusOK, out)
}
