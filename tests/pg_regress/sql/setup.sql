-- setup: install the extension into schema "ai" (AgentOS's default) and define the
-- helpers the other tests use. Runs first, on a fresh database.
--
-- Every test after this one starts from an empty ai.agno_learnings, so the tests do not
-- depend on each other (they also pass when run alone after setup, or in another order).
-- Each sets VERBOSITY default itself, so a runner passing another (cargo pgrx regress
-- passes terse) prints the same.
CREATE SCHEMA ai;
CREATE EXTENSION agno_learnings SCHEMA ai;
SELECT extname, extversion, extnamespace::regnamespace AS schema
  FROM pg_extension WHERE extname = 'agno_learnings';

-- The table, column for column agno 3.1.10's layout, with agno's indexes and the API's.
\d ai.agno_learnings

-- The API, in the extension's schema: names, parameter names and defaults (part of the
-- contract: PostgREST maps JSON keys to them), results and volatility.
SELECT p.proname AS function,
       replace(pg_get_function_arguments(p.oid), ', ', E',\n') AS arguments,
       pg_get_function_result(p.oid) AS returns,
       CASE p.provolatile WHEN 's' THEN 'stable' WHEN 'v' THEN 'volatile' ELSE 'immutable' END AS volatility,
       CASE WHEN p.prosecdef THEN 'definer' ELSE 'invoker' END AS security,
       (SELECT c FROM unnest(p.proconfig) AS c WHERE c LIKE 'search\_path=%') AS config
  FROM pg_proc AS p
 WHERE p.pronamespace = 'ai'::regnamespace
 ORDER BY p.proname;

-- The internals, in a schema of their own that PostgREST does not serve: the registry,
-- the owner record, the policy helpers, the triggers and Citus's helpers. Pinned as well;
-- only the policy helpers (the policies call them) and learnings_forward_caller (it
-- forwards the caller's own identity to Citus workers) are executable by every role.
SELECT p.oid::regprocedure AS function,
       (SELECT c FROM unnest(p.proconfig) AS c WHERE c LIKE 'search\_path=%') AS config,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc AS p
 WHERE p.pronamespace = 'agno_learnings_internal'::regnamespace
 ORDER BY p.proname;
SELECT c.relname, c.relkind, has_table_privilege('public', c.oid, 'SELECT') AS public_select
  FROM pg_class AS c
 WHERE c.relnamespace = 'agno_learnings_internal'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;

-- The extension's own table is registered under its name.
SELECT name, schema_name, table_name FROM agno_learnings_internal.learnings_tables ORDER BY name;

-- A fresh install has no learnings.
SELECT jsonb_pretty(ai.learnings_list());

------------------------------------------------------------------------------------------
-- Helpers for the other tests (schema "regress", not part of the extension).
CREATE SCHEMA regress;

-- Runs one statement and shows how it ended: its SQLSTATE and message (with DETAIL and
-- HINT when given), or "ok". psql can print the SQLSTATE itself only with
-- VERBOSITY verbose, which also prints a LOCATION line with source file line numbers;
-- this keeps the expected output stable. Like any failed statement, a failed one here
-- is rolled back (the EXCEPTION block is a subtransaction).
CREATE FUNCTION regress.try(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text; message text; detail text; hint text;
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    -- The test database's name varies (REGRESS_DB, cargo pgrx regress): hide it.
    RETURN replace(state || ': ' || message
                   || coalesce(E'\nDETAIL: ' || nullif(detail, ''), '')
                   || coalesce(E'\nHINT: ' || nullif(hint, ''), ''),
                   quote_literal(current_database()), '''<current_database>''');
END
$$;

-- Runs a statement that returns one jsonb (a call given as text) and returns its value.
CREATE FUNCTION regress.eval(statement text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE result jsonb;
BEGIN
    EXECUTE statement INTO result;
    RETURN result;
END
$$;

-- A record or envelope with its time-dependent values masked: an epoch-seconds
-- timestamp within an hour of now becomes "<now>" (so a value in milliseconds, or 0,
-- stays visible and fails the test), a generated UUID learning id becomes "<uuid>".
-- Fixed timestamps (rows inserted with explicit created_at/updated_at) are shown as is.
CREATE FUNCTION regress.mask(j jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT CASE jsonb_typeof(j)
  WHEN 'object' THEN (
    SELECT coalesce(jsonb_object_agg(k, CASE
             WHEN k IN ('created_at', 'updated_at', 'last_learning_updated_at')
                  AND jsonb_typeof(v) = 'number'
                  AND abs(v::text::numeric - extract(epoch FROM statement_timestamp())) < 3600
               THEN to_jsonb('<now>'::text)
             WHEN k = 'learning_id'
                  AND v #>> '{}' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
               THEN to_jsonb('<uuid>'::text)
             ELSE regress.mask(v) END), '{}'::jsonb)
      FROM jsonb_each(j) AS e(k, v))
  WHEN 'array' THEN (
    SELECT coalesce(jsonb_agg(regress.mask(v) ORDER BY n), '[]'::jsonb)
      FROM jsonb_array_elements(j) WITH ORDINALITY AS a(v, n))
  ELSE j
END
$$;

-- jsonb_pretty of the masked value.
CREATE FUNCTION regress.show(j jsonb) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT jsonb_pretty(regress.mask(j)) $$;

-- The ids of a list envelope's records (user ids for a list of users), in order, and its
-- meta, on one line; a generated UUID shows as <uuid>.
CREATE FUNCTION regress.page(envelope jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
SELECT coalesce((SELECT string_agg(coalesce(r ->> 'learning_id', r ->> 'user_id'), ' ' ORDER BY n)
                   FROM jsonb_array_elements(regress.mask(envelope -> 'data')) WITH ORDINALITY AS a(r, n)), '(none)')
       || '  ' || (envelope -> 'meta')::text
$$;

-- The whole content of a learnings table (row count and a digest of every column), to
-- show that a failed call changed nothing.
CREATE FUNCTION regress.fingerprint(learnings regclass DEFAULT 'ai.agno_learnings') RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE result text;
BEGIN
    EXECUTE format('SELECT count(*) || '' rows, md5 '' || md5(coalesce(string_agg(t::text, '','' ORDER BY t.learning_id), ''''))
                      FROM %s AS t', learnings) INTO result;
    RETURN result;
END
$$;

SELECT regress.try('SELECT 1'), regress.try('SELECT 1/0'),
       regress.try($q$DO $d$ BEGIN RAISE 'database %', quote_literal(current_database()); END $d$$q$);
SELECT regress.show('{"learning_id": "0b4c3e1e-9a6d-4c3a-8f2e-1d2c3b4a5f6e", "created_at": 1700000000,
                      "updated_at": 1}'::jsonb
                    || jsonb_build_object('x', jsonb_build_array(jsonb_build_object(
                         'created_at', floor(extract(epoch FROM now()))::bigint))));
SELECT regress.fingerprint();
