-- tables: other learnings tables, registered with learnings_register_table(regclass, name)
-- and reached with db_id => current_database(), "table" => name.
\set VERBOSITY default
TRUNCATE ai.agno_learnings;
CREATE SCHEMA tenant;

-- A table exactly as agno 3.1.10's PostgresDb creates one (fixtures/agno-3.1.10-learnings.sql,
-- here with another table name), holding a row agno wrote (metadata as JSON null).
CREATE TABLE tenant.team_learnings (
    learning_id character varying NOT NULL,
    learning_type character varying NOT NULL,
    namespace character varying,
    user_id character varying,
    agent_id character varying,
    team_id character varying,
    workflow_id character varying,
    session_id character varying,
    entity_id character varying,
    entity_type character varying,
    content jsonb NOT NULL,
    metadata jsonb,
    created_at bigint NOT NULL,
    updated_at bigint
);
ALTER TABLE ONLY tenant.team_learnings ADD CONSTRAINT team_learnings_pkey PRIMARY KEY (learning_id);
CREATE INDEX idx_team_learnings_created_at ON tenant.team_learnings USING btree (created_at);
CREATE INDEX idx_team_learnings_user_id ON tenant.team_learnings USING btree (user_id);
INSERT INTO tenant.team_learnings (learning_id, learning_type, user_id, team_id, content, metadata, created_at, updated_at)
VALUES ('user_profile_alice', 'user_profile', 'alice', 'team-b', '{"name": "Alice (team B)"}', 'null', 1700000000, 1700000000);

-- Unregistered, it is not reachable.
SELECT regress.try($$SELECT ai.learnings_list(db_id => current_database(), "table" => 'team_learnings')$$);

-- Registering returns the name callers use (default: the table's own name), keeps agno's
-- indexes and adds the missing ones the API's filters and sorts need.
SELECT ai.learnings_register_table('tenant.team_learnings');
\d tenant.team_learnings
SELECT name, schema_name, table_name FROM agno_learnings_internal.learnings_tables ORDER BY name;
-- Registering again changes nothing (no duplicate index, no second entry).
SET client_min_messages = warning;
SELECT ai.learnings_register_table('tenant.team_learnings');
RESET client_min_messages;
SELECT count(*) AS indexes FROM pg_indexes WHERE schemaname = 'tenant' AND tablename = 'team_learnings';
SELECT name, schema_name, table_name FROM agno_learnings_internal.learnings_tables ORDER BY name;

------------------------------------------------------------------------------------------
-- Every function works on it, and only on it.
SELECT regress.show(ai.learnings_list(db_id => current_database(), "table" => 'team_learnings'));
SELECT regress.show(ai.learnings_get('user_profile_alice', db_id => current_database(), "table" => 'team_learnings'));

-- The same identity in two tables is two records: 409 only within one table.
SELECT r ->> 'learning_id' AS learning_id, r -> 'content' AS content
  FROM ai.learnings_create(learning_type => 'user_profile', content => '{"name": "Alice (default)"}',
                           user_id => 'alice') AS r;
SELECT regress.try($$SELECT ai.learnings_create(learning_type => 'user_profile', content => '{}', user_id => 'alice',
                                                db_id => current_database(), "table" => 'team_learnings')$$);
SELECT r ->> 'learning_id' AS learning_id, r ->> 'namespace' AS namespace
  FROM ai.learnings_create(learning_type => 'entity_memory', content => '{"facts": ["team B customer"]}',
                           entity_id => 'acme', entity_type => 'company',
                           db_id => current_database(), "table" => 'team_learnings') AS r;
SELECT length(r ->> 'learning_id') AS id_length, r ->> 'user_id' AS user_id
  FROM ai.learnings_create(learning_type => 'decision_log', content => '{"decision": "d"}', user_id => 'bob',
                           db_id => current_database(), "table" => 'team_learnings') AS r;
SELECT r -> 'content' AS content, r -> 'created_at' AS created_at, regress.mask(r) -> 'updated_at' AS updated_at
  FROM ai.learnings_update('user_profile_alice', '{"content": {"name": "Alice B."}}',
                           db_id => current_database(), "table" => 'team_learnings') AS r;
-- (the two new records may tie on their times; ids shown sorted)
SELECT array(SELECT regress.mask(r) ->> 'learning_id' FROM jsonb_array_elements(l -> 'data') AS r ORDER BY 1) AS ids,
       l -> 'meta' AS meta
  FROM ai.learnings_list(db_id => current_database(), "table" => 'team_learnings') AS l;
SELECT regress.page(ai.learnings_list(learning_type => 'entity_memory', db_id => current_database(), "table" => 'team_learnings'));
SELECT regress.page(ai.learnings_list_users(db_id => current_database(), "table" => 'team_learnings', sort_by => 'user_id'));
SELECT ai.learnings_delete('entity_global_company_acme', db_id => current_database(), "table" => 'team_learnings');
SELECT ai.learnings_delete_user('bob', db_id => current_database(), "table" => 'team_learnings');
SELECT regress.try($$SELECT ai.learnings_get('entity_global_company_acme', db_id => current_database(), "table" => 'team_learnings')$$);

-- Each table holds only its own rows.
SELECT 'tenant.team_learnings' AS "table", learning_id, content FROM tenant.team_learnings
UNION ALL
SELECT 'ai.agno_learnings', learning_id, content FROM ai.agno_learnings
ORDER BY 1, 2;
-- The default table by its registered name is the same as no table at all.
SELECT regress.page(ai.learnings_list(db_id => current_database(), "table" => 'agno_learnings'))
     = regress.page(ai.learnings_list()) AS same;

------------------------------------------------------------------------------------------
-- A name of one's own, for a table with text columns (accepted in place of varchar) and
-- a quoted name; the name callers pass is the registered name, nothing else.
CREATE TABLE tenant."Archive ""2024""" (
    learning_id text PRIMARY KEY, learning_type text NOT NULL, namespace text, user_id text,
    agent_id text, team_id text, workflow_id text, session_id text, entity_id text, entity_type text,
    content jsonb NOT NULL, metadata jsonb, created_at bigint NOT NULL, updated_at bigint,
    note text DEFAULT 'archived');
SELECT ai.learnings_register_table('tenant."Archive ""2024"""', 'archive');
SELECT r ->> 'learning_id' AS learning_id
  FROM ai.learnings_create(learning_type => 'session_context', content => '{}', session_id => 's-1',
                           db_id => current_database(), "table" => 'archive') AS r;
SELECT learning_id, note FROM tenant."Archive ""2024""";
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_list(db_id => current_database(), "table" => 'Archive "2024"')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'tenant."Archive ""2024"""')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'Archive')$$)) AS c(call);
SELECT name, schema_name, table_name FROM agno_learnings_internal.learnings_tables ORDER BY name;

