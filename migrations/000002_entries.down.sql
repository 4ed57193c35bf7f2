DROP FUNCTION IF EXISTS admem_lexical_candidates(uuid, tsquery, integer, text, text[], text, text, text, text, text[], jsonb, timestamptz, timestamptz, boolean);
DROP FUNCTION IF EXISTS admem_entries_to_embed(text);
DROP TABLE IF EXISTS entry_terms;
DROP TABLE IF EXISTS entry_stats;
DROP TABLE IF EXISTS entry_versions;
DROP TABLE IF EXISTS entry_embed_queue;
DROP TABLE IF EXISTS entry_vectors;
DROP TABLE IF EXISTS entries;
DROP SEQUENCE IF EXISTS entries_seq;
