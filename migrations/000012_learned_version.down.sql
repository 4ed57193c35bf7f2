DROP TRIGGER IF EXISTS learned_items_version_delete ON learned_items;
DROP TRIGGER IF EXISTS learned_items_version_update ON learned_items;
DROP TRIGGER IF EXISTS learned_items_version_insert ON learned_items;
DROP FUNCTION IF EXISTS admem_learned_changed();
DROP INDEX IF EXISTS learned_items_changes;
ALTER TABLE learned_items DROP COLUMN IF EXISTS change_seq;
DROP TABLE IF EXISTS learned_versions;
