-- Floors of `bash scripts/bench.sh http`: functions PostgREST serves from schema
-- bench_floor that do the least a request of the same size can do, so that the API's
-- latency can be read against "PostgREST, one statement, the same bytes back".
--   list_page()     the JSON of a 20-record list page, a constant
--   get_record()    the JSON of one record, a constant
--   plain_insert()  the INSERT … RETURNING of a decision_log create, with no checks
-- Run as the superuser after sql/postgrest.sql (psql -v get_id=<an existing learning_id>).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA bench_floor;

-- The constants are real answers, taken once from the data, so they have the size of what
-- the API sends (the functions read them from a table rather than parse a literal per call).
CREATE TABLE bench_floor.docs (name text PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO bench_floor.docs VALUES
    ('page', ai.learnings_list(user_id => 'user-8', "limit" => 20)),
    ('record', ai.learnings_get(:'get_id'));

CREATE FUNCTION bench_floor.list_page() RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT doc FROM bench_floor.docs WHERE name = 'page' $$;

CREATE FUNCTION bench_floor.get_record() RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT doc FROM bench_floor.docs WHERE name = 'record' $$;

-- The statement learnings_create runs for a decision_log (src/query.rs, insert), owned by
-- the table's owner so that neither row-level security nor the id rules' trigger apply:
-- what is left is the table's own cost (indexes, the counting triggers).
CREATE FUNCTION bench_floor.plain_insert(learning_type text, content jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO ai.agno_learnings (learning_id, learning_type, namespace, user_id, agent_id, team_id,
                                   session_id, entity_id, entity_type, content, metadata, created_at, updated_at)
    VALUES (gen_random_uuid()::text, plain_insert.learning_type, NULL,
            current_setting('request.jwt.claims', true)::jsonb ->> 'sub', NULL, NULL, NULL, NULL, NULL,
            plain_insert.content, NULL,
            floor(date_part('epoch', statement_timestamp()))::bigint,
            floor(date_part('epoch', statement_timestamp()))::bigint)
    ON CONFLICT (learning_id) DO NOTHING
    RETURNING jsonb_build_object(
        'learning_id', learning_id, 'learning_type', learning_type, 'namespace', namespace,
        'user_id', user_id, 'agent_id', agent_id, 'team_id', team_id, 'session_id', session_id,
        'entity_id', entity_id, 'entity_type', entity_type, 'content', content,
        'metadata', metadata, 'created_at', created_at, 'updated_at', updated_at)
$$;

REVOKE ALL ON FUNCTION bench_floor.list_page(), bench_floor.get_record(),
    bench_floor.plain_insert(text, jsonb) FROM PUBLIC;
GRANT USAGE ON SCHEMA bench_floor TO learnings_user;
GRANT SELECT ON bench_floor.docs TO learnings_user;
GRANT EXECUTE ON FUNCTION bench_floor.list_page(), bench_floor.get_record(),
    bench_floor.plain_insert(text, jsonb) TO learnings_user;
