ALTER TABLE entry_versions DROP COLUMN IF EXISTS quarantine_reason;
DROP INDEX IF EXISTS entries_quarantined;
ALTER TABLE entries
  DROP COLUMN IF EXISTS quarantine_released_by,
  DROP COLUMN IF EXISTS quarantine_released_at,
  DROP COLUMN IF EXISTS quarantine_reason;
