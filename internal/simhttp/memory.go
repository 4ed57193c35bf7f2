// Package simhttp connects the closed-loop simulator (internal/sim) to a
// running admem over its HTTP API: [Memory] implements sim.Memory with the
// client generated from openapi.yaml, one tenant per benchmark arm.
//
// The arms differ only in which routes they use and how they read the
// answers:
//
//   - none: sim.NoMemory, no HTTP at all ([New] returns it).
//   - retrieval: facts and raw past trajectories, no failure learning and no
//     adapter. Recall asks POST /v1/recall for kind "fact" only, then lists
//     the user's past successful trajectories (GET /v1/trajectories?user_id=…
//     &outcome=success, or the tenant's when the user has none), picks the
//     one whose task shares the most words with the current task, fetches it
//     (GET /v1/trajectories/{id}) and hands its successful steps, literal
//     values and all, to the agent as a worked example (a procedure item
//     without placeholders). Guard is never called: every candidate is
//     allowed. Trajectories are recorded as in every arm, but the tenant's
//     learning strategy is success_only (no mistake notes: no failure
//     learning), and Record never waits for the worker, whose output the
//     arm does not read.
//   - notes: mistake notes and procedures without the adapter. Before its
//     first call the arm turns the tenant's adapter off (PUT
//     /v1/guard/settings, use_adapter false), so guard decides from the
//     mistake notes alone and recall does not re-rank with the adapter; the
//     worker still trains adapters for the tenant, which it never uses.
//     Recall asks for kinds "mistake" and "procedure".
//   - full: everything. Recall of all kinds, guard decisions as served.
//
// Recall goes through POST /v1/recall; when the server answers 404 (a build
// without the route), recall falls back to listing the tenant's learned
// items (GET /v1/learned?kind=…), which is unranked. Notes and procedures
// are read from their structured forms (`mistake`, `procedure`), or from
// their text when a server sends none. Recall feedback, which
// the generated client also has, is posted with a small JSON request of its
// own so a 404 or 409 is counted rather than failing the episode.
//
// Every response's Server-Timing header is kept, so the benchmark reports
// server-side overhead, and the time from posting a failing trajectory to the
// first guard answer that cites its error signature (time-to-learn).
package simhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/client"
	"github.com/admem/admem/internal/benchkit"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/sim"
)

// Arm names a benchmark arm.
type Arm string

// The arms.
const (
	ArmNone      Arm = "none"
	ArmRetrieval Arm = "retrieval"
	ArmNotes     Arm = "notes"
	ArmFull      Arm = "full"
)

// Arms lists every arm in report order.
var Arms = []Arm{ArmNone, ArmRetrieval, ArmNotes, ArmFull}

