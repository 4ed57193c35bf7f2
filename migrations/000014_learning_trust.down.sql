DROP TABLE IF EXISTS tool_replacements;
DROP TABLE IF EXISTS tool_annotations;
ALTER TABLE api_keys DROP COLUMN IF EXISTS trusted_for_learning;
ALTER TABLE learning_settings DROP COLUMN IF EXISTS learning_quorum;
