-- Recall caches a tenant's learned items and their BM25 index (issue 18
-- item 3). It asks "did anything change?" of one row, learned_versions,
-- and reads only the items changed since the version it holds: each item
-- carries in change_seq the tenant version of its last change. Counters
-- (uses, successes) are not a change: recall reads them fresh for its hits.
--
-- The version is bumped by a deferred trigger, at commit: the row lock on
-- learned_versions is then taken after every item lock of the transaction,
-- so writers of many items cannot deadlock on it, and versions are handed
-- out in commit order, so a reader that sees version v sees every item
-- change numbered up to v. A deletion (only tenant purges delete items)
-- cannot be read back; it moves reset_version, and a cache older than that
-- is rebuilt.
CREATE TABLE learned_versions (
  tenant_id      uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  version        bigint NOT NULL DEFAULT 0,
  reset_version  bigint NOT NULL DEFAULT 0
);
ALTER TABLE learned_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY learned_versions_isolation ON learned_versions
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
GRANT SELECT, INSERT, UPDATE ON learned_versions TO admem_app;

ALTER TABLE learned_items ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX learned_items_changes ON learned_items (tenant_id, change_seq);

CREATE FUNCTION admem_learned_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE learned_versions SET version = version + 1, reset_version = version + 1 WHERE tenant_id = OLD.tenant_id;
    RETURN NULL;
  END IF;
  INSERT INTO learned_versions AS lv (tenant_id, version) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = lv.version + 1
    RETURNING version INTO v;
  -- Changes only change_seq: the update trigger's condition is false for it.
  UPDATE learned_items SET change_seq = v WHERE tenant_id = NEW.tenant_id AND id = NEW.id;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER learned_items_version_insert AFTER INSERT ON learned_items
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION admem_learned_changed();
CREATE CONSTRAINT TRIGGER learned_items_version_update AFTER UPDATE ON learned_items
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'uses' - 'successes' - 'change_seq') IS DISTINCT FROM (to_jsonb(NEW) - 'uses' - 'successes' - 'change_seq'))
  EXECUTE FUNCTION admem_learned_changed();
CREATE CONSTRAINT TRIGGER learned_items_version_delete AFTER DELETE ON learned_items
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION admem_learned_changed();
