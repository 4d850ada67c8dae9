-- PostgREST for agno_learnings: the roles and the pre-request hook an operator applies
-- once, as a superuser, after CREATE EXTENSION agno_learnings SCHEMA <schema>:
--
--     psql -v schema=ai -f sql/postgrest.sql
--
-- Roles (rename them here and in postgrest/postgrest.conf together):
--   learnings_authenticator  PostgREST logs in as it; it can only switch to the two below.
--   learnings_anon           requests without a token; no access to learnings, so they end
--                            in 401.
--   learnings_user           requests with a token; may call the API and use the table,
--                            under row-level security.
--
-- AgentOS's tokens carry no `role` claim, so PostgREST runs them as its anonymous role.
-- The pre-request hook moves a request that carried a bearer token to learnings_user;
-- the extension then reads who the caller is from the token's claims.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
\if :{?schema}
\else
\set schema ai
\endif

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'learnings_anon') THEN
        CREATE ROLE learnings_anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'learnings_user') THEN
        CREATE ROLE learnings_user NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'learnings_authenticator') THEN
        -- Give it a password (ALTER ROLE … PASSWORD) when PostgREST connects over TCP.
        CREATE ROLE learnings_authenticator LOGIN NOINHERIT;
    END IF;
END
$roles$;

GRANT learnings_anon, learnings_user TO learnings_authenticator;

-- On Citus, a request's shard queries reach the workers over connections Citus opens as
-- the role the request runs as, so learnings_user must be able to log in there (admit it
-- in the workers' pg_hba.conf from the coordinator only; docs/scaling.md).
DO $citus$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        ALTER ROLE learnings_user LOGIN;
    END IF;
END
$citus$;

-- learnings_user: the API and the table, nothing else; row-level security applies.
GRANT USAGE ON SCHEMA :"schema" TO learnings_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON :"schema".agno_learnings TO learnings_user;
GRANT EXECUTE ON FUNCTION
    :"schema".learnings_list(text, text, text, text, text, text, text, text, integer, integer, text, text, text, text),
    :"schema".learnings_create(text, jsonb, text, text, text, text, text, text, text, jsonb, text, text),
    :"schema".learnings_get(text, text, text),
    :"schema".learnings_update(text, jsonb, text, text),
    :"schema".learnings_delete(text, text, text),
    :"schema".learnings_list_users(text, text, integer, integer, text, text, text, text),
    :"schema".learnings_delete_user(text, text, text, text)
    TO learnings_user;

-- learnings_anon: only what PostgREST needs to run the hook; the API functions stay
-- callable (PostgreSQL grants EXECUTE to PUBLIC) and answer it with 401.
CREATE SCHEMA IF NOT EXISTS learnings_postgrest;
REVOKE ALL ON SCHEMA learnings_postgrest FROM PUBLIC;
GRANT USAGE ON SCHEMA learnings_postgrest TO learnings_anon, learnings_user;
GRANT USAGE ON SCHEMA :"schema" TO learnings_anon;
-- The hook calls agno_learnings_internal.learnings_forward_caller() (Citus); the schema
-- is not served, and its other functions are the policies' helpers.
GRANT USAGE ON SCHEMA agno_learnings_internal TO learnings_anon, learnings_user;

-- Moves a request that carried a token to learnings_user, and ends every other request
-- but the OpenAPI document at / in 401, so that no path (the registry, the extension's
-- helper functions) answers an anonymous caller. No SET clause (it would undo the SET
-- LOCAL ROLE when the function returns), so every name is schema-qualified instead.
CREATE OR REPLACE FUNCTION learnings_postgrest.pre_request() RETURNS void
LANGUAGE plpgsql
AS $pre_request$
DECLARE
    has_token boolean;
    -- Since 0.4.0 (a database rolled back to 0.3.0 keeps working with this hook).
    forward   boolean := pg_catalog.to_regprocedure(
                             'agno_learnings_internal.learnings_forward_caller()') IS NOT NULL;
BEGIN
    IF current_user OPERATOR(pg_catalog.<>) 'learnings_anon' THEN
        IF forward THEN
            PERFORM agno_learnings_internal.learnings_forward_caller();
        END IF;
        RETURN;
    END IF;
    BEGIN
        has_token := EXISTS (SELECT FROM pg_catalog.json_object_keys(
                                 COALESCE(NULLIF(pg_catalog.current_setting('request.jwt.claims', true), ''),
                                          '{}')::pg_catalog.json) AS k
                              WHERE k OPERATOR(pg_catalog.<>) 'role');
    EXCEPTION WHEN untranslatable_character THEN
        -- A verified token whose claims hold a "\u0000" escape, which PostgreSQL's JSON
        -- functions refuse (a 400): it is a token; the extension refuses the claim (401).
        has_token := true;
    END;
    IF has_token THEN
        SET LOCAL ROLE learnings_user;
        -- On Citus, the workers holding the rows learn who is calling (src/caller/forward.rs).
        IF forward THEN
            PERFORM agno_learnings_internal.learnings_forward_caller();
        END IF;
    ELSIF pg_catalog.current_setting('request.path', true) IS DISTINCT FROM '/' THEN
        RAISE SQLSTATE 'PGRST' USING
            MESSAGE = '{"code": "PT401", "message": "Authentication required: the request carries no token", "details": null, "hint": null}',
            DETAIL = '{"status": 401, "headers": {"WWW-Authenticate": "Bearer"}}';
    END IF;
END
$pre_request$;
REVOKE ALL ON FUNCTION learnings_postgrest.pre_request() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnings_postgrest.pre_request() TO learnings_anon, learnings_user;

-- postgrest/postgrest.conf does not listen for NOTIFY pgrst (any role could send it):
-- after running this file on a served database, send SIGUSR1 to PostgREST.
