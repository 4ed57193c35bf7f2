-- Platform foundation: tenants, API keys, audit log, idempotency records.
-- Every tenant-owned table has row-level security keyed on the transaction-local
-- setting admem.tenant_id; the application role has no BYPASSRLS (and does not own
-- the tables, so RLS applies to it without FORCE), so a query
-- that forgets its tenant filter still sees only the current tenant's rows.

CREATE EXTENSION IF NOT EXISTS vector;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'admem_app') THEN
    CREATE ROLE admem_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END
$$;

-- admem_tenant() is the tenant of the current transaction, or NULL.
CREATE FUNCTION admem_tenant() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('admem.tenant_id', true), '')::uuid
$$;

-- admem_is_platform() is true when the transaction acts for the platform admin.
CREATE FUNCTION admem_is_platform() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('admem.platform', true), '') = 'on'
$$;

CREATE TABLE tenants (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
  display_name  text NOT NULL DEFAULT '',
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  is_platform   boolean NOT NULL DEFAULT false,
  rate_rps      double precision CHECK (rate_rps > 0),
  rate_burst    integer CHECK (rate_burst > 0),
  settings      jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
-- At most one platform tenant.
CREATE UNIQUE INDEX tenants_one_platform ON tenants (is_platform) WHERE is_platform;

CREATE TABLE api_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name          text NOT NULL,
  prefix        text NOT NULL UNIQUE,
  secret_hash   bytea NOT NULL,
  scopes        text[] NOT NULL,
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at DESC, id);

CREATE TABLE audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  actor_key_id uuid,
  action       text NOT NULL,
  target_type  text NOT NULL DEFAULT '',
  target_id    text NOT NULL DEFAULT '',
  details      jsonb NOT NULL DEFAULT '{}',
  request_id   text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id DESC);

CREATE TABLE idempotency_keys (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key           text NOT NULL,
  request_hash  bytea NOT NULL,
  status        integer,
  content_type  text,
  body          bytea,
  created_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz,
  PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenants_isolation ON tenants
  USING (id = admem_tenant() OR admem_is_platform())
  WITH CHECK (admem_is_platform());

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_keys_isolation ON api_keys
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_isolation ON audit_log
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_isolation ON idempotency_keys
  USING (tenant_id = admem_tenant()) WITH CHECK (tenant_id = admem_tenant());

-- Authentication happens before the tenant is known, so the key lookup by its
-- public prefix runs with the owner's rights in this one narrow function.
CREATE FUNCTION admem_lookup_key(p_prefix text)
RETURNS TABLE (
  id uuid, tenant_id uuid, secret_hash bytea, scopes text[], expires_at timestamptz,
  revoked_at timestamptz, tenant_status text, is_platform boolean,
  rate_rps double precision, rate_burst integer
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT k.id, k.tenant_id, k.secret_hash, k.scopes, k.expires_at, k.revoked_at,
         t.status, t.is_platform, t.rate_rps, t.rate_burst
  FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
  WHERE k.prefix = p_prefix
$$;
REVOKE ALL ON FUNCTION admem_lookup_key(text) FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO admem_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, api_keys, audit_log, idempotency_keys TO admem_app;
GRANT EXECUTE ON FUNCTION admem_lookup_key(text), admem_tenant(), admem_is_platform() TO admem_app;

-- Tables and sequences that later migrations create are the app's to use too.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO admem_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO admem_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO admem_app;

-- The worker purges expired idempotency records of every tenant.
CREATE FUNCTION admem_purge_idempotency(p_before timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  WITH d AS (DELETE FROM idempotency_keys WHERE created_at < p_before RETURNING 1)
  SELECT count(*) FROM d
$$;
REVOKE ALL ON FUNCTION admem_purge_idempotency(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admem_purge_idempotency(timestamptz) TO admem_app;
