package http

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/recall"
)

type recallRequest struct {
	Task        string        `json:"task"`
	Context     string        `json:"context"`
	RecentSteps []stepRequest `json:"recent_steps"`
	Scope       *scopeJSON    `json:"scope"`
	Kinds       []string      `json:"kinds"`
	Budget      int           `json:"budget"`
	// IncludeQuarantined serves quarantined items too.
	IncludeQuarantined bool `json:"include_quarantined"`
}

type recallItemJSON struct {
	ID          string         `json:"id"`
	Kind        string         `json:"kind"`
	Source      string         `json:"source"`
	Key         string         `json:"key,omitempty"`
	Content     string         `json:"content"`
	Score       float64        `json:"score"`
	Tokens      int            `json:"tokens"`
	AdapterRisk *float64       `json:"adapter_risk,omitempty"`
	Mistake     *mistakeJSON   `json:"mistake,omitempty"`
	Procedure   *procedureJSON `json:"procedure,omitempty"`
	Trust       string         `json:"trust"`
	// QuarantineReason is why a quarantined item looks like an instruction.
	QuarantineReason string `json:"quarantine_reason,omitempty"`
}

type recallResponse struct {
	RecallID       string           `json:"recall_id"`
	AdapterVersion *int             `json:"adapter_version"`
	Adapter        string           `json:"adapter"`
	Items          []recallItemJSON `json:"items"`
	Text           string           `json:"text"`
	Tokens         int              `json:"tokens"`
	Budget         int              `json:"budget"`
	// QuarantinedOmitted counts the relevant quarantined items left out.
	QuarantinedOmitted int `json:"quarantined_omitted"`
}

type feedbackRequest struct {
	Outcome   string   `json:"outcome"`
	Helpful   []string `json:"helpful"`
	Harmful   []string `json:"harmful"`
	AgentID   string   `json:"agent_id"`
	SessionID string   `json:"session_id"`
}

type feedbackResponse struct {
	RecallID       string            `json:"recall_id"`
	Updated        []learnedItemJSON `json:"updated"`
	UpdatedEntries []entryJSON       `json:"updated_entries"`
}

// stepsText renders recent steps as context text: the actions and errors
// are what make a mistake note relevant.
func stepsText(steps []stepRequest) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "%s %s", s.Action, s.Status)
		if s.Error != "" {
			b.WriteString(" " + s.Error)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (s *Server) handleRecall(w http.ResponseWriter, r *http.Request) {
	var req recallRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := recall.Query{Task: req.Task, Context: req.Context, Budget: req.Budget, IncludeQuarantined: req.IncludeQuarantined}
	if len(req.RecentSteps) > 0 {
		q.Context = strings.TrimSpace(q.Context + "\n" + stepsText(req.RecentSteps))
		for _, st := range req.RecentSteps {
			q.Steps = append(q.Steps, st.domain())
		}
	}
	if req.Scope != nil {
		q.Scope = admem.Scope{AgentID: req.Scope.AgentID, UserID: req.Scope.UserID, SessionID: req.Scope.SessionID}
	}
	for _, k := range req.Kinds {
		q.Kinds = append(q.Kinds, admem.EntryKind(k))
	}
	res, err := s.recall.Recall(r.Context(), principal(r), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := recallResponse{RecallID: res.ID, Adapter: "none", Items: make([]recallItemJSON, len(res.Items)), Text: res.Text, Tokens: res.Tokens, Budget: res.Budget,
		QuarantinedOmitted: res.QuarantinedOmitted}
	if res.AdapterVersion > 0 {
		v := res.AdapterVersion
		out.AdapterVersion, out.Adapter = &v, "v"+strconv.Itoa(v)
	}
	for i, it := range res.Items {
		out.Items[i] = recallItemJSON{ID: it.ID, Kind: string(it.Kind), Source: it.Source, Key: it.Key, Content: it.Content, Score: it.Score,
			Tokens: it.Tokens, AdapterRisk: it.Risk, Trust: string(it.Trust), QuarantineReason: it.QuarantineReason}
		out.Items[i].Mistake, out.Items[i].Procedure = toStructuredJSON(it.Structured)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRecallFeedback(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "recallID")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req feedbackRequest
	if err := decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.recall.Feedback(r.Context(), principal(r), id, admem.Outcome(req.Outcome), req.Helpful, req.Harmful, req.AgentID, req.SessionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := feedbackResponse{RecallID: id, Updated: make([]learnedItemJSON, len(res.Learned)), UpdatedEntries: make([]entryJSON, len(res.Entries))}
	for i, it := range res.Learned {
		out.Updated[i] = toLearnedJSON(it)
	}
	for i, e := range res.Entries {
		out.UpdatedEntries[i] = toEntryJSON(e)
	}
	writeJSON(w, http.StatusOK, out)
}
