ALTER TABLE idempotency_keys DROP COLUMN IF EXISTS lease_until;
DROP FUNCTION IF EXISTS admem_outbox_still_unsettled(bigint[]);
DROP FUNCTION IF EXISTS admem_outbox_unsettled(bigint, bigint, integer);
DROP FUNCTION IF EXISTS admem_outbox_restreamed(bigint[], text[]);
DROP FUNCTION IF EXISTS admem_outbox_mark_relayed(bigint[], text[], text[]);
DROP INDEX IF EXISTS outbox_relayed_unsettled;
ALTER TABLE outbox DROP COLUMN IF EXISTS stream_id;
