package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/admem/admem/client"
)

// Guard's decisions.
const (
	Allow = "allow"
	Warn  = "warn"
	Block = "block"
)

const (
	observationMax        = 8000 // characters of a result kept in a step
	contextObservationMax = 1000 // and in a step of guard's context
)

// Call is one tool call: the tool and its arguments (JSON values).
type Call struct {
	Tool string         `json:"tool"`
	Args map[string]any `json:"args"`
}

func (c Call) String() string {
	keys := make([]string, 0, len(c.Args))
	for k := range c.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		b, _ := json.Marshal(c.Args[k])
		parts[i] = k + "=" + string(b)
	}
	return c.Tool + "(" + strings.Join(parts, ", ") + ")"
}

// Check is guard's answer about one call.
type Check struct {
	Call     Call
	Decision string  // Allow, Warn or Block
	Risk     float64 // calibrated probability that the call fails here
	Kind     string  // deterministic, state, transient, or "" when nothing is known
	Notes    []string
	// Suggestion is the call fixed as the tenant's agents fixed the same
	// mistake, built from this call's values: ready to make. Nil when guard
	// could not build one; Advice then says what to do in words.
	Suggestion *Call
	Advice     string
	Result     client.GuardResult
}

// Allowed, Warned and Blocked test the decision.
func (c Check) Allowed() bool { return c.Decision == Allow }

// Warned reports a warn decision.
func (c Check) Warned() bool { return c.Decision == Warn }

// Blocked reports a block decision.
func (c Check) Blocked() bool { return c.Decision == Block }

// Transient reports that the identical call just failed with a transient
// fault: retry it with backoff (guard allows it).
func (c Check) Transient() bool { return c.Kind == string(client.GuardResultKindTransient) }

// Message is the check in words, to show a model instead of a tool's result.
func (c Check) Message() string {
	switch {
	case c.Transient():
		return fmt.Sprintf("guard: %s just failed with a transient fault; retry it after a short wait", c.Call)
	case c.Allowed():
		return fmt.Sprintf("guard allows %s (risk %.2f)", c.Call, c.Risk)
	}
	lines := []string{fmt.Sprintf("guard %ss %s (risk %.2f)", c.Decision, c.Call, c.Risk)}
	lines = append(lines, c.Notes[:min(2, len(c.Notes))]...)
	if c.Suggestion != nil {
		lines = append(lines, "Suggested call instead: "+c.Suggestion.String())
	} else if c.Advice != "" {
		lines = append(lines, "Advice: "+c.Advice)
	}
	return strings.Join(lines, "\n")
}

// EpisodeOptions scopes an episode.
type EpisodeOptions struct {
	Scope        Scope
	ContextSteps int // steps guard sees with each check (0: 8)
	Metadata     map[string]any
}

// Episode runs the agent loop for one task. Its methods are safe for
// concurrent use, but a loop is sequential: check, call, record.
type Episode struct {
	c    *Client
	task string
	opts EpisodeOptions
	idem string

	mu           sync.Mutex
	trajectoryID string
	recallID     string
	steps        []Step
	closed       *client.Trajectory
}

// Episode starts the agent loop for task.
func (c *Client) Episode(task string, opts EpisodeOptions) *Episode {
	if opts.ContextSteps <= 0 {
		opts.ContextSteps = 8
	}
	return &Episode{c: c, task: task, opts: opts, idem: NewIdempotencyKey()}
}

// TrajectoryID is the id of the episode's trajectory ("" before the first record).
func (e *Episode) TrajectoryID() string { e.mu.Lock(); defer e.mu.Unlock(); return e.trajectoryID }

// RecallID is the id of the episode's last recall.
func (e *Episode) RecallID() string { e.mu.Lock(); defer e.mu.Unlock(); return e.recallID }

// Steps returns the steps recorded so far.
func (e *Episode) Steps() []Step {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Step(nil), e.steps...)
}

func (e *Episode) scope() *Scope {
	if e.opts.Scope.empty() {
		return nil
	}
	s := e.opts.Scope
	return &s
}

