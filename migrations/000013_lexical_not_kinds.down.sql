DROP FUNCTION IF EXISTS admem_lexical_candidates(uuid, tsquery, integer, text, text[], text, text, text, text, text[], jsonb, timestamptz, timestamptz, boolean, text[]);
