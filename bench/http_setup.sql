-- The data of `bash scripts/bench.sh http`, loaded as the superuser (psql -v rows=N).
-- :rows learnings over 10,000 users (user-0 … user-9999), 5% shared (user_id NULL), the five
-- learning types mixed within every user, ~300 bytes of content.
--
-- Every row gets a distinct sort key COALESCE(updated_at, created_at): agno orders by it
-- alone while the extension adds learning_id, so with ties the two could pick different
-- rows for the same page. Never-updated rows keep created_at (1.6e9 + g); the others get an
-- updated_at that is a permutation of g ((g * 7919) mod the prime 10000019 is one-to-one for
-- g below it), so updates are spread over the table as in a live deployment.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA ai;
CREATE EXTENSION agno_learnings SCHEMA ai;

SET synchronous_commit = off;
-- The id rules' trigger lets the owner's rows through anyway; disabled, the load skips one
-- call per row. The counting statement triggers stay on, so list totals are exact.
ALTER TABLE ai.agno_learnings DISABLE TRIGGER learnings_guard_row;
INSERT INTO ai.agno_learnings (learning_id, learning_type, namespace, user_id, agent_id, session_id,
                               entity_id, entity_type, content, created_at, updated_at)
SELECT gen_random_uuid()::text,
       (ARRAY['user_profile', 'user_memory', 'session_context', 'entity_memory', 'decision_log'])[1 + (g + g / 10000) % 5],
       CASE WHEN (g + g / 10000) % 5 = 3 THEN 'global' END,
       -- the user is g mod 10000; one row in 20 of each user's slots is shared instead
       CASE WHEN (g + g / 10000) % 20 <> 7 THEN 'user-' || (g % 10000) END,
       'agent' || (g % 50), 'session' || (g % 100000), 'entity' || (g % 5000), 'type' || (g % 10),
       jsonb_build_object('n', g, 'text', repeat('learned something about the user ', 8)),
       1600000000 + g,
       CASE WHEN g % 3 <> 0 THEN 1700000000 + (g::bigint * 7919) % 10000019 END
  FROM generate_series(1, :rows) AS g;
ALTER TABLE ai.agno_learnings ENABLE TRIGGER learnings_guard_row;
VACUUM ANALYZE ai.agno_learnings;