// Recall asks what the tenant knows for the task (budget 0: the API's
// default); put Text into the model's prompt. The recall id is kept for
// Feedback.
func (e *Episode) Recall(ctx context.Context, budget int) (*client.RecallResult, error) {
	e.mu.Lock()
	recent := e.recent()
	e.mu.Unlock()
	for i := range recent {
		recent[i].Observation = truncate(recent[i].Observation, contextObservationMax)
		recent[i].DurationMS = nil
	}
	res, err := e.c.Recall(ctx, RecallRequest{Task: e.task, RecentSteps: recent, Scope: e.scope(), Budget: budget})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.recallID = res.RecallId.String()
	e.mu.Unlock()
	return res, nil
}

// Check asks guard about one call before it is made.
func (e *Episode) Check(ctx context.Context, call Call) (Check, error) {
	cs, err := e.CheckMany(ctx, []Call{call})
	if err != nil {
		return Check{}, err
	}
	return cs[0], nil
}

// CheckMany asks guard about several candidate calls at once.
func (e *Episode) CheckMany(ctx context.Context, calls []Call) ([]Check, error) {
	for i := range calls {
		if calls[i].Args == nil {
			calls[i].Args = map[string]any{}
		}
	}
	e.mu.Lock()
	gctx := e.guardContext()
	e.mu.Unlock()
	res, err := e.c.Guard(ctx, e.task, calls, gctx)
	if err != nil {
		return nil, err
	}
	if len(res.Results) != len(calls) {
		return nil, fmt.Errorf("admem: guard answered %d results for %d candidates", len(res.Results), len(calls))
	}
	out := make([]Check, len(calls))
	for i, r := range res.Results {
		out[i] = newCheck(calls[i], r)
	}
	return out, nil
}

func newCheck(call Call, r client.GuardResult) Check {
	c := Check{Call: call, Decision: string(r.Decision), Risk: float64(r.Risk), Result: r}
	if r.Kind != nil {
		c.Kind = string(*r.Kind)
	}
	for _, reason := range r.Reasons {
		if reason.Note != "" {
			c.Notes = append(c.Notes, reason.Note)
		}
	}
	if s := r.Suggestion; s != nil {
		c.Advice = s.Text
		if s.Call != nil {
			c.Suggestion = &Call{Tool: s.Call.Tool, Args: s.Call.Args}
		}
	}
	return c
}

