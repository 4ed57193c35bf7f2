-- Learning status (GET /v1/learning/status): which of a tenant's events the
-- worker has not finished yet. The relay writes, with each event it marks
-- relayed, the ledger names of the consumers it waits for (the worker's
-- list, internal/events.Consumers); each consumer removes its name once the
-- event's effect committed (or it gave the event up as a dead letter). An
-- event is pending while it is not relayed or a name is left, so the status
-- reads only pending rows, through a partial index that holds just those.
ALTER TABLE outbox ADD COLUMN pending_consumers text[] NOT NULL DEFAULT '{}';
CREATE INDEX outbox_unsettled ON outbox (tenant_id, created_at)
  WHERE relayed_at IS NULL OR pending_consumers <> '{}';

CREATE FUNCTION admem_outbox_mark_relayed(p_ids bigint[], p_consumers text[]) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  WITH u AS (UPDATE outbox SET relayed_at = now(), pending_consumers = coalesce(p_consumers, '{}')
             WHERE id = ANY (p_ids) AND relayed_at IS NULL RETURNING 1)
  SELECT count(*) FROM u
$$;

-- A consumer finished the event (of the transaction's tenant). The WHERE
-- clause deliberately does not test the name: a consumer may finish an event
-- before the relay that published it committed, and the update must then
-- wait for the relay's row lock and remove the name from the row the relay
-- wrote, rather than skip the old row version that has no names yet.
CREATE FUNCTION admem_outbox_settle(p_event uuid, p_consumer text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  UPDATE outbox SET pending_consumers = array_remove(pending_consumers, p_consumer)
  WHERE event_id = p_event AND tenant_id = admem_tenant()
$$;

REVOKE ALL ON FUNCTION admem_outbox_mark_relayed(bigint[], text[]), admem_outbox_settle(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_outbox_mark_relayed(bigint[], text[]), admem_outbox_settle(uuid, text) TO admem_app;
