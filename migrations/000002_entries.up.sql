-- Factual memory: versioned entries with provenance, the lexical (BM25) and
-- vector indexes behind hybrid search, and the per-tenant term statistics
-- BM25 needs.
--
-- entries is hash-partitioned by tenant so that each partition's GIN and HNSW
-- indexes hold about 1/16 of the tenants: a tenant's filtered index scans
-- wade through 16x fewer other tenants' rows than in one shared index.

CREATE SEQUENCE entries_seq AS bigint;

CREATE TABLE entries (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id            uuid NOT NULL DEFAULT gen_random_uuid(),
  -- seq orders entries by insertion, e.g. the turns of a session.
  seq           bigint NOT NULL DEFAULT nextval('entries_seq'),
  kind          text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  key           text NOT NULL DEFAULT '' CHECK (length(key) <= 200),
  content       text NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}',
  tags          text[] NOT NULL DEFAULT '{}',
  agent_id      text NOT NULL DEFAULT '',
  user_id       text NOT NULL DEFAULT '',
  session_id    text NOT NULL DEFAULT '',
  expires_at    timestamptz,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'deleted')),
  version       integer NOT NULL DEFAULT 1,
  uses          integer NOT NULL DEFAULT 0,
  successes     integer NOT NULL DEFAULT 0,
  seen_count    integer NOT NULL DEFAULT 1,
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- The lexical analyser's terms (internal/lexical), one lexeme per distinct
  -- term with as many positions as occurrences: the term frequency.
  lex           tsvector NOT NULL,
  doc_len       integer NOT NULL,
  PRIMARY KEY (tenant_id, id)
) PARTITION BY HASH (tenant_id);

DO $$
BEGIN
  FOR i IN 0..15 LOOP
    EXECUTE format('CREATE TABLE entries_p%s PARTITION OF entries FOR VALUES WITH (modulus 16, remainder %s)', i, i);
  END LOOP;
END
$$;

CREATE INDEX entries_list ON entries (tenant_id, created_at DESC, id DESC);
-- One live entry per key and scope: concurrent writes of one key cannot
-- both ADD.
CREATE UNIQUE INDEX entries_key ON entries (tenant_id, kind, key, agent_id, user_id, session_id) WHERE key <> '' AND status <> 'deleted';
CREATE INDEX entries_user ON entries (tenant_id, user_id) WHERE user_id <> '';
CREATE INDEX entries_session ON entries (tenant_id, session_id, seq) WHERE session_id <> '';
-- Every GIN search scans the index's whole pending list of not yet merged
-- insertions; the default 4 MB list cost ~40 ms per search after a bulk load.
-- A 256 kB list keeps that near a millisecond and merges more often.
CREATE INDEX entries_lex ON entries USING gin (lex) WITH (gin_pending_list_limit = 256);
CREATE INDEX entries_tags ON entries USING gin (tags) WITH (gin_pending_list_limit = 256);
CREATE INDEX entries_metadata ON entries USING gin (metadata jsonb_path_ops) WITH (gin_pending_list_limit = 256);
-- Vectors live beside the entries, one row per entry and vector space
-- (embedder), so that adding one is an insert into this narrow table and its
-- HNSW index rather than an update of the entry and all its indexes. Search
-- compares only vectors of one space. There is no foreign key to entries (a
-- per-row check through the partitions would halve the ingest rate): the
-- store deletes an entry's vectors with it.
CREATE TABLE entry_vectors (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  entry_id   uuid NOT NULL,
  embedder   text NOT NULL,
  embedding  vector NOT NULL,
  PRIMARY KEY (tenant_id, entry_id, embedder)
) PARTITION BY HASH (tenant_id);

DO $$
BEGIN
  FOR i IN 0..15 LOOP
    EXECUTE format('CREATE TABLE entry_vectors_p%s PARTITION OF entry_vectors FOR VALUES WITH (modulus 16, remainder %s)', i, i);
  END LOOP;
END
$$;

-- One HNSW index per common dimension (a vector column without a fixed
-- dimension cannot be indexed directly). Other dimensions are searched exactly.
-- ef_construction 40 (pgvector's default is 64) makes inserts about a third
-- cheaper; the vector ranker only feeds a fusion, where its recall matters less.
CREATE INDEX entry_vectors_hnsw_100 ON entry_vectors USING hnsw ((embedding::vector(100)) vector_cosine_ops) WITH (m = 16, ef_construction = 40) WHERE vector_dims(embedding) = 100;
CREATE INDEX entry_vectors_hnsw_384 ON entry_vectors USING hnsw ((embedding::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 40) WHERE vector_dims(embedding) = 384;
CREATE INDEX entry_vectors_hnsw_768 ON entry_vectors USING hnsw ((embedding::vector(768)) vector_cosine_ops) WITH (m = 16, ef_construction = 40) WHERE vector_dims(embedding) = 768;
CREATE INDEX entry_vectors_hnsw_1536 ON entry_vectors USING hnsw ((embedding::vector(1536)) vector_cosine_ops) WITH (m = 16, ef_construction = 40) WHERE vector_dims(embedding) = 1536;

-- Entries waiting for a vector in the active space, written in the same
-- transaction as the entry so none is ever forgotten; the embedder pops
-- them with SKIP LOCKED.
CREATE TABLE entry_embed_queue (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  entry_id   uuid NOT NULL,
  seq        bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (tenant_id, entry_id)
);
CREATE INDEX entry_embed_queue_order ON entry_embed_queue (tenant_id, seq);

-- Immutable versions with provenance. Purged only by right-to-be-forgotten
-- (the store deletes them with their entry; no per-row foreign key check).
CREATE TABLE entry_versions (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  entry_id      uuid NOT NULL,
  version       integer NOT NULL,
  operation     text NOT NULL CHECK (operation IN ('ADD', 'UPDATE', 'DELETE', 'ROLLBACK')),
  key           text NOT NULL DEFAULT '',
  content       text NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}',
  tags          text[] NOT NULL DEFAULT '{}',
  expires_at    timestamptz,
  status        text NOT NULL,
  actor_key_id  uuid,
  source        text NOT NULL CHECK (source IN ('request', 'trajectory', 'worker')),
  source_id     text NOT NULL DEFAULT '',
  reason        text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, entry_id, version)
);

