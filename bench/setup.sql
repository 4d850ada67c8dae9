-- 100,000 learnings like the EXPLAIN tests' (src/tests/explain.rs): 1,000 users, one
-- heavy user with 5,000 rows, 30% shared rows, a third never updated.
CREATE SCHEMA IF NOT EXISTS ai;
CREATE EXTENSION IF NOT EXISTS agno_learnings SCHEMA ai;
TRUNCATE ai.agno_learnings;
INSERT INTO ai.agno_learnings (learning_id, learning_type, namespace, user_id, agent_id, team_id,
                               session_id, entity_id, entity_type, content, created_at, updated_at)
SELECT 'id' || g, (ARRAY['user_profile', 'user_memory', 'session_context', 'entity_memory', 'decision_log'])[1 + g % 5],
       CASE WHEN g % 5 = 3 THEN 'ns' || (g % 7) END,
       CASE WHEN g % 20 = 1 THEN 'heavy' WHEN g % 10 < 7 THEN 'user' || (g % 1000) END,
       'agent' || (g % 50), 'team' || (g % 20), 'session' || (g % 10000),
       'entity' || (g % 5000), 'type' || (g % 10),
       jsonb_build_object('n', g, 'facts', jsonb_build_array('a fact', 'another fact')),
       1700000000 + g, CASE WHEN g % 3 <> 0 THEN 1700000000 + g + (g % 1000) END
  FROM generate_series(1, 100000) AS g;
VACUUM ANALYZE ai.agno_learnings;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_client') THEN
        CREATE ROLE bench_client LOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA ai TO bench_client;
GRANT SELECT, INSERT, UPDATE, DELETE ON ai.agno_learnings TO bench_client;
-- The scoped pair sets PostgREST-style claims from bench_client's own sessions: trust
-- them there, as a deployment trusts its PostgREST authenticator's.
ALTER ROLE bench_client SET agno_learnings.claims_login_roles = 'bench_client';
