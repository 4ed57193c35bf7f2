package http

import (
	"sort"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/guard"
)

// Wire types of failure clusters, adapter versions and guard (openapi.yaml).

type failureNoteJSON struct {
	Text       string `json:"text"`
	When       string `json:"when,omitempty"`
	Doing      string `json:"doing,omitempty"`
	Correction string `json:"correction,omitempty"`
	Do         string `json:"do,omitempty"`
}

type affectedActionJSON struct {
	Action string `json:"action"`
	Count  int    `json:"count"`
}

type failureClusterJSON struct {
	ID              string               `json:"id"`
	SignatureID     string               `json:"signature_id"`
	Signature       string               `json:"signature"`
	Tool            string               `json:"tool"`
	ErrorClass      string               `json:"error_class"`
	Template        string               `json:"template"`
	Count           int                  `json:"count"`
	FirstSeenAt     time.Time            `json:"first_seen_at"`
	LastSeenAt      time.Time            `json:"last_seen_at"`
	AffectedActions []affectedActionJSON `json:"affected_actions"`
	Exemplars       []string             `json:"exemplar_trajectory_ids"`
	MistakeNote     *failureNoteJSON     `json:"mistake_note"`
	Label           string               `json:"label"`
	Suppressed      bool                 `json:"suppressed"`
	MergedInto      *string              `json:"merged_into"`
	SplitFrom       *string              `json:"split_from"`
	CreatedAt       time.Time            `json:"created_at"`
	UpdatedAt       time.Time            `json:"updated_at"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toFailureClusterJSON(c admem.FailureCluster) failureClusterJSON {
	out := failureClusterJSON{ID: c.ID, SignatureID: c.SignatureID, Signature: c.Signature, Tool: c.Tool, ErrorClass: c.ErrorClass,
		Template: c.Template, Count: c.Count, FirstSeenAt: c.FirstSeenAt, LastSeenAt: c.LastSeenAt,
		AffectedActions: make([]affectedActionJSON, 0, len(c.Actions)), Exemplars: c.Exemplars, Label: c.Label,
		Suppressed: c.Suppressed, MergedInto: strPtr(c.MergedInto), SplitFrom: strPtr(c.SplitFrom), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if out.Exemplars == nil {
		out.Exemplars = []string{}
	}
	for a, n := range c.Actions {
		out.AffectedActions = append(out.AffectedActions, affectedActionJSON{Action: a, Count: n})
	}
	sort.Slice(out.AffectedActions, func(i, j int) bool {
		a, b := out.AffectedActions[i], out.AffectedActions[j]
		return a.Count > b.Count || a.Count == b.Count && a.Action < b.Action
	})
	if c.Note.Text != "" {
		out.MistakeNote = &failureNoteJSON{Text: c.Note.Text, When: c.Note.When, Doing: c.Note.Doing, Correction: c.Note.Correction, Do: c.Note.Do}
	}
	return out
}

type failureClusterList struct {
	Items      []failureClusterJSON `json:"items"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

type updateFailureRequest struct {
	Label      *string `json:"label"`
	Suppressed *bool   `json:"suppressed"`
}

type mergeFailureRequest struct {
	From string `json:"from"`
}

type splitFailureRequest struct {
	Force bool `json:"force"`
}

type adapterVersionJSON struct {
	Version       int            `json:"version"`
	Status        string         `json:"status"`
	EmbedderID    string         `json:"embedder_id"`
	Dim           int            `json:"dim"`
	Rank          int            `json:"rank"`
	TrainExamples int            `json:"train_examples"`
	Metrics       map[string]any `json:"metrics"`
	Gate          map[string]any `json:"gate"`
	CreatedAt     time.Time      `json:"created_at"`
	ActivatedAt   *time.Time     `json:"activated_at"`
	ActivatedBy   string         `json:"activated_by,omitempty"`
}

func toAdapterVersionJSON(v admem.AdapterVersion) adapterVersionJSON {
	out := adapterVersionJSON{Version: v.Version, Status: string(v.Status), EmbedderID: v.EmbedderID, Dim: v.Dim, Rank: v.Rank,
		TrainExamples: v.TrainExamples, Metrics: v.Metrics, Gate: v.Gate, CreatedAt: v.CreatedAt, ActivatedAt: v.ActivatedAt, ActivatedBy: v.ActivatedBy}
	if out.Metrics == nil {
		out.Metrics = map[string]any{}
	}
	if out.Gate == nil {
		out.Gate = map[string]any{}
	}
	return out
}

type adapterVersionList struct {
	Items      []adapterVersionJSON `json:"items"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

// guardStepJSON is a step of guard's context: a trajectory step's shape
// (stepRequest) plus its index. Tool is the deprecated name of Action.
type guardStepJSON struct {
	Index       *int           `json:"index"`
	Action      string         `json:"action"`
	Tool        string         `json:"tool"`
	Args        map[string]any `json:"args"`
	Status      string         `json:"status"`
	Error       string         `json:"error"`
	ErrorType   string         `json:"error_type"`
	Observation string         `json:"observation"`
	Reward      *float64       `json:"reward"`
	StartedAt   *string        `json:"started_at"`
	DurationMS  *int64         `json:"duration_ms"`
}

// guardCandidateJSON is a call to check. Tool is the deprecated name of
// Action.
type guardCandidateJSON struct {
	Action string         `json:"action"`
	Tool   string         `json:"tool"`
	Args   map[string]any `json:"args"`
}

// actionName reads a step's or a call's tool name from action or from its
// deprecated alias tool: one of them is required, and both must agree.
func actionName(field, action, tool string) (string, error) {
	switch {
	case action == "" && tool == "":
		return "", admem.Invalid(field+".action", "required")
	case action == "":
		return tool, nil
	case tool != "" && tool != action:
		return "", admem.Invalid(field+".tool", "the deprecated name of action; it must equal action when both are sent")
	}
	return action, nil
}

type guardRequest struct {
	Task       string               `json:"task"`
	Context    []guardStepJSON      `json:"context"`
	Candidates []guardCandidateJSON `json:"candidates"`
}

type guardReasonJSON struct {
	Kind        string  `json:"kind"`
	MistakeID   string  `json:"mistake_id,omitempty"`
	NoteID      string  `json:"note_id,omitempty"`
	Signature   string  `json:"signature"`
	Note        string  `json:"note"`
	Rule        string  `json:"rule,omitempty"`
	MistakeKind string  `json:"mistake_kind,omitempty"`
	Count       int     `json:"count"`
	Match       float64 `json:"match"`
	Sources     int     `json:"sources"`
	Trusted     bool    `json:"trusted"`
	Caveat      string  `json:"caveat,omitempty"`
}

type guardCallJSON struct {
	Tool string         `json:"tool"`
	Args map[string]any `json:"args"`
}

type guardSuggestionJSON struct {
	Action    string         `json:"action,omitempty"`
	Call      *guardCallJSON `json:"call,omitempty"`
	Text      string         `json:"text"`
	Source    string         `json:"source"`
	Fix       string         `json:"fix,omitempty"`
	MistakeID string         `json:"mistake_id,omitempty"`
	Withheld  string         `json:"withheld,omitempty"`
}

type guardResultJSON struct {
	Tool        string               `json:"tool"`
	Action      string               `json:"action"`
	Risk        float64              `json:"risk"`
	AdapterRisk *float64             `json:"adapter_risk"`
	NoteRisk    float64              `json:"note_risk"`
	Decision    string               `json:"decision"`
	Kind        string               `json:"kind,omitempty"`
	Reasons     []guardReasonJSON    `json:"reasons"`
	Suggestion  *guardSuggestionJSON `json:"suggestion,omitempty"`
}

type guardThresholdsJSON struct {
	Warn  float64 `json:"warn"`
	Block float64 `json:"block"`
}

type guardSettingsJSON struct {
	Warn       float64 `json:"warn"`
	Block      float64 `json:"block"`
	UseAdapter bool    `json:"use_adapter"`
}

func toGuardSettings(gs admem.GuardSettings) guardSettingsJSON {
	return guardSettingsJSON{Warn: gs.Warn, Block: gs.Block, UseAdapter: gs.UseAdapter}
}

type guardResponse struct {
	AdapterVersion *int                `json:"adapter_version"`
	Adapter        string              `json:"adapter"`
	Thresholds     guardThresholdsJSON `json:"thresholds"`
	Results        []guardResultJSON   `json:"results"`
}

func toGuardResponse(r guard.Response) guardResponse {
	out := guardResponse{Adapter: "none", Thresholds: guardThresholdsJSON{Warn: r.Thresholds.Warn, Block: r.Thresholds.Block},
		Results: make([]guardResultJSON, 0, len(r.Verdicts))}
	if r.AdapterVersion > 0 {
		v := r.AdapterVersion
		out.AdapterVersion = &v
		out.Adapter = "v" + itoa(v)
	}
	for _, v := range r.Verdicts {
		res := guardResultJSON{Tool: v.Tool, Action: v.Action, Risk: v.Risk, AdapterRisk: v.AdapterRisk, NoteRisk: v.NoteRisk,
			Decision: string(v.Decision), Reasons: make([]guardReasonJSON, 0, len(v.Reasons))}
		res.Kind = string(v.Kind)
		for _, rs := range v.Reasons {
			res.Reasons = append(res.Reasons, guardReasonJSON{Kind: rs.Kind, MistakeID: rs.MistakeID, NoteID: rs.MistakeID,
				Signature: rs.Signature, Note: rs.Note, Rule: rs.Rule, MistakeKind: string(rs.MistakeKind), Count: rs.Count, Match: rs.Match,
				Sources: rs.Sources, Trusted: rs.Trusted, Caveat: rs.Caveat})
		}
		if sg := v.Suggestion; sg != nil {
			res.Suggestion = &guardSuggestionJSON{Action: sg.Action, Text: sg.Text, Source: "mistake_note", Fix: string(sg.Fix), MistakeID: sg.MistakeID,
				Withheld: sg.Withheld}
			if sg.Call != nil {
				args := sg.Call.Args
				if args == nil {
					args = map[string]any{}
				}
				res.Suggestion.Call = &guardCallJSON{Tool: sg.Call.Tool, Args: args}
			}
		}
		out.Results = append(out.Results, res)
	}
	return out
}
