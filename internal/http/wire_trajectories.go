package http

import (
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/recall"
	"github.com/admem/admem/internal/store"
)

// Wire types of trajectories, learning settings, learned items and dead
// letters (openapi.yaml: Trajectory, Step, …).

type scopeJSON struct {
	AgentID   string `json:"agent_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
}

type stepRequest struct {
	Action      string         `json:"action"`
	Args        map[string]any `json:"args"`
	Observation string         `json:"observation"`
	Error       string         `json:"error"`
	ErrorType   string         `json:"error_type"`
	Status      string         `json:"status"`
	Reward      *float64       `json:"reward"`
	StartedAt   *time.Time     `json:"started_at"`
	DurationMS  *int64         `json:"duration_ms"`
}

func (s stepRequest) domain() admem.Step {
	return admem.Step{Action: s.Action, Args: s.Args, Observation: s.Observation, Error: s.Error, ErrorType: s.ErrorType,
		Status: admem.StepStatus(s.Status), Reward: s.Reward, StartedAt: s.StartedAt, DurationMS: s.DurationMS}
}

type trajectoryRequest struct {
	Task     string         `json:"task"`
	Scope    *scopeJSON     `json:"scope"`
	Steps    []stepRequest  `json:"steps"`
	Outcome  *string        `json:"outcome"`
	Score    *float64       `json:"score"`
	Metadata map[string]any `json:"metadata"`
	Open     bool           `json:"open"`
}

func (r trajectoryRequest) domain() admem.Trajectory {
	t := admem.Trajectory{Task: r.Task, Score: r.Score, Metadata: r.Metadata, Open: r.Open}
	if r.Scope != nil {
		t.Scope = admem.Scope{AgentID: r.Scope.AgentID, UserID: r.Scope.UserID, SessionID: r.Scope.SessionID}
	}
	if r.Outcome != nil {
		t.Outcome = admem.Outcome(*r.Outcome)
		if *r.Outcome == "" {
			t.Outcome = "(empty)" // rejected by validation: say "omit it", not "unknown"
		}
	}
	t.Steps = make([]admem.Step, len(r.Steps))
	for i, s := range r.Steps {
		t.Steps[i] = s.domain()
	}
	return t
}

type batchRequest struct {
	Trajectories []trajectoryRequest `json:"trajectories"`
}

type appendRequest struct {
	Steps []stepRequest `json:"steps"`
}

type closeRequest struct {
	Outcome *string  `json:"outcome"`
	Score   *float64 `json:"score"`
}

type stepJSON struct {
	Index       int            `json:"index"`
	Action      string         `json:"action"`
	Args        map[string]any `json:"args"`
	Observation string         `json:"observation,omitempty"`
	Error       string         `json:"error,omitempty"`
	ErrorType   string         `json:"error_type,omitempty"`
	Status      string         `json:"status"`
	Reward      *float64       `json:"reward,omitempty"`
	StartedAt   *time.Time     `json:"started_at,omitempty"`
	DurationMS  *int64         `json:"duration_ms,omitempty"`
	Provenance  provenanceJSON `json:"provenance"`
}

type trajectoryJSON struct {
	ID            string         `json:"id"`
	Task          string         `json:"task"`
	Scope         scopeJSON      `json:"scope"`
	Steps         []stepJSON     `json:"steps,omitempty"`
	Outcome       string         `json:"outcome"`
	OutcomeSource string         `json:"outcome_source,omitempty"`
	Score         *float64       `json:"score,omitempty"`
	Metadata      map[string]any `json:"metadata"`
	Open          bool           `json:"open"`
	StepCount     int            `json:"step_count"`
	FailedSteps   int            `json:"failed_steps"`
	CreatedAt     time.Time      `json:"created_at"`
	ClosedAt      *time.Time     `json:"closed_at,omitempty"`
	Provenance    provenanceJSON `json:"provenance"`
	Purged        bool           `json:"purged,omitempty"`
}

func outcomeJSON(o admem.Outcome) string {
	if o == admem.OutcomeUnknown {
		return "unknown"
	}
	return string(o)
}

func toTrajectoryJSON(s admem.TrajectorySummary, withSteps bool) trajectoryJSON {
	md := s.Metadata
	if md == nil {
		md = map[string]any{}
	}
	out := trajectoryJSON{ID: s.ID, Task: s.Task, Scope: scopeJSON{AgentID: s.Scope.AgentID, UserID: s.Scope.UserID, SessionID: s.Scope.SessionID},
		Outcome: outcomeJSON(s.Outcome), OutcomeSource: string(s.OutcomeSource), Score: s.Score, Metadata: md, Open: s.Open,
		StepCount: s.StepCount, FailedSteps: s.FailedSteps, CreatedAt: s.CreatedAt, ClosedAt: s.ClosedAt,
		Provenance: provenanceJSON(s.Provenance), Purged: s.Purged}
	if withSteps {
		out.Steps = make([]stepJSON, len(s.Steps))
		for i, st := range s.Steps {
			args := st.Args
			if args == nil {
				args = map[string]any{}
			}
			out.Steps[i] = stepJSON{Index: st.Index, Action: st.Action, Args: args, Observation: st.Observation, Error: st.Error,
				ErrorType: st.ErrorType, Status: string(st.Status), Reward: st.Reward, StartedAt: st.StartedAt, DurationMS: st.DurationMS,
				Provenance: provenanceJSON(st.Provenance)}
		}
	}
	return out
}

// summarize gives a freshly written trajectory the counters a stored one has.
func summarize(t admem.Trajectory, source admem.OutcomeSource) admem.TrajectorySummary {
	if t.Outcome != admem.OutcomeUnknown && source == "" {
		source = admem.OutcomeByAgent
	}
	return admem.TrajectorySummary{Trajectory: t, OutcomeSource: source, StepCount: len(t.Steps), FailedSteps: len(t.FailedSteps())}
}

type trajectoryList struct {
	Items      []trajectoryJSON `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

type learnedItemJSON struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	Key       string         `json:"key"`
	Content   string         `json:"content"`
	Count     int            `json:"count"`
	Version   int            `json:"version"`
	Status    string         `json:"status"`
	Uses      int            `json:"uses"`
	Successes int            `json:"successes"`
	UpdatedAt time.Time      `json:"updated_at"`
	Mistake   *mistakeJSON   `json:"mistake,omitempty"`
	Procedure *procedureJSON `json:"procedure,omitempty"`
}

