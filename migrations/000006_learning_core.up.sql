-- Learning core v2: one mistake model. A mistake is a learned item of kind
-- 'mistake' (one per error signature) whose state is the model's Mistake;
-- its rule is fitted on, and refuted by, the recent calls of its tool,
-- kept per tool in tool_histories. The failed steps a mistake counted are
-- its evidence, with where they came from (mistake_occurrences).

ALTER TABLE learned_items
  -- the tool a mistake is about, so guard and the worker load a tool's
  -- mistakes only
  ADD COLUMN tool text NOT NULL DEFAULT '',
  -- a digest of what the item says (its rule, kind and fixes): a new
  -- version is written when it changes, not when its counters do
  ADD COLUMN meaning text NOT NULL DEFAULT '';
CREATE INDEX learned_items_tool ON learned_items (tenant_id, tool) WHERE kind = 'mistake';

CREATE TABLE tool_histories (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  tool        text NOT NULL,
  -- the tool's recent calls (mistake.Tool, JSON)
  state       bytea NOT NULL,
  calls       bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, tool)
);
ALTER TABLE tool_histories ENABLE ROW LEVEL SECURITY;
CREATE POLICY tool_histories_isolation ON tool_histories
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tool_histories TO admem_app;

-- Provenance of each counted failure.
ALTER TABLE mistake_occurrences
  ADD COLUMN agent_id text NOT NULL DEFAULT '',
  ADD COLUMN session_id text NOT NULL DEFAULT '',
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX mistake_occurrences_signature ON mistake_occurrences (tenant_id, signature_id);

-- The notes of the first learner are not the model's mistakes: they are
-- retired (their versions stay readable), and every closed trajectory is
-- learnt again by the worker from a fresh event.
UPDATE learned_items SET status = 'retired', key = 'v1:' || key WHERE kind = 'mistake';
DELETE FROM mistake_occurrences;
INSERT INTO outbox (tenant_id, type, subject_id, payload)
  SELECT tenant_id, 'trajectory.recorded', id, '{}'::jsonb FROM trajectories WHERE NOT open;
