-- Episodic memory and the event pipeline: trajectories and their steps
-- (append-only), the outbox the same transactions write events to, the
-- consumers' processed-event ledger, dead letters, the learner's per-tenant
-- state (mistake notes and procedures, merged and versioned) and per-tenant
-- learning settings. Every table has row-level security on admem.tenant_id,
-- as in 000001; the cross-tenant outbox relay goes through narrow
-- SECURITY DEFINER functions instead of a BYPASSRLS role.

CREATE TABLE trajectories (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  task            text NOT NULL CHECK (length(task) BETWEEN 1 AND 20000),
  agent_id        text NOT NULL DEFAULT '',
  user_id         text NOT NULL DEFAULT '',
  session_id      text NOT NULL DEFAULT '',
  outcome         text NOT NULL DEFAULT '' CHECK (outcome IN ('', 'success', 'failure', 'partial')),
  outcome_source  text NOT NULL DEFAULT '' CHECK (outcome_source IN ('', 'agent', 'judge')),
  score           double precision CHECK (score BETWEEN 0 AND 1),
  metadata        jsonb NOT NULL DEFAULT '{}',
  open            boolean NOT NULL DEFAULT false,
  step_count      integer NOT NULL DEFAULT 0,
  failed_steps    integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  closed_at       timestamptz,
  CHECK (open OR closed_at IS NOT NULL)
);
CREATE INDEX trajectories_tenant ON trajectories (tenant_id, created_at DESC, id DESC);
CREATE INDEX trajectories_tenant_session ON trajectories (tenant_id, session_id, created_at DESC) WHERE session_id <> '';
CREATE INDEX trajectories_tenant_agent ON trajectories (tenant_id, agent_id, created_at DESC) WHERE agent_id <> '';

-- Steps reach their tenant through their trajectory (whose deletion
-- cascades); a second foreign key per step would cost a third of the
-- insert time of a batch for nothing.
CREATE TABLE trajectory_steps (
  tenant_id      uuid NOT NULL,
  trajectory_id  uuid NOT NULL REFERENCES trajectories (id) ON DELETE CASCADE,
  idx            integer NOT NULL CHECK (idx >= 0),
  action         text NOT NULL CHECK (length(action) BETWEEN 1 AND 500),
  args           jsonb NOT NULL DEFAULT '{}',
  observation    text NOT NULL DEFAULT '',
  error          text NOT NULL DEFAULT '',
  error_type     text NOT NULL DEFAULT '',
  status         text NOT NULL CHECK (status IN ('ok', 'error')),
  reward         double precision,
  started_at     timestamptz,
  duration_ms    bigint CHECK (duration_ms >= 0),
  signature_id   text NOT NULL DEFAULT '',
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trajectory_id, idx)
);
CREATE INDEX trajectory_steps_signature ON trajectory_steps (tenant_id, signature_id) WHERE signature_id <> '';

-- Append-only: a closed trajectory never changes, and steps never change.
CREATE FUNCTION admem_trajectory_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT OLD.open THEN
    RAISE EXCEPTION 'trajectory % is closed and append-only', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.task <> OLD.task OR NEW.tenant_id <> OLD.tenant_id OR NEW.created_at <> OLD.created_at
     OR NEW.agent_id <> OLD.agent_id OR NEW.user_id <> OLD.user_id OR NEW.session_id <> OLD.session_id
     OR NEW.step_count < OLD.step_count THEN
    RAISE EXCEPTION 'trajectory % is append-only', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER trajectories_append_only BEFORE UPDATE ON trajectories
  FOR EACH ROW EXECUTE FUNCTION admem_trajectory_append_only();

-- Events written in the same transaction as the change they describe; the
-- relay moves them to the Redis stream and marks them relayed.
CREATE TABLE outbox (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id      uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  type          text NOT NULL,
  subject_id    uuid NOT NULL,
  payload       jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  relayed_at    timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE relayed_at IS NULL;
CREATE INDEX outbox_relayed ON outbox (relayed_at) WHERE relayed_at IS NOT NULL;

-- One row per (consumer, event) whose effect committed: processing an event
-- again finds its row and changes nothing.
CREATE TABLE processed_events (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  consumer      text NOT NULL,
  event_id      uuid NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX processed_events_tenant ON processed_events (tenant_id, processed_at);

-- Events that kept failing, moved aside after N attempts (also on the
-- dead-letter stream); tenant admins list their own.
CREATE TABLE dead_letters (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  event_id      uuid NOT NULL,
  type          text NOT NULL,
  subject_id    uuid,
  payload       jsonb NOT NULL DEFAULT '{}',
  stream_id     text NOT NULL DEFAULT '',
  attempts      integer NOT NULL,
  last_error    text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, event_id)
);

-- The learner's state: one row per mistake note (key = signature id) or
-- procedure (key = procedure id), merged in place with a version counter,
-- every version kept in learned_item_versions.
CREATE TABLE learned_items (
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('mistake', 'procedure')),
  key             text NOT NULL,
  id              uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  state           jsonb NOT NULL,
  content         text NOT NULL,
  search_text     text NOT NULL DEFAULT '',
  count           integer NOT NULL DEFAULT 0,
  version         integer NOT NULL DEFAULT 1,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  uses            integer NOT NULL DEFAULT 0,
  successes       integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kind, key)
);