-- BM25 statistics of a tenant's active entries, kept on write.
CREATE TABLE entry_stats (
  tenant_id   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  doc_count   bigint NOT NULL DEFAULT 0,
  total_len   bigint NOT NULL DEFAULT 0
);

CREATE TABLE entry_terms (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  term       text NOT NULL,
  df         integer NOT NULL,
  PRIMARY KEY (tenant_id, term)
);

ALTER TABLE entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY entries_isolation ON entries
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
ALTER TABLE entry_vectors ENABLE ROW LEVEL SECURITY;
CREATE POLICY entry_vectors_isolation ON entry_vectors
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
ALTER TABLE entry_embed_queue ENABLE ROW LEVEL SECURITY;
CREATE POLICY entry_embed_queue_isolation ON entry_embed_queue
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
ALTER TABLE entry_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY entry_versions_isolation ON entry_versions
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
ALTER TABLE entry_stats ENABLE ROW LEVEL SECURITY;
CREATE POLICY entry_stats_isolation ON entry_stats
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
ALTER TABLE entry_terms ENABLE ROW LEVEL SECURITY;
CREATE POLICY entry_terms_isolation ON entry_terms
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON entries, entry_vectors, entry_embed_queue, entry_versions, entry_stats, entry_terms TO admem_app;
GRANT USAGE, SELECT ON SEQUENCE entries_seq TO admem_app;

-- The embedding job runs across tenants: it lists the tenants with entries
-- waiting in the queue or vectors in another (non-client) space than the
-- active one, then works inside each tenant.
CREATE FUNCTION admem_entries_to_embed(p_embedder text) RETURNS TABLE (tenant_id uuid, switching boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT x.tenant_id, bool_or(x.switching) FROM (
    SELECT DISTINCT q.tenant_id, false AS switching FROM entry_embed_queue q
    UNION ALL
    SELECT DISTINCT v.tenant_id, true FROM entry_vectors v
    WHERE v.embedder <> p_embedder AND v.embedder NOT LIKE 'client:%'
  ) x GROUP BY x.tenant_id
$$;
REVOKE ALL ON FUNCTION admem_entries_to_embed(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_entries_to_embed(text) TO admem_app;

-- BM25 candidates: the entries of the caller's tenant whose terms match a
-- tsquery, with the search filters. Row-level security keeps the planner
-- from using the GIN index for @@ (ts_match_vq is not leakproof, so it may
-- only run after the policy's filter: a sequential scan of the tenant), so
-- this runs with the owner's rights and checks the tenant itself: it answers
-- only for the tenant of the current transaction.
CREATE FUNCTION admem_lexical_candidates(
  p_tenant uuid, p_query tsquery, p_limit integer,
  p_status text, p_kinds text[], p_key text, p_agent text, p_user text, p_session text,
  p_tags text[], p_metadata jsonb, p_created_after timestamptz, p_created_before timestamptz,
  p_include_expired boolean)
RETURNS TABLE (id uuid, session_id text, seq bigint, doc_len integer, lex tsvector)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF p_tenant IS DISTINCT FROM admem_tenant() THEN
    RETURN;
  END IF;
  -- EXECUTE plans with the values known, so only the tenant's partition is
  -- planned and scanned.
  RETURN QUERY EXECUTE '
    SELECT e.id, e.session_id, e.seq, e.doc_len, e.lex FROM entries e
    WHERE e.tenant_id = $1 AND e.lex @@ $2
      AND ($4 IS NULL OR e.status = $4)
      AND ($5 IS NULL OR e.kind = ANY ($5))
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
    p_tags, p_metadata, p_created_after, p_created_before, p_include_expired;
END
$$;
REVOKE ALL ON FUNCTION admem_lexical_candidates(uuid, tsquery, integer, text, text[], text, text, text, text, text[], jsonb, timestamptz, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_lexical_candidates(uuid, tsquery, integer, text, text[], text, text, text, text, text[], jsonb, timestamptz, timestamptz, boolean) TO admem_app;
