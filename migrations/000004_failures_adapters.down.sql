DROP FUNCTION IF EXISTS admem_adapter_training_due(integer, interval);
DROP FUNCTION IF EXISTS admem_active_adapters();
DROP TABLE IF EXISTS adapter_versions;
DROP TABLE IF EXISTS adapter_state;
DROP TABLE IF EXISTS adapter_examples;
DROP TABLE IF EXISTS failure_clusters;
