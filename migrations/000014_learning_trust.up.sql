-- Trust in what learning suggests (issue 14, items 2 and 3).
--
-- Independent evidence: what one source reports may make guard warn, but
-- blocking, and any claim against the tenant's own successful history of
-- the very call, needs learning_quorum independent sources (distinct keys
-- and distinct agents, as retire_quorum counts them) or a key an admin
-- marked trusted for learning.
ALTER TABLE learning_settings ADD COLUMN learning_quorum integer NOT NULL DEFAULT 2 CHECK (learning_quorum BETWEEN 1 AND 100);
ALTER TABLE api_keys ADD COLUMN trusted_for_learning boolean NOT NULL DEFAULT false;

-- Dangerous actions: what a tenant declared a tool does (as MCP's
-- readOnlyHint / destructiveHint say it). Tools without a row are classed
-- from their names (internal/toolclass).
CREATE TABLE tool_annotations (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  tool          text NOT NULL CHECK (length(tool) BETWEEN 1 AND 200),
  class         text NOT NULL CHECK (class IN ('read_only', 'writes', 'destructive')),
  actor_key_id  uuid,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, tool)
);

-- Replacements an admin confirmed: guard may suggest calling to_tool
-- instead of from_tool even when to_tool writes or destroys.
CREATE TABLE tool_replacements (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  from_tool     text NOT NULL CHECK (length(from_tool) BETWEEN 1 AND 200),
  to_tool       text NOT NULL CHECK (length(to_tool) BETWEEN 1 AND 200),
  actor_key_id  uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, from_tool, to_tool)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tool_annotations', 'tool_replacements'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant())',
                   t || '_isolation', t);
  END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON tool_annotations, tool_replacements TO admem_app;
