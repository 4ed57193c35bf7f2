// Package trajectories owns episodic memory: recording trajectories (whole,
// in batches, or streamed step by step), scoring those without an outcome
// through the judge, and turning them into procedural memory: mistake notes
// from failed steps (at once, inside the append that brought the failure) and
// procedures from successes (when the worker consumes trajectory.recorded),
// following each tenant's update strategy.
package trajectories

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/store"
)

// Limits on what one request may record.
const (
	MaxBatch        = 1000
	MaxSteps        = 2000
	MaxTaskLen      = 20000
	MaxActionLen    = 500
	MaxScopeFieldLn = 200
)

// Store is what the service needs from the database.
type Store interface {
	RecordTrajectories(ctx context.Context, tenantID string, in []store.NewTrajectory) ([]admem.Trajectory, error)
	AppendSteps(ctx context.Context, tenantID, id string, steps []admem.Step, sigs []string, learn store.LearnHook) (admem.Trajectory, error)
	CloseTrajectory(ctx context.Context, tenantID, id string, outcome admem.Outcome, score *float64, decide store.Decide) (admem.Trajectory, error)
	GetTrajectory(ctx context.Context, tenantID, id string) (admem.TrajectorySummary, error)
	ListTrajectories(ctx context.Context, tenantID string, f admem.TrajectoryFilter, page admem.Page) ([]admem.TrajectorySummary, string, error)
	LearningSettings(ctx context.Context, tenantID string) (admem.LearningSettings, error)
	PutLearningSettings(ctx context.Context, tenantID string, s admem.LearningSettings, audit admem.AuditEvent) (admem.LearningSettings, error)
	ActiveItems(ctx context.Context, tenantID string, kind admem.EntryKind, limit int) ([]store.LearnedItem, error)
	SourceReport(ctx context.Context, tenantID string, src admem.Source, limit int) (admem.SourceReport, error)
	PurgeSource(ctx context.Context, tenantID string, src admem.Source, audit admem.AuditEvent, relearn store.Relearn, stillRetired store.Reassess) (admem.Purge, error)
}

// Service records and serves trajectories.
type Service struct {
	store   Store
	learner *Learner
	log     *slog.Logger
}

// New returns the service.
func New(st Store, l *Learner, log *slog.Logger) *Service {
	return &Service{store: st, learner: l, log: log}
}

// Appended is the result of appending steps: the trajectory so far.
// Learning happens in the worker (a failed step's event reaches it at once).
type Appended struct {
	Trajectory admem.Trajectory
}

func need(p admem.Principal, s admem.KeyScope) error {
	if !p.Can(s) {
		return &admem.Error{Code: admem.EFORBIDDEN, Message: fmt.Sprintf("this needs the %q scope", s)}
	}
	return nil
}

// Record stores trajectories in one transaction (all or none). A closed
// trajectory without an outcome is scored by the tenant's judge rule.
func (s *Service) Record(ctx context.Context, p admem.Principal, ts []admem.Trajectory) ([]admem.Trajectory, error) {
	if err := need(p, admem.ScopeWrite); err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, admem.Invalid("trajectories", "at least one trajectory")
	}
	if len(ts) > MaxBatch {
		return nil, admem.Invalid("trajectories", fmt.Sprintf("at most %d per request", MaxBatch))
	}
	var settings *admem.LearningSettings
	in := make([]store.NewTrajectory, len(ts))
	for i, t := range ts {
		prefix := ""
		if len(ts) > 1 {
			prefix = fmt.Sprintf("trajectories[%d].", i)
		}
		if err := validate(&t, prefix); err != nil {
			return nil, err
		}
		// Who sent it is the request's credentials, never its body.
		t.Provenance = admem.Provenance{ActorKeyID: p.KeyID, AgentID: t.Scope.AgentID, SessionID: t.Scope.SessionID}
		t.Purged = false
		for k := range t.Steps {
			t.Steps[k].Provenance = t.Provenance
		}
		n := store.NewTrajectory{Trajectory: t, Signatures: signatures(t.Steps)}
		switch {
		case t.Open:
		case t.Outcome != admem.OutcomeUnknown:
			n.OutcomeSource = admem.OutcomeByAgent
		default:
			if settings == nil {
				st, err := s.store.LearningSettings(ctx, p.TenantID)
				if err != nil {
					return nil, err
				}
				settings = &st
			}
			v := judge.ScoreTrajectory(t, rule(*settings))
			n.Trajectory.Outcome, n.Trajectory.Score, n.OutcomeSource = v.Outcome, &v.Score, admem.OutcomeByJudge
		}
		in[i] = n
	}
	return s.store.RecordTrajectories(ctx, p.TenantID, in)
}

