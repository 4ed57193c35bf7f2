DROP TRIGGER IF EXISTS tenants_guard_policy ON tenants;
DROP TRIGGER IF EXISTS api_keys_guard_policy ON api_keys;
DROP TRIGGER IF EXISTS failure_clusters_guard_policy_update ON failure_clusters;
DROP TRIGGER IF EXISTS trajectories_guard_policy ON trajectories;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['failure_clusters', 'mistake_occurrences', 'learning_settings', 'tool_annotations', 'tool_replacements', 'tool_histories'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t || '_guard_policy', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['mistake_occurrences', 'learning_settings', 'tool_annotations', 'tool_replacements', 'tool_histories'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t || '_guard_policy_update', t);
  END LOOP;
END
$$;
DROP FUNCTION IF EXISTS admem_guard_policy_changed();
ALTER TABLE learned_versions DROP COLUMN IF EXISTS policy_version;