// ParseArm checks an arm name.
func ParseArm(s string) (Arm, error) {
	for _, a := range Arms {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("simhttp: unknown arm %q (want none, retrieval, notes or full)", s)
}

// Config connects a Memory to the API.
type Config struct {
	BaseURL string
	Key     string       // the arm's tenant key (read and write scope at least)
	HTTP    *http.Client // nil: a client with a 30 s timeout
	Arm     Arm
	// RecallBudget is the token budget of a recall (0: the API's default).
	RecallBudget int
	// ContextSteps is how many recent steps guard gets (0: 8).
	ContextSteps int
	// Clock is for time-to-learn (nil: time.Now).
	Clock func() time.Time
	// SyncRecord, when positive, makes Record wait (at most this long) until
	// the tenant's learning has caught up with every trajectory posted so
	// far (GET /v1/learning/status: none of the tenant's events pending, so
	// its failures are clustered and its mistake notes and procedures
	// learnt and published), so the next episode meets a memory that has
	// learnt from the last one whatever the machine's load and whatever
	// other tenants left in the worker's queue. Zero measures the live,
	// asynchronous loop.
	SyncRecord time.Duration
	// Feedback, for the notes and full arms, rates each episode's recall
	// with the episode's outcome (POST /v1/recalls/{id}/feedback) when the
	// trajectory is recorded, so the utilities of the recalled notes and
	// procedures follow how they worked out.
	Feedback bool
	// Snapshots, for diagnosis, lists the tenant's active mistake notes
	// (GET /v1/learned?kind=mistake) at the start of every episode, before
	// its recall, so the benchmark can tell which failed steps repeated a
	// mistake the server already had a note for (see [Memory.Snapshots]).
	// It adds a request per episode; the agent never sees the answer.
	Snapshots bool
}

// Note is what a snapshot keeps of a mistake note: its error signature
// ("tool: Class: template", as internal/signature renders it), the failing
// action pattern guard matches candidates against, the tool before the
// failure, its correction's working call and how often it was seen.
type Note struct {
	Signature    string
	DoingPattern string
	After        string
	Do           string
	Seen         int
}

// Memory is sim.Memory over the HTTP API, for the retrieval, notes and full
// arms. It is safe for one agent at a time (the runner is sequential); its
// statistics are guarded for readers on other goroutines.
type Memory struct {
	cfg Config
	c   *client.ClientWithResponses
	hc  *http.Client

	mu       sync.Mutex
	episodes []EpisodeTiming
	// first POST of a trajectory with a failed step of this server
	// signature, until a guard answer cites it
	pending    map[string]time.Time
	learnt     map[string]bool
	ttl        []time.Duration
	fallbacks  int
	failed     int // failed steps posted
	recalled   map[string]int
	lastRecall string
	feedback   map[int]int // feedback responses by status
	ready      bool        // the tenant's settings are the arm's
	// why Record stopped waiting for the learning status, and how many of
	// its waits reached SyncRecord
	learnerErr error
	syncWaits  int
	syncLate   int
	snaps      []map[string]Note
	// client-side time per kind of call, to tell where an arm's time goes
	phases    map[string]time.Duration
	decisions map[DecisionKey]int
}

// EpisodeTiming is the server time (Server-Timing, milliseconds) of one
// episode's recall and guard calls. -1 means the header was missing.
type EpisodeTiming struct {
	RecallMS float64
	GuardMS  []float64
}

// New returns the memory for an arm: sim.NoMemory for none, else a Memory.
func New(cfg Config) (sim.Memory, *Memory, error) {
	if cfg.Arm == ArmNone {
		return sim.NoMemory{}, nil, nil
	}
	if _, err := ParseArm(string(cfg.Arm)); err != nil {
		return nil, nil, err
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.ContextSteps <= 0 {
		cfg.ContextSteps = 8
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	key := cfg.Key
	c, err := client.NewClientWithResponses(cfg.BaseURL, client.WithHTTPClient(cfg.HTTP),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
	if err != nil {
		return nil, nil, err
	}
	m := &Memory{cfg: cfg, c: c, hc: cfg.HTTP, pending: map[string]time.Time{}, learnt: map[string]bool{}, recalled: map[string]int{}, feedback: map[int]int{},
		phases: map[string]time.Duration{}, decisions: map[DecisionKey]int{}}
	return m, m, nil
}

// DecisionKey is a guard decision as the mistake notes alone made it and as
// served (the risk is the larger of the notes' and the adapter's, so the
// adapter can only raise a decision).
type DecisionKey struct {
	Notes, Served sim.Decision
}

func decide(risk, warn, block float64) sim.Decision {
	switch {
	case risk >= block:
		return sim.Block
	case risk >= warn:
		return sim.Warn
	}
	return sim.Allow
}

func (m *Memory) countDecision(v sim.Verdict, warn, block float64) {
	k := DecisionKey{Notes: decide(v.NoteRisk, warn, block), Served: v.Decision}
	m.mu.Lock()
	m.decisions[k]++
	m.mu.Unlock()
}

// Decisions counts the guard's verdicts on candidates by the decision the
// notes alone gave and the one served; where they differ the adapter
// changed it.
func (m *Memory) Decisions() map[DecisionKey]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.decisions)
}

// took adds the time since start to a phase's total.
func (m *Memory) took(phase string, start time.Time) {
	d := time.Since(start)
	m.mu.Lock()
	m.phases[phase] += d
	m.mu.Unlock()
}

// Phases is the client-side time spent so far per kind of call: snapshot,
// recall, past_example (the retrieval arm's trajectory lookups), guard,
// record (the POST), wait_clusters and wait_learner (Record waiting for the
// worker, with SyncRecord).
func (m *Memory) Phases() map[string]time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.phases)
}

