-- Learning from failure: failure clusters (failure signatures as resources),
-- the labelled steps the procedural adapter trains on, each tenant's training
-- state (reservoir and watermark), and the versioned adapter artifacts.
-- Row-level security as in 000001: every table is keyed on admem_tenant().

CREATE TABLE failure_clusters (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  signature_id    text NOT NULL,
  signature       text NOT NULL,
  tool            text NOT NULL DEFAULT '',
  error_class     text NOT NULL DEFAULT '',
  template        text NOT NULL DEFAULT '',
  centroid        vector,
  embedder_id     text NOT NULL DEFAULT '',
  count           integer NOT NULL DEFAULT 0 CHECK (count >= 0),
  first_seen_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now(),
  -- affected actions: canonical action pattern → times seen
  actions         jsonb NOT NULL DEFAULT '{}',
  -- the most recent distinct trajectories, newest last, at most 20
  exemplars       text[] NOT NULL DEFAULT '{}',
  -- the cluster's mistake note (when, doing, corrections), as the learner wrote it
  note            jsonb NOT NULL DEFAULT '{}',
  label           text NOT NULL DEFAULT '',
  suppressed      boolean NOT NULL DEFAULT false,
  merged_into     uuid REFERENCES failure_clusters (id) ON DELETE SET NULL,
  split_from      uuid REFERENCES failure_clusters (id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (merged_into IS DISTINCT FROM id)
);
CREATE INDEX failure_clusters_signature ON failure_clusters (tenant_id, signature_id) WHERE merged_into IS NULL;
CREATE INDEX failure_clusters_tool ON failure_clusters (tenant_id, tool) WHERE merged_into IS NULL;
CREATE INDEX failure_clusters_recent ON failure_clusters (tenant_id, last_seen_at DESC, id DESC);

-- One labelled step: the adapter's training example. The (trajectory, step)
-- key makes recording idempotent: an event processed twice adds nothing.
CREATE TABLE adapter_examples (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  trajectory_id  text NOT NULL,
  step_index     integer NOT NULL,
  embedder_id    text NOT NULL,
  context        real[] NOT NULL,
  action         real[] NOT NULL,
  action_text    text NOT NULL DEFAULT '',
  failed         boolean NOT NULL,
  cluster_id     uuid REFERENCES failure_clusters (id) ON DELETE SET NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, trajectory_id, step_index)
);
CREATE INDEX adapter_examples_tenant ON adapter_examples (tenant_id, id);
CREATE INDEX adapter_examples_cluster ON adapter_examples (cluster_id) WHERE cluster_id IS NOT NULL;

-- Per-tenant training state: the examples already trained on (watermark),
-- the replay reservoir, and when training last ran.
CREATE TABLE adapter_state (
  tenant_id        uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  trained_through  bigint NOT NULL DEFAULT 0,
  reservoir        bytea,
  last_trained_at  timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE adapter_versions (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  version       integer NOT NULL CHECK (version > 0),
  status        text NOT NULL CHECK (status IN ('candidate', 'active', 'rejected', 'retired')),
  blob          bytea NOT NULL,
  metrics       jsonb NOT NULL DEFAULT '{}',
  gate          jsonb NOT NULL DEFAULT '{}',
  embedder_id   text NOT NULL,
  dim           integer NOT NULL,
  rank          integer NOT NULL,
  train_examples integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  activated_at  timestamptz,
  activated_by  text NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, version)
);
-- At most one active version per tenant: activation is one statement that
-- retires the old row and activates the new one.
CREATE UNIQUE INDEX adapter_versions_one_active ON adapter_versions (tenant_id) WHERE status = 'active';

ALTER TABLE failure_clusters ENABLE ROW LEVEL SECURITY;
CREATE POLICY failure_clusters_isolation ON failure_clusters
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
ALTER TABLE adapter_examples ENABLE ROW LEVEL SECURITY;
CREATE POLICY adapter_examples_isolation ON adapter_examples
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
ALTER TABLE adapter_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY adapter_state_isolation ON adapter_state
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
ALTER TABLE adapter_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY adapter_versions_isolation ON adapter_versions
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON failure_clusters, adapter_examples, adapter_state, adapter_versions TO admem_app;

-- API replicas poll which version is active for every tenant (the fallback
-- to pub/sub). Only (tenant, version) leaves this function, never a blob.
CREATE FUNCTION admem_active_adapters()
RETURNS TABLE (tenant_id uuid, version integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT tenant_id, version FROM adapter_versions WHERE status = 'active'
$$;
REVOKE ALL ON FUNCTION admem_active_adapters() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_active_adapters() TO admem_app;

-- The worker finds the tenants whose adapter is due for training: at least
-- p_min_new examples past the watermark, or any new example and the last
-- training older than p_max_age.
CREATE FUNCTION admem_adapter_training_due(p_min_new integer, p_max_age interval)
RETURNS TABLE (tenant_id uuid, new_examples bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT e.tenant_id, count(*)
  FROM adapter_examples e
  LEFT JOIN adapter_state s ON s.tenant_id = e.tenant_id
  WHERE e.id > coalesce(s.trained_through, 0)
  GROUP BY e.tenant_id, s.last_trained_at
  HAVING count(*) >= p_min_new
      OR coalesce(s.last_trained_at, '-infinity') < now() - p_max_age
$$;
REVOKE ALL ON FUNCTION admem_adapter_training_due(integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_adapter_training_due(integer, interval) TO admem_app;
