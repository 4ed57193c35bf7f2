DROP INDEX IF EXISTS mistake_occurrences_signature;
ALTER TABLE mistake_occurrences DROP COLUMN agent_id, DROP COLUMN session_id, DROP COLUMN created_at;
DROP TABLE tool_histories;
DELETE FROM learned_items WHERE kind = 'mistake' AND key NOT LIKE 'v1:%';
UPDATE learned_items SET status = 'active', key = substr(key, 4) WHERE kind = 'mistake' AND key LIKE 'v1:%';
DROP INDEX IF EXISTS learned_items_tool;
ALTER TABLE learned_items DROP COLUMN tool, DROP COLUMN meaning;
