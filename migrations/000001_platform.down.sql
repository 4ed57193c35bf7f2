DROP FUNCTION IF EXISTS admem_purge_idempotency(timestamptz);
DROP FUNCTION IF EXISTS admem_lookup_key(text);
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS tenants;
DROP FUNCTION IF EXISTS admem_is_platform();
DROP FUNCTION IF EXISTS admem_tenant();