// Append adds steps to an open trajectory. Each failed step's event reaches
// the worker at once: guard knows the mistake within a second, without the
// append waiting for learning.
func (s *Service) Append(ctx context.Context, p admem.Principal, id string, steps []admem.Step) (Appended, error) {
	if err := need(p, admem.ScopeWrite); err != nil {
		return Appended{}, err
	}
	if len(steps) == 0 {
		return Appended{}, admem.Invalid("steps", "at least one step")
	}
	if len(steps) > MaxSteps {
		return Appended{}, admem.Invalid("steps", fmt.Sprintf("at most %d per request", MaxSteps))
	}
	for i := range steps {
		if err := validateStep(&steps[i], fmt.Sprintf("steps[%d].", i)); err != nil {
			return Appended{}, err
		}
		steps[i].Provenance = admem.Provenance{ActorKeyID: p.KeyID}
	}
	t, err := s.store.AppendSteps(ctx, p.TenantID, id, steps, signatures(steps), nil)
	if err != nil {
		return Appended{}, err
	}
	return Appended{Trajectory: t}, nil
}

// Close ends an open trajectory with an outcome (scored by the judge when
// outcome is unknown) and hands it to the worker.
func (s *Service) Close(ctx context.Context, p admem.Principal, id string, outcome admem.Outcome, score *float64) (admem.Trajectory, error) {
	if err := need(p, admem.ScopeWrite); err != nil {
		return admem.Trajectory{}, err
	}
	if err := validOutcome(outcome, score, ""); err != nil {
		return admem.Trajectory{}, err
	}
	st, err := s.store.LearningSettings(ctx, p.TenantID)
	if err != nil {
		return admem.Trajectory{}, err
	}
	decide := func(t admem.Trajectory) (admem.Outcome, *float64, admem.OutcomeSource) {
		v := judge.ScoreTrajectory(t, rule(st))
		return v.Outcome, &v.Score, admem.OutcomeByJudge
	}
	return s.store.CloseTrajectory(ctx, p.TenantID, id, outcome, score, decide)
}

// Get returns one trajectory with its steps.
func (s *Service) Get(ctx context.Context, p admem.Principal, id string) (admem.TrajectorySummary, error) {
	if err := need(p, admem.ScopeRead); err != nil {
		return admem.TrajectorySummary{}, err
	}
	return s.store.GetTrajectory(ctx, p.TenantID, id)
}

// List pages through trajectories, newest first.
func (s *Service) List(ctx context.Context, p admem.Principal, f admem.TrajectoryFilter, page admem.Page) ([]admem.TrajectorySummary, string, error) {
	if err := need(p, admem.ScopeRead); err != nil {
		return nil, "", err
	}
	if f.Outcome != nil {
		if err := validOutcome(*f.Outcome, nil, ""); err != nil {
			return nil, "", admem.Invalid("outcome", "one of success, failure, partial, unknown")
		}
	}
	return s.store.ListTrajectories(ctx, p.TenantID, f, page)
}

// Learned lists the tenant's active mistake notes and procedures (kind
// empty for both), most recently changed first.
func (s *Service) Learned(ctx context.Context, p admem.Principal, kind admem.EntryKind, limit int) ([]store.LearnedItem, error) {
	if err := need(p, admem.ScopeRead); err != nil {
		return nil, err
	}
	return s.store.ActiveItems(ctx, p.TenantID, kind, limit)
}

// Settings returns the tenant's learning settings.
func (s *Service) Settings(ctx context.Context, p admem.Principal) (admem.LearningSettings, error) {
	if err := need(p, admem.ScopeRead); err != nil {
		return admem.LearningSettings{}, err
	}
	return s.store.LearningSettings(ctx, p.TenantID)
}

// PutSettings replaces the tenant's learning settings (admin scope, audited).
func (s *Service) PutSettings(ctx context.Context, p admem.Principal, in admem.LearningSettings) (admem.LearningSettings, error) {
	if err := need(p, admem.ScopeAdmin); err != nil {
		return admem.LearningSettings{}, err
	}
	if !judge.ValidRule(in.JudgeRule) {
		return admem.LearningSettings{}, admem.Invalid("judge_rule", "one of "+strings.Join(judge.Rules, ", "))
	}
	if in.RetireQuorum == 0 {
		in.RetireQuorum = judge.DefaultQuorum
	}
	if in.RetireQuorum < 1 || in.RetireQuorum > 100 {
		return admem.LearningSettings{}, admem.Invalid("retire_quorum", "an integer from 1 to 100")
	}
	if in.LearningQuorum == 0 {
		in.LearningQuorum = judge.DefaultQuorum
	}
	if in.LearningQuorum < 1 || in.LearningQuorum > 100 {
		return admem.LearningSettings{}, admem.Invalid("learning_quorum", "an integer from 1 to 100")
	}
	if math.IsNaN(in.JudgeThreshold) || in.JudgeThreshold < 0 || in.JudgeThreshold > 1 {
		return admem.LearningSettings{}, admem.Invalid("judge_threshold", "a number from 0 to 1")
	}
	switch in.Strategy {
	case admem.StrategyAppendOnly, admem.StrategySuccessOnly, admem.StrategyReflect:
	default:
		return admem.LearningSettings{}, admem.Invalid("strategy", "one of append_only, success_only, reflect")
	}
	return s.store.PutLearningSettings(ctx, p.TenantID, in, admem.AuditEvent{ActorKeyID: p.KeyID, Action: "learning_settings.updated",
		TargetType: "learning_settings", TargetID: p.TenantID,
		Details: map[string]any{"judge_rule": in.JudgeRule, "judge_threshold": in.JudgeThreshold, "strategy": string(in.Strategy),
			"retire_quorum": in.RetireQuorum, "learning_quorum": in.LearningQuorum}})
}