func serverMS(h http.Header) float64 {
	if v, ok := benchkit.ServerMillis(h); ok {
		return v
	}
	return -1
}

func (m *Memory) startEpisode(recallMS float64) {
	m.mu.Lock()
	m.episodes = append(m.episodes, EpisodeTiming{RecallMS: recallMS})
	m.mu.Unlock()
}

func (m *Memory) addGuard(ms float64) {
	m.mu.Lock()
	if len(m.episodes) == 0 {
		m.episodes = append(m.episodes, EpisodeTiming{RecallMS: -1})
	}
	e := &m.episodes[len(m.episodes)-1]
	e.GuardMS = append(e.GuardMS, ms)
	m.mu.Unlock()
}

// Timings returns the server timings per episode so far.
func (m *Memory) Timings() []EpisodeTiming {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]EpisodeTiming, len(m.episodes))
	for i, e := range m.episodes {
		out[i] = EpisodeTiming{RecallMS: e.RecallMS, GuardMS: slices.Clone(e.GuardMS)}
	}
	return out
}

// ResetTimings forgets the timings so far (between protocol phases).
func (m *Memory) ResetTimings() {
	m.mu.Lock()
	m.episodes = nil
	m.mu.Unlock()
}

// TimeToLearn returns, per server error signature guard has cited, the time
// from the first POST of a trajectory failing with it to the first guard
// answer citing it, and how many failing signatures were never cited.
func (m *Memory) TimeToLearn() ([]time.Duration, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.ttl), len(m.pending)
}

// Recalled counts the recalled items by kind; "KIND (unparsed)" counts
// those whose text did not parse into a simulator item (and were dropped).
func (m *Memory) Recalled() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.recalled)
}

// Fallbacks counts recalls answered from the learned-items list because
// the API had no recall route.
func (m *Memory) Fallbacks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fallbacks
}

// Record posts the trajectory (POST /v1/trajectories) with the agent's
// outcome, so the judge rule does not second-guess the simulator.
func (m *Memory) Record(ctx context.Context, t admem.Trajectory) error {
	steps := make([]client.StepRequest, len(t.Steps))
	var failedSigs []string
	for i, s := range t.Steps {
		args := maps.Clone(s.Args)
		if args == nil {
			args = map[string]any{}
		}
		st := client.StepRequest{Action: s.Action, Args: &args}
		if s.Observation != "" {
			st.Observation = ptr(s.Observation)
		}
		status := client.StepRequestStatusOk
		if s.Failed() {
			status = client.StepRequestStatusError
			st.Error = ptr(s.Error)
			if s.ErrorType != "" {
				st.ErrorType = ptr(s.ErrorType)
			}
			failedSigs = append(failedSigs, signature.FromStep(s).String())
		}
		st.Status = &status
		steps[i] = st
	}
	req := client.TrajectoryRequest{Task: t.Task, Steps: &steps, Scope: scopeOf(t.Scope)}
	if t.Outcome != admem.OutcomeUnknown {
		o := client.TrajectoryRequestOutcome(t.Outcome)
		req.Outcome = &o
	}
	if t.Metadata != nil {
		md := map[string]any{}
		for k, v := range t.Metadata {
			md[k] = v
		}
		req.Metadata = &md
	}
	m.mu.Lock()
	recallID := m.lastRecall
	m.lastRecall = ""
	m.mu.Unlock()
	if m.cfg.Feedback && recallID != "" && m.cfg.Arm != ArmRetrieval && t.Outcome != admem.OutcomeUnknown {
		if err := m.postFeedback(ctx, recallID, string(t.Outcome)); err != nil {
			return err
		}
	}
	posted := m.cfg.Clock()
	t0 := time.Now()
	r, err := m.c.RecordTrajectoryWithResponse(ctx, nil, req)
	m.took("record", t0)
	if err != nil {
		return fmt.Errorf("simhttp: record: %w", err)
	}
	if r.StatusCode() != http.StatusCreated {
		return fmt.Errorf("simhttp: record: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
	}
	m.mu.Lock()
	m.failed += len(failedSigs)
	for _, s := range failedSigs {
		if _, ok := m.pending[s]; !ok && !m.learnt[s] {
			m.pending[s] = posted
		}
	}
	m.mu.Unlock()
	if m.cfg.Arm == ArmRetrieval {
		// The arm reads only the raw trajectories, there at once: there is
		// nothing of the worker's to wait for.
		return nil
	}
	if m.cfg.SyncRecord > 0 {
		defer m.took("wait_learning", time.Now())
		return m.waitSync(ctx)
	}
	return nil
}

// waitSync waits until the tenant's learning has caught up with what
// Record posted, or until SyncRecord passed (it then carries on and counts
// the late wait). A status it cannot read stops the waiting for good: the
// run goes on as a live loop and LearnerError says why.
func (m *Memory) waitSync(ctx context.Context) error {
	m.mu.Lock()
	stopped := m.learnerErr != nil
	m.mu.Unlock()
	if stopped {
		return nil
	}
	_, err := benchkit.WaitLearning(ctx, m.c, benchkit.LearningWait{Label: "simhttp/" + string(m.cfg.Arm) + " record", Timeout: m.cfg.SyncRecord})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncWaits++
	switch {
	case errors.Is(err, benchkit.ErrNotCaughtUp):
		m.syncLate++
	case err != nil:
		m.learnerErr = err
	}
	return nil
}

// LearnerError says why Record did not always wait for the tenant's
// learning to catch up: the status could not be read (Record stopped
// waiting then), or some waits reached SyncRecord. Nil when every wait
// ended with nothing pending.
func (m *Memory) LearnerError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.learnerErr != nil {
		return m.learnerErr
	}
	if m.syncLate > 0 {
		return fmt.Errorf("%d of %d waits for the learning to catch up gave up after %s", m.syncLate, m.syncWaits, m.cfg.SyncRecord)
	}
	return nil
}

