package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/admem/admem"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// NewTrajectory is one trajectory to record: the trajectory (its ID and
// times are set here), who decided its outcome, and the error signature id
// of each step ("" for steps that worked).
type NewTrajectory struct {
	Trajectory    admem.Trajectory
	OutcomeSource admem.OutcomeSource
	Signatures    []string
}

// LearnHook runs inside the transaction that appended failed steps to an
// open trajectory, so their mistake notes commit with them. failed lists the
// indexes of the newly appended failed steps.
type LearnHook func(lt *LearnTx, t admem.Trajectory, failed []int) error

// Decide scores a trajectory being closed without an outcome from the agent.
type Decide func(t admem.Trajectory) (admem.Outcome, *float64, admem.OutcomeSource)

// RecordTrajectories stores trajectories with their steps and outbox events
// in one transaction: all or none. Closed trajectories emit
// trajectory.recorded; every failed step emits step.failed.
func (db *DB) RecordTrajectories(ctx context.Context, tenantID string, in []NewTrajectory) ([]admem.Trajectory, error) {
	out := make([]admem.Trajectory, len(in))
	now := time.Now().UTC().Truncate(time.Microsecond)
	var tr trajRows
	var st stepRows
	var ev eventRows
	for i, n := range in {
		t := n.Trajectory
		// A microsecond apart, so lists keep the batch's order.
		at := now.Add(time.Duration(i) * time.Microsecond)
		t.ID, t.TenantID, t.CreatedAt = uuid.NewString(), tenantID, at
		t.ClosedAt = nil
		if !t.Open {
			t.ClosedAt = &at
		}
		for k := range t.Steps {
			t.Steps[k].Index = k
		}
		if err := tr.add(t, n.OutcomeSource); err != nil {
			return nil, err
		}
		for k, s := range t.Steps {
			if err := st.add(tenantID, t.ID, s, sigAt(n.Signatures, k)); err != nil {
				return nil, err
			}
			if s.Failed() {
				ev.add(tenantID, admem.EventStepFailed, t.ID, stepFailedPayload(t.ID, s, sigAt(n.Signatures, k)))
			}
		}
		if !t.Open {
			ev.add(tenantID, admem.EventTrajectoryRecorded, t.ID, recordedPayload(t))
		}
		out[i] = t
	}
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if err := tr.insert(ctx, tx, tenantID); err != nil {
			return err
		}
		if err := st.insert(ctx, tx); err != nil {
			return err
		}
		return ev.insert(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("store: record %d trajectories: %w", len(in), err)
	}
	return out, nil
}

func sigAt(sigs []string, k int) string {
	if k < len(sigs) {
		return sigs[k]
	}
	return ""
}

func stepFailedPayload(trajID string, s admem.Step, sig string) map[string]any {
	return map[string]any{"trajectory_id": trajID, "step_index": s.Index, "action": s.Action, "signature_id": sig}
}

func recordedPayload(t admem.Trajectory) map[string]any {
	return map[string]any{"trajectory_id": t.ID, "outcome": string(t.Outcome), "steps": len(t.Steps), "failed_steps": len(t.FailedSteps())}
}

