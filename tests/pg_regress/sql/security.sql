-- security: the doors the #[pg_test]s cannot open from inside one backend: a fresh
-- session in which the library is not loaded yet, and COPY through psql.
--
-- Runs as a role that is neither the table's owner nor a superuser, so row-level
-- security applies to it.
\set VERBOSITY default
TRUNCATE ai.agno_learnings;
INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, content, created_at) VALUES
    ('p_alice', 'user_profile', 'alice', '{"name": "Alice"}', 1),
    ('p_bob', 'user_profile', 'bob', '{"name": "Bob"}', 1),
    ('shared', 'entity_memory', NULL, '{"facts": []}', 1);
-- LOGIN: on Citus, the workers are reached over connections made as this role.
CREATE ROLE regress_app LOGIN;
GRANT USAGE ON SCHEMA ai, regress TO regress_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ai.agno_learnings TO regress_app;

-- A new session (the inserts above ran the library's row trigger): nothing has loaded
-- the extension's library in it yet.
\c
\set VERBOSITY default
SELECT count(*) AS loaded FROM pg_settings WHERE name = 'agno_learnings.user_isolation';

-- This superuser session stands in for PostgREST's authenticator: its claims count.
SET agno_learnings.claims_login_roles = 'postgres';

SET ROLE regress_app;
-- Before the library is loaded, PostgreSQL accepts any "x.y" setting as a placeholder,
-- even one the library will define as superuser-only…
SET agno_learnings.user_isolation = off;
SET agno_learnings.enforce_scopes = off;
SHOW agno_learnings.user_isolation;
SET request.jwt.claims = '{"sub": "alice", "scopes": "learnings:read"}';
-- …but when the first statement loads the library, the settings are defined and the
-- placeholders' values are discarded (with a WARNING): alice stays isolated.
SELECT learning_id FROM ai.agno_learnings ORDER BY learning_id;
SHOW agno_learnings.user_isolation;
SHOW agno_learnings.enforce_scopes;
-- And now the settings are the library's: changing them is refused.
SET agno_learnings.user_isolation = off;
SET agno_learnings.no_such_setting = 'x';

-- COPY TO applies the SELECT policy: alice's row and the shared one.
COPY ai.agno_learnings (learning_id, user_id, content) TO STDOUT;
COPY (SELECT learning_id FROM ai.agno_learnings ORDER BY 1) TO STDOUT;
-- COPY FROM is refused for roles subject to row-level security (PostgreSQL 15 to 18),
-- before any row is read: psql's \copy streams a file as COPY FROM STDIN (an empty one,
-- since from 16 on the refusal comes before the server asks for data). (No CONTEXT: on
-- Citus it names the worker's port.)
\set SHOW_CONTEXT never
\copy ai.agno_learnings (learning_id, learning_type, user_id, content, created_at) FROM '/dev/null'
\set SHOW_CONTEXT errors

-- Claims that are not trusted only get the caller refused.
RESET ROLE;
SET agno_learnings.trust_request_claims = off;
SET ROLE regress_app;
SET request.jwt.claims = '{"sub": "root", "scopes": "agent_os:admin"}';
SELECT count(*) AS visible FROM ai.agno_learnings;
SELECT regress.try('SELECT ai.learnings_list()');
RESET ROLE;
RESET agno_learnings.trust_request_claims;
-- By default only learnings_authenticator's sessions carry PostgREST's claims.
RESET agno_learnings.claims_login_roles;
SET ROLE regress_app;
SELECT count(*) AS visible FROM ai.agno_learnings;
SELECT regress.try('SELECT ai.learnings_list()');
RESET ROLE;
RESET request.jwt.claims;

SELECT learning_id, user_id FROM ai.agno_learnings ORDER BY learning_id;
DROP OWNED BY regress_app;
DROP ROLE regress_app;
