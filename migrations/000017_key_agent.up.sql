-- A key may be issued to one agent: whatever agent ids its requests name,
-- learning counts what it reports as that agent's, so that two keys of
-- one agent are one source (docs/trust.md: independent evidence).
ALTER TABLE api_keys ADD COLUMN agent_id text CHECK (agent_id IS NULL OR length(agent_id) BETWEEN 1 AND 200);
