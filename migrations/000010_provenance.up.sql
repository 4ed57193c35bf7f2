-- Provenance: which key (and, where the request named them, which agent
-- and session) every trajectory, step, feedback, entry version and piece of
-- learnt evidence came from, so that an admin can list what one source
-- taught and purge it. Rows written before this migration have NULL
-- provenance: unknown, never guessed.

ALTER TABLE trajectories ADD COLUMN key_id uuid;
CREATE INDEX trajectories_tenant_key ON trajectories (tenant_id, key_id) WHERE key_id IS NOT NULL;

-- The key that appended each step (a trajectory may be streamed by several).
ALTER TABLE trajectory_steps ADD COLUMN key_id uuid;

-- The append-only guard also keeps who recorded a trajectory.
CREATE OR REPLACE FUNCTION admem_trajectory_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT OLD.open THEN
    RAISE EXCEPTION 'trajectory % is closed and append-only', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.task <> OLD.task OR NEW.tenant_id <> OLD.tenant_id OR NEW.created_at <> OLD.created_at
     OR NEW.agent_id <> OLD.agent_id OR NEW.user_id <> OLD.user_id OR NEW.session_id <> OLD.session_id
     OR NEW.key_id IS DISTINCT FROM OLD.key_id
     OR NEW.step_count < OLD.step_count THEN
    RAISE EXCEPTION 'trajectory % is append-only', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

-- Entry versions already name their key (actor_key_id); the agent and
-- session of the write join it: the scope the request gave the entry,
-- which never changes, copied by a trigger so that no writer can forget it.
ALTER TABLE entry_versions ADD COLUMN agent_id text, ADD COLUMN session_id text;
CREATE FUNCTION admem_entry_version_scope() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.agent_id IS NULL AND NEW.session_id IS NULL THEN
    SELECT nullif(e.agent_id, ''), nullif(e.session_id, '') INTO NEW.agent_id, NEW.session_id
    FROM entries e WHERE e.tenant_id = NEW.tenant_id AND e.id = NEW.entry_id;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER entry_versions_scope BEFORE INSERT ON entry_versions
  FOR EACH ROW EXECUTE FUNCTION admem_entry_version_scope();

-- Learnt evidence: the key of each counted failure (its agent and session
-- are there since 000006).
ALTER TABLE mistake_occurrences ADD COLUMN key_id uuid;
ALTER TABLE mistake_occurrences ALTER COLUMN agent_id DROP NOT NULL, ALTER COLUMN session_id DROP NOT NULL;

-- Feedback: who rated a recall, and each item's rating, so that retirement
-- can weigh independent sources and a purge can take a source's ratings back.
ALTER TABLE recalls ADD COLUMN feedback_key_id uuid, ADD COLUMN feedback_agent_id text, ADD COLUMN feedback_session_id text;

CREATE TABLE feedback_ratings (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  recall_id   uuid NOT NULL REFERENCES recalls (id) ON DELETE CASCADE,
  item_id     uuid NOT NULL,
  source      text NOT NULL CHECK (source IN ('learned', 'entry')),
  success     boolean NOT NULL,
  admin       boolean NOT NULL DEFAULT false,
  key_id      uuid,
  agent_id    text,
  session_id  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  purge_id    uuid,
  PRIMARY KEY (tenant_id, recall_id, item_id)
);
CREATE INDEX feedback_ratings_item ON feedback_ratings (tenant_id, item_id) WHERE purge_id IS NULL;
CREATE INDEX feedback_ratings_key ON feedback_ratings (tenant_id, key_id);

-- Purges: what an admin took back from one source.
CREATE TABLE provenance_purges (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key_id        uuid,
  agent_id      text,
  actor_key_id  uuid,
  trajectories  integer NOT NULL DEFAULT 0,
  feedback      integer NOT NULL DEFAULT 0,
  items         integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (key_id IS NOT NULL OR agent_id IS NOT NULL)
);
CREATE INDEX provenance_purges_tenant ON provenance_purges (tenant_id, created_at DESC);

-- Trajectories stay (episodic memory is append-only) but a purged one is
-- excluded from learning.
CREATE TABLE purged_trajectories (
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  trajectory_id  uuid NOT NULL REFERENCES trajectories (id) ON DELETE CASCADE,
  purge_id       uuid NOT NULL REFERENCES provenance_purges (id) ON DELETE CASCADE,
  PRIMARY KEY (tenant_id, trajectory_id)
);

-- How many independent sources must call a shared item harmful before it
-- is retired (an admin's feedback alone suffices).
ALTER TABLE learning_settings ADD COLUMN retire_quorum integer NOT NULL DEFAULT 2 CHECK (retire_quorum BETWEEN 1 AND 100);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['feedback_ratings', 'provenance_purges', 'purged_trajectories'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant())',
                   t || '_isolation', t);
  END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON feedback_ratings, provenance_purges, purged_trajectories TO admem_app;