func toLearnedJSON(it store.LearnedItem) learnedItemJSON {
	out := learnedItemJSON{ID: it.ID, Kind: string(it.Kind), Key: it.Key, Content: it.Content, Count: it.Count, Version: it.Version,
		Status: string(it.Status), Uses: it.Uses, Successes: it.Successes, UpdatedAt: it.UpdatedAt}
	// The state is the server's own JSON; should an old version not decode,
	// the item is still served with its text.
	if st, err := recall.StructureItem(it); err == nil {
		out.Mistake, out.Procedure = toStructuredJSON(st)
	}
	return out
}

// Structured mistake notes and procedures (openapi.yaml: Mistake, Procedure).

type mistakeJSON struct {
	When          string           `json:"when"`
	Tool          string           `json:"tool"`
	Kind          string           `json:"kind"`
	Rule          ruleJSON         `json:"rule"`
	Doing         string           `json:"doing"`
	DoingPattern  string           `json:"doing_pattern"`
	FailsWith     failsWithJSON    `json:"fails_with"`
	Seen          int              `json:"seen"`
	Correction    *correctionJSON  `json:"correction,omitempty"`
	Corrections   []correctionJSON `json:"corrections"`
	TrajectoryIDs []string         `json:"trajectory_ids"`
}

type ruleJSON struct {
	Level    string   `json:"level"`
	Features []string `json:"features"`
	P        float64  `json:"p"`
}

type failsWithJSON struct {
	SignatureID     string `json:"signature_id"`
	ErrorClass      string `json:"error_class"`
	MessageTemplate string `json:"message_template"`
}

type correctionJSON struct {
	Kind         string `json:"kind"`
	Instead      string `json:"instead"`
	Do           string `json:"do"`
	Text         string `json:"text"`
	Support      int    `json:"support"`
	TrajectoryID string `json:"trajectory_id,omitempty"`
}

type procedureJSON struct {
	TaskPattern   string           `json:"task_pattern"`
	Tasks         []string         `json:"tasks"`
	Steps         []callJSON       `json:"steps"`
	Script        []scriptStepJSON `json:"script"`
	Placeholders  []string         `json:"placeholders"`
	Support       int              `json:"support"`
	Failures      int              `json:"failures"`
	Pitfalls      []pitfallJSON    `json:"pitfalls"`
	TrajectoryIDs []string         `json:"trajectory_ids"`
}