CREATE TABLE learned_item_versions (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  item_id     uuid NOT NULL REFERENCES learned_items (id) ON DELETE CASCADE,
  version     integer NOT NULL,
  state       jsonb NOT NULL,
  content     text NOT NULL,
  source      text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, version)
);

-- Which failed steps a mistake note has counted: counting is idempotent
-- whether a step is learnt at append time or from its event later.
CREATE TABLE mistake_occurrences (
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  signature_id   text NOT NULL,
  trajectory_id  uuid NOT NULL REFERENCES trajectories (id) ON DELETE CASCADE,
  step_idx       integer NOT NULL,
  PRIMARY KEY (tenant_id, trajectory_id, step_idx)
);

-- Every recall, with the items it returned, so feedback can rate them.
CREATE TABLE recalls (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  task         text NOT NULL DEFAULT '',
  items        jsonb NOT NULL DEFAULT '[]',
  tokens       integer NOT NULL DEFAULT 0,
  budget       integer NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  feedback_at  timestamptz,
  outcome      text NOT NULL DEFAULT '',
  helpful      text[] NOT NULL DEFAULT '{}',
  harmful      text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX recalls_tenant ON recalls (tenant_id, created_at DESC);

CREATE TABLE learning_settings (
  tenant_id        uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  judge_rule       text NOT NULL DEFAULT 'last_ok_recovered',
  judge_threshold  double precision NOT NULL DEFAULT 0.5 CHECK (judge_threshold BETWEEN 0 AND 1),
  strategy         text NOT NULL DEFAULT 'reflect' CHECK (strategy IN ('append_only', 'success_only', 'reflect')),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['trajectories', 'trajectory_steps', 'outbox', 'processed_events', 'dead_letters',
                           'learned_items', 'learned_item_versions', 'mistake_occurrences', 'learning_settings', 'recalls'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant())',
                   t || '_isolation', t);
  END LOOP;
END
$$;

-- Append-only for the application role: no deleting trajectories or steps,
-- no editing steps or versions, no editing or deleting the outbox or ledger.
REVOKE UPDATE, DELETE ON trajectory_steps, learned_item_versions, processed_events FROM admem_app;
REVOKE DELETE ON trajectories FROM admem_app;
REVOKE UPDATE, DELETE ON outbox FROM admem_app;

-- The relay reads every tenant's pending events. It claims them inside its
-- own transaction (the row locks last until that transaction ends, so other
-- relay replicas skip them), publishes, then marks them relayed.
CREATE FUNCTION admem_outbox_claim(p_limit integer)
RETURNS TABLE (id bigint, event_id uuid, tenant_id uuid, type text, subject_id uuid, payload jsonb, created_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  SELECT o.id, o.event_id, o.tenant_id, o.type, o.subject_id, o.payload, o.created_at
  FROM outbox o
  WHERE o.relayed_at IS NULL
  ORDER BY o.id
  LIMIT least(greatest(p_limit, 1), 1000)
  FOR UPDATE SKIP LOCKED
$$;

CREATE FUNCTION admem_outbox_mark_relayed(p_ids bigint[]) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  WITH u AS (UPDATE outbox SET relayed_at = now() WHERE id = ANY (p_ids) AND relayed_at IS NULL RETURNING 1)
  SELECT count(*) FROM u
$$;

-- Depth and age of the oldest pending event, for the worker's gauges.
CREATE FUNCTION admem_outbox_backlog(OUT pending bigint, OUT oldest timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT count(*), min(created_at) FROM outbox WHERE relayed_at IS NULL
$$;

CREATE FUNCTION admem_outbox_purge(p_before timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  WITH d AS (DELETE FROM outbox WHERE relayed_at IS NOT NULL AND relayed_at < p_before RETURNING 1)
  SELECT count(*) FROM d
$$;

-- The processed-event ledger only has to outlive redeliveries, which end
-- within minutes (acknowledged, or dead-lettered after N attempts).
CREATE FUNCTION admem_processed_events_purge(p_before timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  WITH d AS (DELETE FROM processed_events WHERE processed_at < p_before RETURNING 1)
  SELECT count(*) FROM d
$$;

REVOKE ALL ON FUNCTION admem_outbox_claim(integer), admem_outbox_mark_relayed(bigint[]),
  admem_outbox_backlog(), admem_outbox_purge(timestamptz), admem_processed_events_purge(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_outbox_claim(integer), admem_outbox_mark_relayed(bigint[]),
  admem_outbox_backlog(), admem_outbox_purge(timestamptz), admem_processed_events_purge(timestamptz) TO admem_app;
