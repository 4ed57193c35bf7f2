-- admem_lexical_candidates with kinds to leave out (p_not_kinds): recall's
-- facts part searches every kind but the learned ones (mistakes and
-- procedures, which it ranks from their own index), and those must not
-- take the candidates' places. Same body as 000002's otherwise; the
-- 14-argument function stays for its callers.
CREATE FUNCTION admem_lexical_candidates(
  p_tenant uuid, p_query tsquery, p_limit integer,
  p_status text, p_kinds text[], p_key text, p_agent text, p_user text, p_session text,
  p_tags text[], p_metadata jsonb, p_created_after timestamptz, p_created_before timestamptz,
  p_include_expired boolean, p_not_kinds text[])
RETURNS TABLE (id uuid, session_id text, seq bigint, doc_len integer, lex tsvector)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF p_tenant IS DISTINCT FROM admem_tenant() THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE '
    SELECT e.id, e.session_id, e.seq, e.doc_len, e.lex FROM entries e
    WHERE e.tenant_id = $1 AND e.lex @@ $2
      AND ($4 IS NULL OR e.status = $4)
      AND ($5 IS NULL OR e.kind = ANY ($5))
      AND ($15 IS NULL OR NOT (e.kind = ANY ($15)))
      AND ($6 IS NULL OR e.key = $6)
      AND ($7 IS NULL OR e.agent_id = $7)
      AND ($8 IS NULL OR e.user_id = $8)
      AND ($9 IS NULL OR e.session_id = $9)
      AND ($10 IS NULL OR e.tags @> $10)
      AND ($11 IS NULL OR e.metadata @> $11)
      AND ($12 IS NULL OR e.created_at >= $12)
      AND ($13 IS NULL OR e.created_at < $13)
      AND ($14 OR e.expires_at IS NULL OR e.expires_at > now())
    LIMIT $3'
  USING p_tenant, p_query, p_limit, p_status, p_kinds, p_key, p_agent, p_user, p_session,
    p_tags, p_metadata, p_created_after, p_created_before, p_include_expired, p_not_kinds;
END
$$;
REVOKE ALL ON FUNCTION admem_lexical_candidates(uuid, tsquery, integer, text, text[], text, text, text, text, text[], jsonb, timestamptz, timestamptz, boolean, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_lexical_candidates(uuid, tsquery, integer, text, text[], text, text, text, text, text[], jsonb, timestamptz, timestamptz, boolean, text[]) TO admem_app;