type callJSON struct {
	Tool string         `json:"tool"`
	Args map[string]any `json:"args"`
	Text string         `json:"text"`
}

type scriptStepJSON struct {
	Tool    string         `json:"tool"`
	Args    map[string]any `json:"args"`
	Text    string         `json:"text"`
	Support int            `json:"support"`
}

type pitfallJSON struct {
	Step         int    `json:"step"`
	Tool         string `json:"tool"`
	SignatureID  string `json:"signature_id"`
	Error        string `json:"error"`
	TrajectoryID string `json:"trajectory_id,omitempty"`
}

func toStructuredJSON(st recall.Structured) (*mistakeJSON, *procedureJSON) {
	var m *mistakeJSON
	if n := st.Mistake; n != nil {
		m = &mistakeJSON{When: n.When, Tool: n.Tool, Kind: n.Kind, Rule: ruleJSON(n.Rule), Doing: n.Doing, DoingPattern: n.DoingPattern,
			FailsWith: failsWithJSON{SignatureID: n.FailsWith.SignatureID, ErrorClass: n.FailsWith.Class, MessageTemplate: n.FailsWith.Template},
			Seen:      n.Seen, Corrections: make([]correctionJSON, len(n.Corrections)), TrajectoryIDs: n.TrajectoryIDs}
		for i, c := range n.Corrections {
			m.Corrections[i] = correctionJSON(c)
		}
		if len(m.Corrections) > 0 {
			m.Correction = &m.Corrections[0]
		}
	}
	var p *procedureJSON
	if pr := st.Procedure; pr != nil {
		p = &procedureJSON{TaskPattern: pr.Task, Tasks: pr.Tasks, Steps: make([]callJSON, len(pr.Steps)), Script: make([]scriptStepJSON, len(pr.Script)),
			Placeholders: pr.Placeholders, Support: pr.Support, Failures: pr.Failures, Pitfalls: make([]pitfallJSON, len(pr.Pitfalls)),
			TrajectoryIDs: pr.TrajectoryIDs}
		for i, c := range pr.Steps {
			p.Steps[i] = callJSON(c)
		}
		for i, c := range pr.Script {
			p.Script[i] = scriptStepJSON(c)
		}
		for i, f := range pr.Pitfalls {
			p.Pitfalls[i] = pitfallJSON(f)
		}
	}
	return m, p
}

type learnedVersionJSON struct {
	Version   int            `json:"version"`
	Content   string         `json:"content"`
	Source    string         `json:"source"`
	CreatedAt time.Time      `json:"created_at"`
	Mistake   *mistakeJSON   `json:"mistake,omitempty"`
	Procedure *procedureJSON `json:"procedure,omitempty"`
}

func toLearnedVersionJSON(v store.LearnedItemVersion) learnedVersionJSON {
	out := learnedVersionJSON{Version: v.Version, Content: v.Content, Source: v.Source, CreatedAt: v.CreatedAt}
	if st, err := recall.Structure(v.Kind, v.State); err == nil {
		out.Mistake, out.Procedure = toStructuredJSON(st)
	}
	return out
}

type learnedVersionList struct {
	Items      []learnedVersionJSON `json:"items"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

type appendResponse struct {
	Trajectory trajectoryJSON    `json:"trajectory"`
	Learned    []learnedItemJSON `json:"learned"`
}

type learnedList struct {
	Items []learnedItemJSON `json:"items"`
}

type learningSettingsJSON struct {
	JudgeRule      string     `json:"judge_rule"`
	JudgeThreshold float64    `json:"judge_threshold"`
	Strategy       string     `json:"strategy"`
	RetireQuorum   int        `json:"retire_quorum"`
	LearningQuorum int        `json:"learning_quorum"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
}

type learningSettingsRequest struct {
	JudgeRule      *string  `json:"judge_rule"`
	JudgeThreshold *float64 `json:"judge_threshold"`
	Strategy       *string  `json:"strategy"`
	RetireQuorum   *int     `json:"retire_quorum"`
	LearningQuorum *int     `json:"learning_quorum"`
}

type deadLetterJSON struct {
	ID        int64          `json:"id"`
	EventID   string         `json:"event_id"`
	Type      string         `json:"type"`
	SubjectID string         `json:"subject_id,omitempty"`
	Payload   map[string]any `json:"payload"`
	StreamID  string         `json:"stream_id,omitempty"`
	Attempts  int            `json:"attempts"`
	LastError string         `json:"last_error,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

type deadLetterList struct {
	Items      []deadLetterJSON `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}