------------------------------------------------------------------------------------------
-- Tables of another layout are refused with a clear error, and not registered.
CREATE TABLE tenant.missing_column (LIKE tenant.team_learnings);
ALTER TABLE tenant.missing_column DROP COLUMN entity_type, DROP COLUMN workflow_id;
CREATE TABLE tenant.wrong_types (LIKE tenant.team_learnings INCLUDING ALL);
ALTER TABLE tenant.wrong_types ALTER COLUMN user_id TYPE integer USING NULL, ALTER COLUMN session_id TYPE uuid USING NULL;
CREATE TABLE tenant.extra_required (LIKE tenant.team_learnings INCLUDING ALL);
ALTER TABLE tenant.extra_required ADD COLUMN tenant_id int NOT NULL;
CREATE TABLE tenant.no_primary_key (LIKE tenant.team_learnings);
CREATE VIEW tenant.a_view AS SELECT * FROM tenant.team_learnings;
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_register_table('tenant.missing_column')$$),
  ($$learnings_register_table('tenant.wrong_types')$$),
  ($$learnings_register_table('tenant.extra_required')$$),
  ($$learnings_register_table('tenant.no_primary_key')$$),
  ($$learnings_register_table('tenant.a_view')$$),
  ($$learnings_register_table('tenant.no_such_table')$$)) AS c(call);
-- A schema that does not exist: PostgreSQL's own error, which names the schema up to 15
-- and the relation from 16 on.
SELECT regress.try($$SELECT ai.learnings_register_table('no_such_schema.agno_learnings')$$)
       ~ '^(3F000: schema "no_such_schema"|42P01: relation "no_such_schema.agno_learnings") does not exist$'
       AS refused_by_postgresql;
SELECT name FROM agno_learnings_internal.learnings_tables ORDER BY name;

------------------------------------------------------------------------------------------
-- A registered table that is dropped is no longer found (404, not an internal error).
DROP TABLE tenant."Archive ""2024""";
SELECT regress.try($$SELECT ai.learnings_list(db_id => current_database(), "table" => 'archive')$$);
SELECT regress.try($$SELECT ai.learnings_create(learning_type => 'decision_log', content => '{}',
                                                db_id => current_database(), "table" => 'archive')$$);

DROP SCHEMA tenant CASCADE;
DELETE FROM agno_learnings_internal.learnings_tables WHERE name <> 'agno_learnings';
