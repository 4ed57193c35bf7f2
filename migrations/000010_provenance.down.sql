DROP TABLE IF EXISTS purged_trajectories;
DROP TABLE IF EXISTS provenance_purges;
DROP TABLE IF EXISTS feedback_ratings;
ALTER TABLE learning_settings DROP COLUMN IF EXISTS retire_quorum;
ALTER TABLE recalls DROP COLUMN IF EXISTS feedback_key_id, DROP COLUMN IF EXISTS feedback_agent_id, DROP COLUMN IF EXISTS feedback_session_id;
UPDATE mistake_occurrences SET agent_id = coalesce(agent_id, ''), session_id = coalesce(session_id, '');
ALTER TABLE mistake_occurrences ALTER COLUMN agent_id SET NOT NULL, ALTER COLUMN session_id SET NOT NULL;
ALTER TABLE mistake_occurrences DROP COLUMN IF EXISTS key_id;
DROP TRIGGER IF EXISTS entry_versions_scope ON entry_versions;
DROP FUNCTION IF EXISTS admem_entry_version_scope();
ALTER TABLE entry_versions DROP COLUMN IF EXISTS agent_id, DROP COLUMN IF EXISTS session_id;
CREATE OR REPLACE FUNCTION admem_trajectory_append_only() RETURNS trigger
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
ALTER TABLE trajectory_steps DROP COLUMN IF EXISTS key_id;
DROP INDEX IF EXISTS trajectories_tenant_key;
ALTER TABLE trajectories DROP COLUMN IF EXISTS key_id;
