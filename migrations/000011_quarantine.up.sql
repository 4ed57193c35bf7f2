-- Quarantine of instruction-like content (issue 14 item 4): an entry whose
-- content tries to instruct the agent is stored with the judge's reason;
-- recall leaves it out of the prompt text until a tenant admin releases it.
-- A release holds for the content it vouched for: a new content clears it.
ALTER TABLE entries
  ADD COLUMN quarantine_reason text NOT NULL DEFAULT '' CHECK (length(quarantine_reason) <= 1000),
  ADD COLUMN quarantine_released_at timestamptz,
  ADD COLUMN quarantine_released_by uuid;

-- The admin's list of what is held.
CREATE INDEX entries_quarantined ON entries (tenant_id, created_at DESC, id DESC)
  WHERE quarantine_reason <> '' AND quarantine_released_at IS NULL;

-- Each version keeps the verdict on its content.
ALTER TABLE entry_versions ADD COLUMN quarantine_reason text NOT NULL DEFAULT '';
