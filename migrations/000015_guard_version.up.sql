-- Guard caches what it reads per tenant (issue 18 item 3): the active
-- mistakes of the candidates' tools with who backs them, the guard
-- settings, the learning quorum, the tool policy and the tools' recent
-- calls (tool_histories). The mistakes
-- themselves are learned items, whose changes learned_versions.version
-- already counts; policy_version counts the rest: a change of any other row
-- guard's knowledge is read from. A cache keyed by both is current when
-- both are unchanged.
--
-- Bumped like version, by deferred triggers at commit (row locks on
-- learned_versions after every other lock of the transaction, so no
-- deadlock). The function is a security definer: the rows may change in a
-- transaction without a tenant setting (a platform admin's change of a
-- tenant's settings), which RLS would stop. A tenant being deleted has no
-- row left to bump, and none is made for it.
ALTER TABLE learned_versions ADD COLUMN policy_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION admem_guard_policy_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE t uuid;
BEGIN
  IF TG_TABLE_NAME = 'tenants' THEN
    t := NEW.id;
  ELSIF TG_OP = 'DELETE' THEN
    t := OLD.tenant_id;
  ELSE
    t := NEW.tenant_id;
  END IF;
  INSERT INTO learned_versions AS lv (tenant_id, policy_version)
    SELECT t, 1 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = t)
    ON CONFLICT (tenant_id) DO UPDATE SET policy_version = lv.policy_version + 1;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER tenants_guard_policy AFTER UPDATE ON tenants
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.settings IS DISTINCT FROM NEW.settings)
  EXECUTE FUNCTION admem_guard_policy_changed();
CREATE CONSTRAINT TRIGGER api_keys_guard_policy AFTER UPDATE ON api_keys
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.trusted_for_learning IS DISTINCT FROM NEW.trusted_for_learning OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
  EXECUTE FUNCTION admem_guard_policy_changed();
CREATE CONSTRAINT TRIGGER failure_clusters_guard_policy_update AFTER UPDATE ON failure_clusters
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.suppressed IS DISTINCT FROM NEW.suppressed OR OLD.merged_into IS DISTINCT FROM NEW.merged_into
        OR OLD.signature_id IS DISTINCT FROM NEW.signature_id)
  EXECUTE FUNCTION admem_guard_policy_changed();
CREATE CONSTRAINT TRIGGER trajectories_guard_policy AFTER DELETE ON trajectories
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION admem_guard_policy_changed();

DO $$
DECLARE t text;
BEGIN
  -- Every change of these: who backs a mistake, the quorum, the policy,
  -- the tools' recent calls.
  FOREACH t IN ARRAY ARRAY['failure_clusters', 'mistake_occurrences', 'learning_settings', 'tool_annotations', 'tool_replacements', 'tool_histories'] LOOP
    EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER INSERT OR DELETE ON %I DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION admem_guard_policy_changed()',
                   t || '_guard_policy', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['mistake_occurrences', 'learning_settings', 'tool_annotations', 'tool_replacements', 'tool_histories'] LOOP
    EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER UPDATE ON %I DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION admem_guard_policy_changed()',
                   t || '_guard_policy_update', t);
  END LOOP;
END
$$;