func rule(s admem.LearningSettings) judge.TrajectoryRule {
	return judge.TrajectoryRule{Name: s.JudgeRule, Threshold: s.JudgeThreshold}
}

func signatures(steps []admem.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		if s.Failed() {
			out[i] = signature.FromStep(s).ID()
		}
	}
	return out
}

func validOutcome(o admem.Outcome, score *float64, prefix string) error {
	switch o {
	case admem.OutcomeUnknown, admem.OutcomeSuccess, admem.OutcomeFailure, admem.OutcomePartial:
	default:
		return admem.Invalid(prefix+"outcome", "one of success, failure, partial")
	}
	if score != nil && (math.IsNaN(*score) || *score < 0 || *score > 1) {
		return admem.Invalid(prefix+"score", "a number from 0 to 1")
	}
	return nil
}

func validate(t *admem.Trajectory, prefix string) error {
	t.Task = clean(strings.TrimSpace(t.Task))
	if t.Task == "" {
		return admem.Invalid(prefix+"task", "required")
	}
	if len(t.Task) > MaxTaskLen {
		return admem.Invalid(prefix+"task", fmt.Sprintf("at most %d bytes", MaxTaskLen))
	}
	for name, v := range map[string]*string{"agent_id": &t.Scope.AgentID, "user_id": &t.Scope.UserID, "session_id": &t.Scope.SessionID} {
		*v = clean(*v)
		if len(*v) > MaxScopeFieldLn {
			return admem.Invalid(prefix+"scope."+name, fmt.Sprintf("at most %d bytes", MaxScopeFieldLn))
		}
	}
	if err := validOutcome(t.Outcome, t.Score, prefix); err != nil {
		return err
	}
	if t.Open && (t.Outcome != admem.OutcomeUnknown || t.Score != nil) {
		return admem.Invalid(prefix+"outcome", "an open trajectory gets its outcome when it is closed")
	}
	if len(t.Steps) > MaxSteps {
		return admem.Invalid(prefix+"steps", fmt.Sprintf("at most %d", MaxSteps))
	}
	for i := range t.Steps {
		if err := validateStep(&t.Steps[i], fmt.Sprintf("%ssteps[%d].", prefix, i)); err != nil {
			return err
		}
	}
	t.Metadata = cleanAny(t.Metadata).(map[string]any)
	return nil
}

func validateStep(s *admem.Step, prefix string) error {
	s.Action = clean(strings.TrimSpace(s.Action))
	if s.Action == "" {
		return admem.Invalid(prefix+"action", "required")
	}
	if len(s.Action) > MaxActionLen {
		return admem.Invalid(prefix+"action", fmt.Sprintf("at most %d bytes", MaxActionLen))
	}
	s.Observation, s.Error, s.ErrorType = clean(s.Observation), clean(s.Error), clean(s.ErrorType)
	switch s.Status {
	case "":
		s.Status = admem.StepOK
		if s.Error != "" {
			s.Status = admem.StepError
		}
	case admem.StepOK, admem.StepError:
	default:
		return admem.Invalid(prefix+"status", "ok or error")
	}
	if s.Reward != nil && (math.IsNaN(*s.Reward) || math.IsInf(*s.Reward, 0)) {
		return admem.Invalid(prefix+"reward", "a finite number")
	}
	if s.DurationMS != nil && *s.DurationMS < 0 {
		return admem.Invalid(prefix+"duration_ms", "not negative")
	}
	if s.Args == nil {
		s.Args = map[string]any{}
	}
	s.Args = cleanAny(s.Args).(map[string]any)
	return nil
}

// clean drops NUL characters, which Postgres text and jsonb cannot hold.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}

func cleanAny(v any) any {
	switch x := v.(type) {
	case nil:
		return map[string]any{}
	case string:
		return clean(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e == nil {
				out[clean(k)] = nil
				continue
			}
			out[clean(k)] = cleanAny(e)
		}
		return out
	case []any:
		for i, e := range x {
			if e != nil {
				x[i] = cleanAny(e)
			}
		}
		return x
	}
	return v
}
