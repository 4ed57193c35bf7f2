-- Each relayed event remembers the id of its entry in the Redis stream, so
-- the worker's stream recovery can tell, event by event, whether an event
-- some consumer has not settled is still on its way (undelivered, or read
-- and pending) or was lost (the entry is gone with a Redis that lost its
-- data, or was acknowledged in a past the database no longer has because
-- it was restored from a backup) and must be appended again.
ALTER TABLE outbox ADD COLUMN stream_id text;
-- The sweep's scan, in outbox order: only the relayed, unsettled rows (a
-- few while the worker keeps up), not the week of settled ones.
CREATE INDEX outbox_relayed_unsettled ON outbox (id) WHERE relayed_at IS NOT NULL AND pending_consumers <> '{}';

CREATE FUNCTION admem_outbox_mark_relayed(p_ids bigint[], p_consumers text[], p_stream_ids text[]) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  WITH s AS (SELECT * FROM unnest(p_ids, p_stream_ids) AS s (id, stream_id)),
  u AS (UPDATE outbox o SET relayed_at = now(), pending_consumers = coalesce(p_consumers, '{}'), stream_id = s.stream_id
        FROM s WHERE o.id = s.id AND o.relayed_at IS NULL RETURNING 1)
  SELECT count(*) FROM u
$$;

-- Events appended to the stream again: their new entries.
CREATE FUNCTION admem_outbox_restreamed(p_ids bigint[], p_stream_ids text[]) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  UPDATE outbox o SET stream_id = s.stream_id
  FROM unnest(p_ids, p_stream_ids) AS s (id, stream_id)
  WHERE o.id = s.id AND o.relayed_at IS NOT NULL
$$;

-- Every tenant's relayed events some consumer has not settled, relayed at
-- least p_age_ms milliseconds ago (by the database's clock), after the
-- outbox sequence number p_after, in order (outbox_relayed_unsettled).
CREATE FUNCTION admem_outbox_unsettled(p_age_ms bigint, p_after bigint, p_limit integer)
RETURNS TABLE (id bigint, event_id uuid, tenant_id uuid, type text, subject_id uuid, payload jsonb, created_at timestamptz,
  stream_id text, pending_consumers text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT o.id, o.event_id, o.tenant_id, o.type, o.subject_id, o.payload, o.created_at, o.stream_id, o.pending_consumers
  FROM outbox o
  WHERE o.relayed_at IS NOT NULL AND o.pending_consumers <> '{}'
    AND o.relayed_at <= now() - p_age_ms * interval '1 millisecond' AND o.id > p_after
  ORDER BY o.id
  LIMIT least(greatest(p_limit, 1), 1000)
$$;

-- Of p_ids, the events some consumer still has not settled.
CREATE FUNCTION admem_outbox_still_unsettled(p_ids bigint[]) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT id FROM outbox WHERE id = ANY (p_ids) AND pending_consumers <> '{}'
$$;

REVOKE ALL ON FUNCTION admem_outbox_mark_relayed(bigint[], text[], text[]), admem_outbox_restreamed(bigint[], text[]),
  admem_outbox_unsettled(bigint, bigint, integer), admem_outbox_still_unsettled(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_outbox_mark_relayed(bigint[], text[], text[]), admem_outbox_restreamed(bigint[], text[]),
  admem_outbox_unsettled(bigint, bigint, integer), admem_outbox_still_unsettled(bigint[]) TO admem_app;

-- An Idempotency-Key claimed by a request still running is renewed by it
-- (a heartbeat) until it completes: a retry meets 409 for as long as the
-- first request runs, however long, and the claim lapses only when its
-- process stopped renewing it (died). NULL: a claim made before this
-- column existed, which lapses by its age as before.
ALTER TABLE idempotency_keys ADD COLUMN lease_until timestamptz;
