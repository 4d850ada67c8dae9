-- agno_learnings: the learnings table and the registry of learnings tables.
-- Runs first in the extension script, in the schema chosen by CREATE EXTENSION.

-- The learnings table, column for column as agno 3.1.10's PostgresDb creates it
-- (shared/fixtures/agno-3.1.10-learnings.sql). agno keeps reading and writing it.
DO $adopt$
BEGIN
    IF pg_catalog.to_regclass('@extschema@.agno_learnings') IS NOT NULL THEN
        ALTER EXTENSION agno_learnings ADD TABLE @extschema@.agno_learnings;
    ELSE
        CREATE TABLE @extschema@.agno_learnings (
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
            updated_at bigint,
            CONSTRAINT agno_learnings_pkey PRIMARY KEY (learning_id)
        );
    END IF;
END
$adopt$;

COMMENT ON TABLE @extschema@.agno_learnings IS
    'What AgentOS agents learned about users, sessions and entities (agno 3.1.10 layout).';

-- pg_dump dumps the rows of extension tables only when asked to.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.agno_learnings', '');

-- The learnings tables the API may work on, by the name callers pass as "table".
CREATE TABLE @extschema@.learnings_tables (
    name text PRIMARY KEY CHECK (name <> ''),
    schema_name name NOT NULL,
    table_name name NOT NULL,
    UNIQUE (schema_name, table_name)
);

COMMENT ON TABLE @extschema@.learnings_tables IS
    'Learnings tables registered with agno_learnings, by the name the API''s "table" parameter uses.';

-- Every caller resolves "table" through it; only the extension's owner changes it.
GRANT SELECT ON @extschema@.learnings_tables TO PUBLIC;

-- The default table is registered by the script itself; dumps carry the others.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.learnings_tables',
                                           $$WHERE name <> 'agno_learnings'$$);

-- agno's index name for a column of a table (idx_<table>_<column>), made unique within
-- PostgreSQL's 63-byte limit for long table names, where plain truncation would give
-- two columns the same name.
CREATE FUNCTION @extschema@.learnings_index_name(table_name name, suffix text)
RETURNS name
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN octet_length('idx_' || table_name || '_' || suffix) <= 63
                THEN 'idx_' || table_name || '_' || suffix
                ELSE 'idx_' || left(table_name, 30) || '_' || left(md5(table_name), 8) || '_' || suffix
           END::name
$$;