// WaitCaughtUp waits until the tenant's learning has caught up with
// everything this memory posted (GET /v1/learning/status), or until
// timeout, with progress lines under label while the wait is long. The
// benchmark calls it between phases, so that one arm's backlog in the
// shared worker never slows the next arm's learning.
func (m *Memory) WaitCaughtUp(ctx context.Context, label string, timeout time.Duration) (client.LearningStatus, error) {
	return benchkit.WaitLearning(ctx, m.c, benchkit.LearningWait{Label: label, Timeout: timeout})
}

// AdapterCounts reads the arm's tenant's adapter versions (GET
// /v1/adapters, admin scope, every page): how many the worker trained,
// whatever the gate decided, and how many of them were published (made
// active by the gate or an admin).
func (m *Memory) AdapterCounts(ctx context.Context) (sim.AdapterCount, error) {
	var out sim.AdapterCount
	var cursor *string
	for {
		r, err := m.c.ListAdaptersWithResponse(ctx, &client.ListAdaptersParams{Limit: ptr(500), Cursor: cursor})
		if err != nil {
			return out, fmt.Errorf("simhttp: adapters: %w", err)
		}
		if r.JSON200 == nil {
			return out, fmt.Errorf("simhttp: adapters: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
		}
		for _, v := range r.JSON200.Items {
			out.Trained++
			if v.ActivatedAt != nil {
				out.Published++
			}
		}
		if r.JSON200.NextCursor == nil || *r.JSON200.NextCursor == "" {
			return out, nil
		}
		cursor = r.JSON200.NextCursor
	}
}

func scopeOf(s admem.Scope) *client.TrajectoryScope {
	out := &client.TrajectoryScope{}
	if s.AgentID != "" {
		out.AgentId = ptr(s.AgentID)
	}
	if s.UserID != "" {
		out.UserId = ptr(s.UserID)
	}
	if s.SessionID != "" {
		out.SessionId = ptr(s.SessionID)
	}
	return out
}

// Guard scores the candidates with POST /v1/guard (notes and full arms); the
// retrieval arm allows everything without asking.
func (m *Memory) Guard(ctx context.Context, task string, recent []admem.Step, cands []sim.Action) ([]sim.Verdict, error) {
	if m.cfg.Arm == ArmRetrieval {
		return sim.NoMemory{}.Guard(ctx, task, recent, cands)
	}
	if len(recent) > m.cfg.ContextSteps {
		recent = recent[len(recent)-m.cfg.ContextSteps:]
	}
	gctx := make([]client.GuardStep, len(recent))
	for i, s := range recent {
		args := maps.Clone(s.Args)
		if args == nil {
			args = map[string]any{}
		}
		// The step's index tells the server when the context is only
		// the latest steps of the run.
		gs := client.GuardStep{Index: ptr(s.Index), Action: ptr(s.Action), Args: &args}
		status := client.GuardStepStatusOk
		if s.Failed() {
			status = client.GuardStepStatusError
			gs.Error = ptr(s.Error)
			// The error type is part of the error signature: without it
			// the server reads the class from the message and keys the
			// context's failures apart from the tenant's notes.
			if s.ErrorType != "" {
				gs.ErrorType = ptr(s.ErrorType)
			}
		}
		gs.Status = &status
		gctx[i] = gs
	}
	req := client.GuardRequest{Task: task, Context: &gctx}
	for _, c := range cands {
		args := make(map[string]any, len(c.Args))
		for k, v := range c.Args {
			args[k] = v
		}
		req.Candidates = append(req.Candidates, client.Call{Action: ptr(c.Tool), Args: &args})
	}
	t0 := time.Now()
	r, err := m.c.CheckGuardWithResponse(ctx, req)
	m.took("guard", t0)
	if err != nil {
		return nil, fmt.Errorf("simhttp: guard: %w", err)
	}
	if r.JSON200 == nil {
		return nil, fmt.Errorf("simhttp: guard: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
	}
	now := m.cfg.Clock()
	m.addGuard(serverMS(r.HTTPResponse.Header))
	g := r.JSON200
	if len(g.Results) != len(cands) {
		return nil, fmt.Errorf("simhttp: guard: %d results for %d candidates", len(g.Results), len(cands))
	}
	out := make([]sim.Verdict, len(cands))
	kinds := resultKinds(r.Body, len(g.Results))
	if m.cfg.Arm == ArmNotes && g.AdapterVersion != nil {
		return nil, fmt.Errorf("simhttp: guard: the notes arm was answered with adapter v%d", *g.AdapterVersion)
	}
	for i, res := range g.Results {
		v := sim.Verdict{Risk: float64(res.Risk), Decision: sim.Decision(res.Decision), NoteRisk: float64(res.NoteRisk), Kind: kinds[i]}
		if res.AdapterRisk != nil {
			v.AdapterRisk = ptr(float64(*res.AdapterRisk))
		}
		m.countDecision(v, float64(g.Thresholds.Warn), float64(g.Thresholds.Block))
		for _, rs := range res.Reasons {
			v.Cited = append(v.Cited, rs.Signature)
		}
		if v.Decision != sim.Allow {
			for _, rs := range res.Reasons {
				v.Reasons = append(v.Reasons, rs.Note)
				m.learned(rs.Signature, now)
			}
			if s := res.Suggestion; s != nil {
				v.Suggestion = suggestion(s.Text, s.Action)
			}
		}
		out[i] = v
	}
	return out, nil
}

// resultKinds reads each guard result's "kind" (e.g. "transient") from the
// raw response, since the generated client may not know the field yet; a
// missing or unreadable kind is "".
func resultKinds(body []byte, n int) []string {
	out := make([]string, n)
	var raw struct {
		Results []struct {
			Kind string `json:"kind"`
		} `json:"results"`
	}
	if json.Unmarshal(body, &raw) != nil {
		return out
	}
	for i := range min(n, len(raw.Results)) {
		out[i] = raw.Results[i].Kind
	}
	return out
}

// learned records the first guard answer citing a signature.
func (m *Memory) learned(sig string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.pending[sig]; ok {
		m.ttl = append(m.ttl, at.Sub(t))
		delete(m.pending, sig)
		m.learnt[sig] = true
	}
}

// recallResponse is what Recall reads from POST /v1/recall.
type recallResponse struct {
	RecallID string
	Items    []recallItem
	Text     string
}

type recallItem struct {
	ID, Kind, Content string
	Score             float64
	Mistake           *client.Mistake
	Procedure         *client.Procedure
}

var errNoRecallRoute = fmt.Errorf("simhttp: the API has no /v1/recall")

func (m *Memory) postRecall(ctx context.Context, task string, scope admem.Scope, kinds []string) (recallResponse, float64, error) {
	var out recallResponse
	req := client.RecallRequest{Task: &task, Scope: scopeOf(scope), Kinds: &kinds}
	if m.cfg.RecallBudget > 0 {
		req.Budget = ptr(m.cfg.RecallBudget)
	}
	r, err := m.c.RecallWithResponse(ctx, req)
	if err != nil {
		return out, -1, fmt.Errorf("simhttp: recall: %w", err)
	}
	switch {
	case r.StatusCode() == http.StatusNotFound || r.StatusCode() == http.StatusMethodNotAllowed:
		return out, -1, errNoRecallRoute
	case r.JSON200 == nil:
		return out, -1, fmt.Errorf("simhttp: recall: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
	}
	out.RecallID = r.JSON200.RecallId.String()
	out.Text = r.JSON200.Text
	for _, it := range r.JSON200.Items {
		out.Items = append(out.Items, recallItem{ID: it.Id.String(), Kind: it.Kind, Content: it.Content, Score: float64(it.Score),
			Mistake: it.Mistake, Procedure: it.Procedure})
	}
	return out, serverMS(r.HTTPResponse.Header), nil
}

// postFeedback rates a recall; a 404 (no such route) or 409 (rated
// already) is counted, not an error.
func (m *Memory) postFeedback(ctx context.Context, id, outcome string) error {
	body, err := json.Marshal(map[string]any{"outcome": outcome})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.cfg.BaseURL+"/v1/recalls/"+id+"/feedback", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+m.cfg.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.hc.Do(req)
	if err != nil {
		return fmt.Errorf("simhttp: feedback: %w", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m.mu.Lock()
	m.feedback[resp.StatusCode]++
	m.mu.Unlock()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNotFound, http.StatusConflict:
		return nil
	}
	return fmt.Errorf("simhttp: feedback: %d %s", resp.StatusCode, bytes.TrimSpace(raw))
}

// FeedbackStatuses counts recall-feedback responses by HTTP status.
func (m *Memory) FeedbackStatuses() map[int]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.feedback)
}

// setup makes the tenant's settings the arm's, once. The notes arm turns
// the adapter off: PUT /v1/guard/settings with use_adapter false and the
// thresholds unchanged, so guard and recall answer from mistake notes alone.
// The retrieval arm turns failure learning off: PUT /v1/learning/settings
// with strategy success_only, so the learner writes no mistake notes the arm
// would never read (teaching corrections from each success to the notes of
// similar failures made the worker's learner take seconds per episode after
// 150 retrieval episodes, most of the arm's time).
func (m *Memory) setup(ctx context.Context) error {
	m.mu.Lock()
	done := m.ready
	m.mu.Unlock()
	if done {
		return nil
	}
	switch m.cfg.Arm {
	case ArmRetrieval:
		r, err := m.c.PutLearningSettingsWithResponse(ctx, client.LearningSettingsRequest{Strategy: ptr(client.LearningSettingsRequestStrategySuccessOnly)})
		if err != nil {
			return fmt.Errorf("simhttp: learning settings: %w", err)
		}
		if r.JSON200 == nil || r.JSON200.Strategy != client.LearningSettingsStrategySuccessOnly {
			return fmt.Errorf("simhttp: learning settings: failure learning stays on: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
		}
		m.mu.Lock()
		m.ready = true
		m.mu.Unlock()
		return nil
	case ArmNotes:
	default:
		return nil
	}
	g, err := m.c.GetGuardSettingsWithResponse(ctx)
	if err != nil {
		return fmt.Errorf("simhttp: guard settings: %w", err)
	}
	if g.JSON200 == nil {
		return fmt.Errorf("simhttp: guard settings: %d %s", g.StatusCode(), bytes.TrimSpace(g.Body))
	}
	p, err := m.c.PutGuardSettingsWithResponse(ctx, client.GuardSettingsUpdate{Warn: g.JSON200.Warn, Block: g.JSON200.Block, UseAdapter: ptr(false)})
	if err != nil {
		return fmt.Errorf("simhttp: guard settings: %w", err)
	}
	if p.JSON200 == nil || p.JSON200.UseAdapter {
		return fmt.Errorf("simhttp: guard settings: the adapter stays on: %d %s", p.StatusCode(), bytes.TrimSpace(p.Body))
	}
	m.mu.Lock()
	m.ready = true
	m.mu.Unlock()
	return nil
}

// Recall asks the API what matters for the task (see the package doc for
// what each arm asks).
func (m *Memory) Recall(ctx context.Context, task string, scope admem.Scope) (sim.RecallResult, error) {
	if err := m.setup(ctx); err != nil {
		m.startEpisode(-1)
		return sim.RecallResult{}, err
	}
	if m.cfg.Snapshots {
		t0 := time.Now()
		err := m.snapshot(ctx)
		m.took("snapshot", t0)
		if err != nil {
			m.startEpisode(-1)
			return sim.RecallResult{}, err
		}
	}
	kinds := []string{"mistake", "procedure", "fact"}
	switch m.cfg.Arm {
	case ArmRetrieval:
		kinds = []string{"fact"}
	case ArmNotes:
		kinds = []string{"mistake", "procedure"}
	}
	var res sim.RecallResult
	t0 := time.Now()
	rr, ms, err := m.postRecall(ctx, task, scope, kinds)
	m.took("recall", t0)
	switch {
	case err == errNoRecallRoute:
		m.mu.Lock()
		m.fallbacks++
		m.mu.Unlock()
		if m.cfg.Arm != ArmRetrieval {
			if res.Items, err = m.learnedItems(ctx); err != nil {
				m.startEpisode(-1)
				return res, err
			}
		}
	case err != nil:
		m.startEpisode(-1)
		return res, err
	default:
		res.ID, res.Text = rr.RecallID, rr.Text
		m.mu.Lock()
		m.lastRecall = rr.RecallID
		m.mu.Unlock()
		m.mu.Lock()
		for _, it := range rr.Items {
			if item, ok := toItem(it.ID, it.Kind, it.Content, it.Mistake, it.Procedure); ok {
				item.Score = it.Score
				res.Items = append(res.Items, item)
				m.recalled[it.Kind]++
			} else {
				m.recalled[it.Kind+" (unparsed)"]++
			}
		}
		m.mu.Unlock()
	}
	if m.cfg.Arm == ArmRetrieval {
		t0 := time.Now()
		ex, err := m.pastExample(ctx, task, scope)
		m.took("past_example", t0)
		if err != nil {
			m.startEpisode(ms)
			return res, err
		}
		if ex != nil {
			res.Items = append(res.Items, *ex)
		}
	}
	m.startEpisode(ms)
	return res, nil
}

// snapshot lists the tenant's active mistake notes (at most 500, the
// route's limit; a snapshot that hits it says so by holding 500).
func (m *Memory) snapshot(ctx context.Context) error {
	k := client.ListLearnedParamsKindMistake
	r, err := m.c.ListLearnedWithResponse(ctx, &client.ListLearnedParams{Kind: &k, Limit: ptr(500)})
	if err != nil {
		return fmt.Errorf("simhttp: snapshot: %w", err)
	}
	if r.JSON200 == nil {
		return fmt.Errorf("simhttp: snapshot: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
	}
	snap := make(map[string]Note, len(r.JSON200.Items))
	for _, it := range r.JSON200.Items {
		mk := it.Mistake
		if mk == nil {
			continue
		}
		sig := signature.Signature{Tool: mk.Tool, Class: mk.FailsWith.ErrorClass, Template: mk.FailsWith.MessageTemplate}.String()
		n := Note{Signature: sig, DoingPattern: mk.DoingPattern, Seen: mk.Seen}
		if mk.Correction != nil {
			n.Do = mk.Correction.Do
		}
		snap[sig] = n
	}
	m.mu.Lock()
	m.snaps = append(m.snaps, snap)
	m.mu.Unlock()
	return nil
}

// Snapshots returns the mistake notes the tenant held at the start of each
// episode so far, by error signature, in play order (with
// Config.Snapshots).
func (m *Memory) Snapshots() []map[string]Note {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.snaps)
}

// FailureSignature is the server's error signature of a failed step, as
// mistake notes and guard reasons name it.
func FailureSignature(f sim.FailedStep) string {
	return signature.Normalize(f.Tool, f.Class, f.Error).String()
}

// toItem reads a recalled or learned item: from its structured form when
// the server sends one, else from its text.
func toItem(id, kind, content string, m *client.Mistake, p *client.Procedure) (sim.RecallItem, bool) {
	switch kind {
	case "mistake":
		if m != nil {
			return MistakeItem(id, content, m)
		}
		return ParseMistake(id, content)
	case "procedure":
		if p != nil {
			return ProcedureItem(id, content, p)
		}
		return ParseProcedure(id, content)
	case "fact":
		return sim.RecallItem{ID: id, Kind: sim.ItemFact, Text: content}, true
	}
	return sim.RecallItem{}, false
}

// learnedItems is the fallback recall: the tenant's procedures and mistake
// notes as listed, unranked.
func (m *Memory) learnedItems(ctx context.Context) ([]sim.RecallItem, error) {
	var out []sim.RecallItem
	for _, k := range []client.ListLearnedParamsKind{client.ListLearnedParamsKindProcedure, client.ListLearnedParamsKindMistake} {
		r, err := m.c.ListLearnedWithResponse(ctx, &client.ListLearnedParams{Kind: &k, Limit: ptr(50)})
		if err != nil {
			return nil, fmt.Errorf("simhttp: learned: %w", err)
		}
		if r.JSON200 == nil {
			return nil, fmt.Errorf("simhttp: learned: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
		}
		for _, it := range r.JSON200.Items {
			if item, ok := toItem(it.Id.String(), string(it.Kind), it.Content, it.Mistake, it.Procedure); ok {
				out = append(out, item)
			}
		}
	}
	return out, nil
}

// pastExample is the retrieval arm's raw-trajectory recall: the past
// successful trajectory (the user's, else the tenant's) whose task shares
// the most words with this one, as a worked example.
func (m *Memory) pastExample(ctx context.Context, task string, scope admem.Scope) (*sim.RecallItem, error) {
	success := client.ListTrajectoriesParamsOutcomeSuccess
	var best *client.Trajectory
	bestScore := 0.0
	for _, user := range []string{scope.UserID, ""} {
		p := &client.ListTrajectoriesParams{Outcome: &success, Limit: ptr(50)}
		if user != "" {
			p.UserId = ptr(user)
		}
		r, err := m.c.ListTrajectoriesWithResponse(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("simhttp: list trajectories: %w", err)
		}
		if r.JSON200 == nil {
			return nil, fmt.Errorf("simhttp: list trajectories: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
		}
		for i := range r.JSON200.Items {
			t := &r.JSON200.Items[i]
			if s := overlap(task, t.Task); s > bestScore {
				best, bestScore = t, s
			}
		}
		if best != nil && bestScore >= 0.5 {
			break
		}
	}
	if best == nil {
		return nil, nil
	}
	g, err := m.c.GetTrajectoryWithResponse(ctx, best.Id)
	if err != nil {
		return nil, fmt.Errorf("simhttp: get trajectory: %w", err)
	}
	if g.JSON200 == nil || g.JSON200.Steps == nil {
		return nil, fmt.Errorf("simhttp: get trajectory: %d %s", g.StatusCode(), bytes.TrimSpace(g.Body))
	}
	it := sim.RecallItem{ID: best.Id.String(), Kind: sim.ItemProcedure, Text: best.Task, Score: bestScore}
	for _, s := range *g.JSON200.Steps {
		if s.Status == "error" {
			continue
		}
		it.Steps = append(it.Steps, sim.ActionFromStep(s.Action, s.Args))
	}
	if len(it.Steps) == 0 {
		return nil, nil
	}
	return &it, nil
}

// overlap is the Jaccard similarity of two texts' lower-cased words.
func overlap(a, b string) float64 {
	wa, wb := words(a), words(b)
	if len(wa) == 0 || len(wb) == 0 {
		return 0
	}
	inter := 0
	for w := range wa {
		if wb[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(wa)+len(wb)-inter)
}

func words(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		out[w] = true
	}
	return out
}

func ptr[T any](v T) *T { return &v }
