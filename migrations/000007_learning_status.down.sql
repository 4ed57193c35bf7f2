DROP FUNCTION IF EXISTS admem_outbox_settle(uuid, text);
DROP FUNCTION IF EXISTS admem_outbox_mark_relayed(bigint[], text[]);
DROP INDEX IF EXISTS outbox_unsettled;
ALTER TABLE outbox DROP COLUMN IF EXISTS pending_consumers;
