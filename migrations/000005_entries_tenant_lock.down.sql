DROP TRIGGER IF EXISTS tenants_delete_entries ON tenants;
DROP FUNCTION IF EXISTS admem_delete_tenant_entries();

ALTER TABLE entries ADD CONSTRAINT entries_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE entry_vectors ADD CONSTRAINT entry_vectors_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE entry_embed_queue ADD CONSTRAINT entry_embed_queue_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE entry_versions ADD CONSTRAINT entry_versions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE entry_terms ADD CONSTRAINT entry_terms_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
