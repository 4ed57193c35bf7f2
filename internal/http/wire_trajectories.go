package http

import (
	"time"

	"github.com/admem/admem"
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
		StepCount: s.StepCount, FailedSteps: s.FailedSteps, CreatedAt: s.CreatedAt, ClosedAt: s.ClosedAt}
	if withSteps {
		out.Steps = make([]stepJSON, len(s.Steps))
		for i, st := range s.Steps {
			args := st.Args
			if args == nil {
				args = map[string]any{}
			}
			out.Steps[i] = stepJSON{Index: st.Index, Action: st.Action, Args: args, Observation: st.Observation, Error: st.Error,
				ErrorType: st.ErrorType, Status: string(st.Status), Reward: st.Reward, StartedAt: st.StartedAt, DurationMS: st.DurationMS}
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
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Key       string    `json:"key"`
	Content   string    `json:"content"`
	Count     int       `json:"count"`
	Version   int       `json:"version"`
	Status    string    `json:"status"`
	Uses      int       `json:"uses"`
	Successes int       `json:"successes"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toLearnedJSON(it store.LearnedItem) learnedItemJSON {
	return learnedItemJSON{ID: it.ID, Kind: string(it.Kind), Key: it.Key, Content: it.Content, Count: it.Count, Version: it.Version,
		Status: string(it.Status), Uses: it.Uses, Successes: it.Successes, UpdatedAt: it.UpdatedAt}
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
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
}

type learningSettingsRequest struct {
	JudgeRule      *string  `json:"judge_rule"`
	JudgeThreshold *float64 `json:"judge_threshold"`
	Strategy       *string  `json:"strategy"`
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