// AppendSteps appends steps to an open trajectory, writes step.failed events
// for the failed ones and runs learn in the same transaction. Appending to a
// closed trajectory is a conflict.
func (db *DB) AppendSteps(ctx context.Context, tenantID, id string, steps []admem.Step, sigs []string, learn LearnHook) (admem.Trajectory, error) {
	var out admem.Trajectory
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var open bool
		var count int
		if err := tx.QueryRow(ctx, `SELECT open, step_count FROM trajectories WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			tenantID, id).Scan(&open, &count); err != nil {
			return translate(err)
		}
		if !open {
			return &admem.Error{Code: admem.ECONFLICT, Message: "the trajectory is closed; steps can only be appended to an open trajectory"}
		}
		var st stepRows
		var ev eventRows
		var failed []int
		nfailed := 0
		for k := range steps {
			steps[k].Index = count + k
			s := steps[k]
			if err := st.add(tenantID, id, s, sigAt(sigs, k)); err != nil {
				return err
			}
			if s.Failed() {
				nfailed++
				failed = append(failed, s.Index)
				ev.add(tenantID, admem.EventStepFailed, id, stepFailedPayload(id, s, sigAt(sigs, k)))
			}
		}
		if err := st.insert(ctx, tx); err != nil {
			return err
		}
		if err := ev.insert(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE trajectories SET step_count = step_count + $3, failed_steps = failed_steps + $4
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, len(steps), nfailed); err != nil {
			return translate(err)
		}
		var err error
		if out, err = getTrajectory(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if learn != nil && len(failed) > 0 {
			return learn(&LearnTx{ctx: ctx, tx: tx, tenantID: tenantID}, out, failed)
		}
		return nil
	})
	if err != nil {
		return admem.Trajectory{}, fmt.Errorf("store: append steps to %s: %w", id, err)
	}
	return out, nil
}

// CloseTrajectory closes an open trajectory with outcome and score; when
// outcome is unknown, decide scores it. It writes trajectory.recorded.
func (db *DB) CloseTrajectory(ctx context.Context, tenantID, id string, outcome admem.Outcome, score *float64, decide Decide) (admem.Trajectory, error) {
	var out admem.Trajectory
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var open bool
		if err := tx.QueryRow(ctx, `SELECT open FROM trajectories WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			tenantID, id).Scan(&open); err != nil {
			return translate(err)
		}
		if !open {
			return &admem.Error{Code: admem.ECONFLICT, Message: "the trajectory is already closed"}
		}
		t, err := getTrajectory(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		source := admem.OutcomeByAgent
		if outcome == admem.OutcomeUnknown && decide != nil {
			outcome, score, source = decide(t)
		}
		if outcome == admem.OutcomeUnknown {
			source = ""
		}
		if _, err := tx.Exec(ctx, `UPDATE trajectories SET open = false, closed_at = now(), outcome = $3, outcome_source = $4, score = $5
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, string(outcome), string(source), score); err != nil {
			return translate(err)
		}
		if out, err = getTrajectory(ctx, tx, tenantID, id); err != nil {
			return err
		}
		var ev eventRows
		ev.add(tenantID, admem.EventTrajectoryRecorded, id, recordedPayload(out))
		return ev.insert(ctx, tx)
	})
	if err != nil {
		return admem.Trajectory{}, fmt.Errorf("store: close trajectory %s: %w", id, err)
	}
	return out, nil
}

// GetTrajectory returns one trajectory with its steps.
func (db *DB) GetTrajectory(ctx context.Context, tenantID, id string) (admem.TrajectorySummary, error) {
	var out admem.TrajectorySummary
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = getSummary(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		out.Steps, err = getSteps(ctx, tx, tenantID, id)
		for i := range out.Steps {
			out.Steps[i].Provenance.AgentID, out.Steps[i].Provenance.SessionID = out.Scope.AgentID, out.Scope.SessionID
		}
		return err
	})
	if err != nil {
		return admem.TrajectorySummary{}, fmt.Errorf("store: get trajectory %s: %w", id, err)
	}
	return out, nil
}

const trajColumns = `id, tenant_id, task, agent_id, user_id, session_id, outcome, outcome_source, score, metadata, open,
	step_count, failed_steps, created_at, closed_at, coalesce(key_id::text, ''),
	EXISTS (SELECT 1 FROM purged_trajectories pt WHERE pt.tenant_id = trajectories.tenant_id AND pt.trajectory_id = trajectories.id)`

func scanSummary(row pgx.Row) (admem.TrajectorySummary, error) {
	var s admem.TrajectorySummary
	var outcome, source string
	err := row.Scan(&s.ID, &s.TenantID, &s.Task, &s.Scope.AgentID, &s.Scope.UserID, &s.Scope.SessionID, &outcome, &source,
		&s.Score, &s.Metadata, &s.Open, &s.StepCount, &s.FailedSteps, &s.CreatedAt, &s.ClosedAt, &s.Provenance.ActorKeyID, &s.Purged)
	s.Outcome, s.OutcomeSource = admem.Outcome(outcome), admem.OutcomeSource(source)
	s.Provenance.AgentID, s.Provenance.SessionID = s.Scope.AgentID, s.Scope.SessionID
	return s, translate(err)
}

func getSummary(ctx context.Context, tx pgx.Tx, tenantID, id string) (admem.TrajectorySummary, error) {
	return scanSummary(tx.QueryRow(ctx, `SELECT `+trajColumns+` FROM trajectories WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

func getTrajectory(ctx context.Context, tx pgx.Tx, tenantID, id string) (admem.Trajectory, error) {
	s, err := getSummary(ctx, tx, tenantID, id)
	if err != nil {
		return admem.Trajectory{}, err
	}
	s.Steps, err = getSteps(ctx, tx, tenantID, id)
	for i := range s.Steps {
		s.Steps[i].Provenance.AgentID, s.Steps[i].Provenance.SessionID = s.Scope.AgentID, s.Scope.SessionID
	}
	return s.Trajectory, err
}

func getSteps(ctx context.Context, tx pgx.Tx, tenantID, id string) ([]admem.Step, error) {
	m, err := stepsOf(ctx, tx, tenantID, []string{id})
	return m[id], err
}

// stepsOf loads the steps of several trajectories at once.
func stepsOf(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) (map[string][]admem.Step, error) {
	rows, err := tx.Query(ctx, `SELECT trajectory_id, idx, action, args, observation, error, error_type, status, reward, started_at, duration_ms,
			coalesce(key_id::text, '')
		FROM trajectory_steps WHERE tenant_id = $1 AND trajectory_id = ANY ($2::uuid[]) ORDER BY trajectory_id, idx`, tenantID, ids)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[string][]admem.Step{}
	for rows.Next() {
		var tid, status string
		var s admem.Step
		if err := rows.Scan(&tid, &s.Index, &s.Action, &s.Args, &s.Observation, &s.Error, &s.ErrorType, &status, &s.Reward,
			&s.StartedAt, &s.DurationMS, &s.Provenance.ActorKeyID); err != nil {
			return nil, translate(err)
		}
		s.Status = admem.StepStatus(status)
		out[tid] = append(out[tid], s)
	}
	return out, translate(rows.Err())
}

// ListTrajectories pages through the tenant's trajectories, newest first,
// without their steps.
func (db *DB) ListTrajectories(ctx context.Context, tenantID string, f admem.TrajectoryFilter, page admem.Page) ([]admem.TrajectorySummary, string, error) {
	page = page.Normalize()
	var out []admem.TrajectorySummary
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var before *time.Time
		var beforeID *string
		if page.Cursor != "" {
			ts, id, err := decodeTimeCursor(page.Cursor)
			if err != nil {
				return err
			}
			if _, err := uuid.Parse(id); err != nil {
				return admem.Invalid("cursor", "not a cursor this service issued")
			}
			before, beforeID = &ts, &id
		}
		var outcome *string
		if f.Outcome != nil {
			o := string(*f.Outcome)
			outcome = &o
		}
		var err error
		out, err = queryAll(ctx, tx, scanSummary, `SELECT `+trajColumns+` FROM trajectories
			WHERE tenant_id = $1
			  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
			  AND ($4 = '' OR agent_id = $4) AND ($5 = '' OR user_id = $5) AND ($6 = '' OR session_id = $6)
			  AND ($7::text IS NULL OR outcome = $7)
			  AND ($8::boolean IS NULL OR open = $8)
			  AND ($9::boolean IS NULL OR (failed_steps > 0) = $9)
			  AND ($10::timestamptz IS NULL OR created_at >= $10)
			  AND ($11::timestamptz IS NULL OR created_at < $11)
			ORDER BY created_at DESC, id DESC LIMIT $12`,
			tenantID, before, beforeID, f.Scope.AgentID, f.Scope.UserID, f.Scope.SessionID, outcome, f.Open, f.Failed,
			f.Since, f.Until, page.Limit+1)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list trajectories: %w", err)
	}
	out, next := trimPage(out, page.Limit, func(s admem.TrajectorySummary) string { return encodeTimeCursor(s.CreatedAt, s.ID) })
	return out, next, nil
}

// trajRows, stepRows and eventRows collect rows as column arrays, inserted
// with one unnest statement each (COPY does not work on tables with
// row-level security).
type trajRows struct {
	id, task, agent, user, session, outcome, source, metadata []string
	key                                                       []*string
	score                                                     []*float64
	open                                                      []bool
	steps, failed                                             []int32
	created                                                   []time.Time
	closed                                                    []*time.Time
}

func (r *trajRows) add(t admem.Trajectory, source admem.OutcomeSource) error {
	md := t.Metadata
	if md == nil {
		md = map[string]any{}
	}
	b, err := json.Marshal(md)
	if err != nil {
		return admem.Invalid("metadata", "not encodable as JSON")
	}
	r.id = append(r.id, t.ID)
	r.task = append(r.task, t.Task)
	r.agent = append(r.agent, t.Scope.AgentID)
	r.user = append(r.user, t.Scope.UserID)
	r.session = append(r.session, t.Scope.SessionID)
	r.key = append(r.key, nullableUUID(t.Provenance.ActorKeyID))
	r.outcome = append(r.outcome, string(t.Outcome))
	r.source = append(r.source, string(source))
	r.metadata = append(r.metadata, string(b))
	r.score = append(r.score, t.Score)
	r.open = append(r.open, t.Open)
	r.steps = append(r.steps, int32(len(t.Steps)))
	r.failed = append(r.failed, int32(len(t.FailedSteps())))
	r.created = append(r.created, t.CreatedAt)
	r.closed = append(r.closed, t.ClosedAt)
	return nil
}

func (r *trajRows) insert(ctx context.Context, tx pgx.Tx, tenantID string) error {
	if len(r.id) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO trajectories (id, tenant_id, task, agent_id, user_id, session_id, outcome, outcome_source,
			metadata, score, open, step_count, failed_steps, created_at, closed_at, key_id)
		SELECT u.id, $1, u.task, u.agent, u.usr, u.session, u.outcome, u.source, u.metadata::jsonb, u.score, u.open, u.steps,
			u.failed, u.created, u.closed, u.key
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::float8[], $11::bool[], $12::int4[], $13::int4[], $14::timestamptz[], $15::timestamptz[], $16::uuid[])
			AS u(id, task, agent, usr, session, outcome, source, metadata, score, open, steps, failed, created, closed, key)`,
		tenantID, r.id, r.task, r.agent, r.user, r.session, r.outcome, r.source, r.metadata, r.score, r.open, r.steps,
		r.failed, r.created, r.closed, r.key)
	return translate(err)
}

type stepRows struct {
	tenant, traj, action, args, obs, errText, errType, status, sig []string
	key                                                            []*string
	idx                                                            []int32
	reward                                                         []*float64
	started                                                        []*time.Time
	duration                                                       []*int64
}

func (r *stepRows) add(tenantID, trajID string, s admem.Step, sig string) error {
	args := s.Args
	if args == nil {
		args = map[string]any{}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return admem.Invalid(fmt.Sprintf("steps[%d].args", s.Index), "not encodable as JSON")
	}
	r.tenant = append(r.tenant, tenantID)
	r.traj = append(r.traj, trajID)
	r.idx = append(r.idx, int32(s.Index))
	r.action = append(r.action, s.Action)
	r.args = append(r.args, string(b))
	r.obs = append(r.obs, s.Observation)
	r.errText = append(r.errText, s.Error)
	r.errType = append(r.errType, s.ErrorType)
	r.status = append(r.status, string(s.Status))
	r.sig = append(r.sig, sig)
	r.key = append(r.key, nullableUUID(s.Provenance.ActorKeyID))
	r.reward = append(r.reward, s.Reward)
	r.started = append(r.started, s.StartedAt)
	r.duration = append(r.duration, s.DurationMS)
	return nil
}

func (r *stepRows) insert(ctx context.Context, tx pgx.Tx) error {
	if len(r.traj) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO trajectory_steps (tenant_id, trajectory_id, idx, action, args, observation, error, error_type,
			status, signature_id, reward, started_at, duration_ms, key_id)
		SELECT u.tenant, u.traj, u.idx, u.action, u.args::jsonb, u.obs, u.err, u.errtype, u.status, u.sig, u.reward, u.started, u.duration, u.key
		FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::text[], $11::float8[], $12::timestamptz[], $13::int8[], $14::uuid[])
			AS u(tenant, traj, idx, action, args, obs, err, errtype, status, sig, reward, started, duration, key)`,
		r.tenant, r.traj, r.idx, r.action, r.args, r.obs, r.errText, r.errType, r.status, r.sig, r.reward, r.started, r.duration, r.key)
	return translate(err)
}

type eventRows struct {
	tenant, typ, subject, payload []string
}

func (r *eventRows) add(tenantID, typ, subject string, payload map[string]any) {
	b, _ := json.Marshal(payload) // maps of strings and numbers always encode
	r.tenant = append(r.tenant, tenantID)
	r.typ = append(r.typ, typ)
	r.subject = append(r.subject, subject)
	r.payload = append(r.payload, string(b))
}

func (r *eventRows) insert(ctx context.Context, tx pgx.Tx) error {
	if len(r.tenant) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO outbox (tenant_id, type, subject_id, payload)
		SELECT u.tenant, u.typ, u.subject, u.payload::jsonb
		FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[]) WITH ORDINALITY AS u(tenant, typ, subject, payload, n)
		ORDER BY u.n`, r.tenant, r.typ, r.subject, r.payload)
	return translate(err)
}