// Record appends the step the agent just took: the call and its result
// (any JSON value, or a string), or the error it returned. The step goes to
// the API at once; the first one opens the trajectory.
func (e *Episode) Record(ctx context.Context, call Call, result any, callErr error) error {
	st := Step{Action: call.Tool, Args: call.Args, Status: "ok"}
	if callErr != nil {
		st.Status = "error"
		st.Error = callErr.Error()
		st.ErrorType = errorType(callErr)
	}
	if result != nil {
		st.Observation = observation(result)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed != nil {
		return errors.New("admem: the episode is closed")
	}
	if err := e.open(ctx); err != nil {
		return err
	}
	if _, err := e.c.AppendSteps(ctx, e.trajectoryID, []Step{st}, fmt.Sprintf("%s-s%d", e.idem, len(e.steps))); err != nil {
		return err
	}
	e.steps = append(e.steps, st)
	return nil
}

// Close ends the trajectory with its outcome (success, failure, partial; ""
// lets the tenant's judge rule score it). Closing again returns the first
// answer.
func (e *Episode) Close(ctx context.Context, outcome string) (*client.Trajectory, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed != nil {
		return e.closed, nil
	}
	var (
		tr  *client.Trajectory
		err error
	)
	if e.trajectoryID == "" {
		tr, err = e.c.RecordTrajectory(ctx, TrajectoryRequest{Task: e.task, Scope: e.scope(), Outcome: outcome,
			Metadata: e.opts.Metadata}, e.idem+"-t")
	} else {
		tr, err = e.c.CloseTrajectory(ctx, e.trajectoryID, outcome, e.idem+"-c")
	}
	if err != nil {
		return nil, err
	}
	e.closed, e.trajectoryID = tr, tr.Id.String()
	return tr, nil
}

// Feedback rates the episode's recall with the closed trajectory's outcome.
// It returns nil, nil when there is nothing to rate (no recall, or not closed
// with a known outcome).
func (e *Episode) Feedback(ctx context.Context) (*client.RecallFeedbackResult, error) {
	e.mu.Lock()
	recallID, closed := e.recallID, e.closed
	e.mu.Unlock()
	if recallID == "" || closed == nil {
		return nil, nil
	}
	outcome := string(closed.Outcome)
	if outcome != "success" && outcome != "failure" && outcome != "partial" {
		return nil, nil
	}
	return e.c.RecallFeedback(ctx, recallID, FeedbackRequest{Outcome: outcome, AgentID: e.opts.Scope.AgentID,
		SessionID: e.opts.Scope.SessionID})
}

func (e *Episode) open(ctx context.Context) error {
	if e.trajectoryID != "" {
		return nil
	}
	tr, err := e.c.RecordTrajectory(ctx, TrajectoryRequest{Task: e.task, Scope: e.scope(), Metadata: e.opts.Metadata,
		Open: true}, e.idem+"-o")
	if err != nil {
		return err
	}
	e.trajectoryID = tr.Id.String()
	return nil
}

// recent returns copies of the latest steps (under mu).
func (e *Episode) recent() []Step {
	first := max(0, len(e.steps)-e.opts.ContextSteps)
	return append([]Step(nil), e.steps[first:]...)
}

func (e *Episode) guardContext() []GuardStep {
	first := max(0, len(e.steps)-e.opts.ContextSteps)
	out := make([]GuardStep, 0, len(e.steps)-first)
	for i := first; i < len(e.steps); i++ {
		s, idx := e.steps[i], i
		out = append(out, GuardStep{Index: &idx, Action: s.Action, Args: s.Args, Status: s.Status, Error: s.Error,
			ErrorType: s.ErrorType, Observation: truncate(s.Observation, contextObservationMax)})
	}
	return out
}

// Tool is a tool function the agent calls with JSON arguments.
type Tool func(ctx context.Context, args map[string]any) (any, error)

// GuardOptions says what a guarded tool does on warn and block.
type GuardOptions struct {
	// OnWarn: "suggest" (default) makes guard's suggested call when it is of
	// the same tool, and the call as asked otherwise; "proceed" makes the call
	// as asked; "raise" returns a *FlaggedError without calling.
	OnWarn string
	// OnBlock: "raise" (default) returns a *FlaggedError without calling;
	// "suggest" makes a same-tool suggestion and returns the error otherwise.
	OnBlock string
}

// FlaggedError is returned by a guarded tool that guard warned about or
// blocked, without calling it.
type FlaggedError struct{ Check Check }

func (e *FlaggedError) Error() string { return e.Check.Message() }

// Guarded wraps a tool: each call is checked by guard, made (or replaced by
// guard's ready call, see GuardOptions) and recorded as a step; an error the
// tool returns is recorded as a failed step and returned.
func (e *Episode) Guarded(name string, fn Tool, opts GuardOptions) Tool {
	if opts.OnWarn == "" {
		opts.OnWarn = "suggest"
	}
	if opts.OnBlock == "" {
		opts.OnBlock = "raise"
	}
	return func(ctx context.Context, args map[string]any) (any, error) {
		call := Call{Tool: name, Args: args}
		chk, err := e.Check(ctx, call)
		if err != nil {
			return nil, err
		}
		if !chk.Transient() {
			sameTool := chk.Suggestion != nil && chk.Suggestion.Tool == name
			switch {
			case chk.Blocked() && opts.OnBlock == "suggest" && sameTool:
				call = *chk.Suggestion
			case chk.Blocked():
				return nil, &FlaggedError{Check: chk}
			case chk.Warned() && opts.OnWarn == "raise":
				return nil, &FlaggedError{Check: chk}
			case chk.Warned() && opts.OnWarn == "suggest" && sameTool:
				call = *chk.Suggestion
			}
		}
		out, callErr := fn(ctx, call.Args)
		if err := e.Record(ctx, call, out, callErr); err != nil {
			return out, errors.Join(callErr, err)
		}
		return out, callErr
	}
}

func observation(v any) string {
	if s, ok := v.(string); ok {
		return truncate(s, observationMax)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return truncate(fmt.Sprint(v), observationMax)
	}
	return truncate(string(b), observationMax)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8Valid(s) {
		s = s[:len(s)-1]
	}
	return s
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// errorType names the error's type, as the Python SDK names an exception
// class; the standard library's plain errors (errors.New, fmt.Errorf,
// errors.Join) have no name worth sending.
func errorType(err error) string {
	t := fmt.Sprintf("%T", err)
	switch t {
	case "*errors.errorString", "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		return ""
	}
	t = strings.TrimPrefix(t, "*")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return t
}
