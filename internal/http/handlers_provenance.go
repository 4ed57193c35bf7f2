package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/admem/admem"
)

type sourceJSON struct {
	KeyID   string `json:"key_id,omitempty"`
	AgentID string `json:"agent_id,omitempty"`
}

type sourceFeedbackJSON struct {
	RecallID   string         `json:"recall_id"`
	Outcome    string         `json:"outcome"`
	Provenance provenanceJSON `json:"provenance"`
	GivenAt    time.Time      `json:"given_at"`
	Purged     bool           `json:"purged"`
}

type learnedRefJSON struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Key      string `json:"key"`
	Version  int    `json:"version"`
	Status   string `json:"status"`
	Evidence int    `json:"evidence"`
}

type purgeJSON struct {
	ID           string     `json:"id"`
	Source       sourceJSON `json:"source"`
	ActorKeyID   string     `json:"actor_key_id,omitempty"`
	Trajectories int        `json:"trajectories"`
	Feedback     int        `json:"feedback"`
	Items        int        `json:"items"`
	CreatedAt    time.Time  `json:"created_at"`
}

type sourceReportJSON struct {
	Source       sourceJSON           `json:"source"`
	Trajectories []trajectoryJSON     `json:"trajectories"`
	Feedback     []sourceFeedbackJSON `json:"feedback"`
	Learned      []learnedRefJSON     `json:"learned"`
	Purges       []purgeJSON          `json:"purges"`
}

type purgeRequest struct {
	KeyID   string `json:"key_id"`
	AgentID string `json:"agent_id"`
}

func toPurgeJSON(p admem.Purge) purgeJSON {
	return purgeJSON{ID: p.ID, Source: sourceJSON(p.Source), ActorKeyID: p.ActorKeyID, Trajectories: p.Trajectories,
		Feedback: p.Feedback, Items: p.Items, CreatedAt: p.CreatedAt}
}

// handleGetProvenance lists what one key or agent taught the tenant.
func (s *Server) handleGetProvenance(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	src := admem.Source{KeyID: q.Get("key_id"), AgentID: q.Get("agent_id")}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > admem.MaxPageLimit {
			s.writeError(w, r, admem.Invalid("limit", "an integer from 1 to 500"))
			return
		}
		limit = n
	}
	rep, err := s.trajectories.Source(r.Context(), principal(r), src, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := sourceReportJSON{Source: sourceJSON(rep.Source), Trajectories: make([]trajectoryJSON, len(rep.Trajectories)),
		Feedback: make([]sourceFeedbackJSON, len(rep.Feedback)), Learned: make([]learnedRefJSON, len(rep.Learned)),
		Purges: make([]purgeJSON, len(rep.Purges))}
	for i, t := range rep.Trajectories {
		out.Trajectories[i] = toTrajectoryJSON(t, false)
	}
	for i, f := range rep.Feedback {
		out.Feedback[i] = sourceFeedbackJSON{RecallID: f.RecallID, Outcome: outcomeJSON(f.Outcome), Provenance: provenanceJSON(f.Provenance),
			GivenAt: f.GivenAt, Purged: f.Purged}
	}
	for i, l := range rep.Learned {
		out.Learned[i] = learnedRefJSON{ID: l.ID, Kind: string(l.Kind), Key: l.Key, Version: l.Version, Status: string(l.Status), Evidence: l.Evidence}
	}
	for i, p := range rep.Purges {
		out.Purges[i] = toPurgeJSON(p)
	}
	writeJSON(w, http.StatusOK, out)
}

// handlePurgeProvenance takes back what one key or agent taught.
func (s *Server) handlePurgeProvenance(w http.ResponseWriter, r *http.Request) {
	var req purgeRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.trajectories.Purge(r.Context(), principal(r), admem.Source{KeyID: req.KeyID, AgentID: req.AgentID})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPurgeJSON(p))
}