-- Registers a table of agno's learnings layout with the API under `name` (default:
-- the table's own name), after checking its columns, and adds the indexes the API's
-- filters and sorts need and the row-level security policies that apply the API's rules
-- to every client. Idempotent. Needs ownership of the table and of the registry (in
-- practice: a superuser or the extension's owner).
CREATE FUNCTION @extschema@.learnings_register_table(learnings_table regclass, name text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- Re-registering must not print a NOTICE per index that already exists.
SET client_min_messages = warning
AS $register$
DECLARE
    relation   pg_catalog.pg_class%ROWTYPE;
    rel_schema name;
    registered text := learnings_register_table.name;
    existing   @extschema@.learnings_tables%ROWTYPE;
    problems   text;
    col        text;
    policy     record;
    condition  text;
BEGIN
    IF learnings_table IS NULL THEN
        RAISE EXCEPTION 'agno_learnings: learnings_table must not be NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO relation FROM pg_catalog.pg_class WHERE oid = learnings_table;
    IF relation.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'agno_learnings: % is not a table', learnings_table
            USING ERRCODE = 'wrong_object_type';
    END IF;
    rel_schema := (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = relation.relnamespace);
    registered := coalesce(registered, relation.relname);
    IF registered = '' THEN
        RAISE EXCEPTION 'agno_learnings: the registered name must not be empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- A name means one table, and a table has one name: never re-point a name silently.
    SELECT * INTO existing FROM @extschema@.learnings_tables AS t
     WHERE t.name = registered OR (t.schema_name = rel_schema AND t.table_name = relation.relname);
    IF FOUND AND (existing.name, existing.schema_name, existing.table_name)
                 IS DISTINCT FROM (registered, rel_schema, relation.relname) THEN
        RAISE EXCEPTION 'agno_learnings: % cannot be registered as "%"', learnings_table, registered
            USING ERRCODE = 'duplicate_object',
                  DETAIL = format('"%s" is registered for %I.%I.', existing.name,
                                  existing.schema_name, existing.table_name),
                  HINT = 'Unregister it first with learnings_unregister_table(name).';
    END IF;

    -- The columns the API reads and writes, with the types agno gives them (text is
    -- accepted for agno's varchar).
    SELECT string_agg(format('%I (%s)', e.attname, e.wanted), ', ' ORDER BY e.ord)
      INTO problems
      FROM (VALUES (1, 'learning_id', 'character varying'), (2, 'learning_type', 'character varying'),
                   (3, 'namespace', 'character varying'), (4, 'user_id', 'character varying'),
                   (5, 'agent_id', 'character varying'), (6, 'team_id', 'character varying'),
                   (7, 'workflow_id', 'character varying'), (8, 'session_id', 'character varying'),
                   (9, 'entity_id', 'character varying'), (10, 'entity_type', 'character varying'),
                   (11, 'content', 'jsonb'), (12, 'metadata', 'jsonb'),
                   (13, 'created_at', 'bigint'), (14, 'updated_at', 'bigint'))
           AS e(ord, attname, wanted)
      LEFT JOIN pg_catalog.pg_attribute AS a
        ON a.attrelid = learnings_table AND a.attname = e.attname AND NOT a.attisdropped
     WHERE a.attname IS NULL
        OR NOT (pg_catalog.format_type(a.atttypid, NULL) = e.wanted
                OR (e.wanted = 'character varying' AND a.atttypid = 'text'::regtype));
    IF problems IS NOT NULL THEN
        RAISE EXCEPTION 'agno_learnings: % does not have the learnings layout', learnings_table
            USING ERRCODE = 'invalid_table_definition',
                  DETAIL = 'Missing or mistyped columns: ' || problems || '.';
    END IF;

    -- Other columns must let the API insert without them.
    SELECT string_agg(format('%I', a.attname), ', ')
      INTO problems
      FROM pg_catalog.pg_attribute AS a
     WHERE a.attrelid = learnings_table AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attnotnull AND NOT a.atthasdef
       AND a.attname NOT IN ('learning_id', 'learning_type', 'namespace', 'user_id', 'agent_id',
                             'team_id', 'workflow_id', 'session_id', 'entity_id', 'entity_type',
                             'content', 'metadata', 'created_at', 'updated_at');
    IF problems IS NOT NULL THEN
        RAISE EXCEPTION 'agno_learnings: % has NOT NULL columns without defaults', learnings_table
            USING ERRCODE = 'invalid_table_definition',
                  DETAIL = 'Columns: ' || problems || '.';
    END IF;

    -- Creates are atomic through ON CONFLICT (learning_id), which needs a unique index.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index AS i
                    WHERE i.indrelid = learnings_table AND i.indisunique AND i.indpred IS NULL
                      AND i.indexprs IS NULL AND i.indnkeyatts = 1 AND i.indkey[0] =
                          (SELECT attnum FROM pg_catalog.pg_attribute
                            WHERE attrelid = learnings_table AND attname = 'learning_id')) THEN
        RAISE EXCEPTION 'agno_learnings: % has no primary key or unique index on learning_id', learnings_table
            USING ERRCODE = 'invalid_table_definition';
    END IF;

    -- agno's own single-column indexes (with the names agno gives them), then the
    -- composite ones the API's default sort and per-user lists need (a created_at sort
    -- uses agno's created_at index, with an incremental sort of equal timestamps).
    FOREACH col IN ARRAY ARRAY['agent_id', 'created_at', 'entity_id', 'entity_type', 'learning_type',
                               'namespace', 'session_id', 'team_id', 'user_id', 'workflow_id'] LOOP
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING btree (%I)',
                       @extschema@.learnings_index_name(relation.relname, col), learnings_table, col);
    END LOOP;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (COALESCE(updated_at, created_at) DESC, learning_id)',
                   @extschema@.learnings_index_name(relation.relname, 'recent'), learnings_table);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (user_id, COALESCE(updated_at, created_at) DESC, learning_id)',
                   @extschema@.learnings_index_name(relation.relname, 'user_recent'), learnings_table);

    -- Row-level security: one policy per command, each asking the extension once per
    -- statement (the scalar subqueries become InitPlans) which rows this caller may
    -- touch: 'all', 'own' or 'none'. Reading also shows rows with no owner; changing
    -- those is for 'all' only. Table owners and BYPASSRLS roles (the agent runtime) are
    -- not subject to policies.
    --
    -- The conditions are written with <> on purpose: the planner cannot see an InitPlan's
    -- value and estimates `x = const` to hold for 0.5% of rows, which made it sort a
    -- bitmap scan of every candidate row instead of reading the recency index; `x <> const`
    -- is estimated at 99.5%, so the query's own filters drive the plan.
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', learnings_table);
    FOR policy IN
        SELECT * FROM (VALUES
            ('learnings_select', 'SELECT', 'USING (%s)', 'read', 'user_id IS NULL OR user_id = %s'),
            ('learnings_insert', 'INSERT', 'WITH CHECK (%s)', 'write', 'user_id = %s'),
            ('learnings_update', 'UPDATE', 'USING (%1$s) WITH CHECK (%1$s)', 'write', 'user_id = %s'),
            ('learnings_delete', 'DELETE', 'USING (%s)', 'delete', 'user_id = %s')
        ) AS p(name, command, clauses, action, own_rows)
    LOOP
        condition := format($condition$
            (SELECT @extschema@.learnings_policy_access(%1$L)) <> 'none'
            AND ((SELECT @extschema@.learnings_policy_access(%1$L)) <> 'own' OR %2$s)$condition$,
            policy.action,
            format(policy.own_rows, '(SELECT @extschema@.learnings_policy_user())'));
        EXECUTE format('DROP POLICY IF EXISTS %I ON %s', policy.name, learnings_table);
        EXECUTE format('CREATE POLICY %I ON %s FOR %s ', policy.name, learnings_table, policy.command)
             || format(policy.clauses, condition);
    END LOOP;

    INSERT INTO @extschema@.learnings_tables (name, schema_name, table_name)
    VALUES (registered, rel_schema, relation.relname)
    ON CONFLICT DO NOTHING;
    RETURN registered;
END
$register$;

-- Removes a name from the registry. The table, its rows, indexes and security stay.
CREATE FUNCTION @extschema@.learnings_unregister_table(name text)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (DELETE FROM @extschema@.learnings_tables AS t WHERE t.name = $1 RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;

COMMENT ON FUNCTION @extschema@.learnings_unregister_table(text) IS
$$Removes a name from the learnings table registry; true when it was registered.
The table keeps its rows, indexes and row-level security.$$;

COMMENT ON FUNCTION @extschema@.learnings_register_table(regclass, text) IS
$$Registers another learnings table with the API.
Checks that the table has agno's learnings layout, adds the indexes the API needs and
makes it reachable as learnings_*(..., db_id => current_database(), "table" => name).
name defaults to the table's own name. Idempotent.$$;

