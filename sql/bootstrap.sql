-- agno_learnings: the learnings table and the registry of learnings tables.
-- Runs first in the extension script, in the schema chosen by CREATE EXTENSION.

-- The learnings table, column for column as agno 3.1.10's PostgresDb creates it
-- (shared/fixtures/agno-3.1.10-learnings.sql). agno keeps reading and writing it.
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

-- Registers a table of agno's learnings layout with the API under `name` (default:
-- the table's own name), after checking its columns, and adds the indexes the API's
-- filters and sorts need. Idempotent. Needs ownership of the table and of the registry
-- (in practice: a superuser or the extension's owner).
CREATE FUNCTION @extschema@.learnings_register_table(learnings_table regclass, name text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $register$
DECLARE
    relation   pg_catalog.pg_class%ROWTYPE;
    rel_schema name;
    registered text := learnings_register_table.name;
    problems   text;
    col        text;
BEGIN
    SELECT * INTO relation FROM pg_catalog.pg_class WHERE oid = learnings_table;
    IF relation.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'agno_learnings: % is not a table', learnings_table
            USING ERRCODE = 'wrong_object_type';
    END IF;
    rel_schema := (SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = relation.relnamespace);
    registered := coalesce(registered, relation.relname);

    -- The columns the API reads and writes, with the types agno gives them.
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
        OR pg_catalog.format_type(a.atttypid, NULL) NOT IN (e.wanted,
               CASE WHEN e.wanted = 'character varying' THEN 'text' END);
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
                      AND i.indnkeyatts = 1 AND i.indkey[0] =
                          (SELECT attnum FROM pg_catalog.pg_attribute
                            WHERE attrelid = learnings_table AND attname = 'learning_id')) THEN
        RAISE EXCEPTION 'agno_learnings: % has no primary key or unique index on learning_id', learnings_table
            USING ERRCODE = 'invalid_table_definition';
    END IF;

    -- agno's own single-column indexes (same names as agno gives them), then the
    -- composite ones the API's default sort and per-user lists need (a created_at sort
    -- uses agno's created_at index, with an incremental sort of equal timestamps).
    FOREACH col IN ARRAY ARRAY['agent_id', 'created_at', 'entity_id', 'entity_type', 'learning_type',
                               'namespace', 'session_id', 'team_id', 'user_id', 'workflow_id'] LOOP
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING btree (%I)',
                       'idx_' || relation.relname || '_' || col, learnings_table, col);
    END LOOP;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (COALESCE(updated_at, created_at) DESC, learning_id)',
                   'idx_' || relation.relname || '_recent', learnings_table);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (user_id, COALESCE(updated_at, created_at) DESC, learning_id)',
                   'idx_' || relation.relname || '_user_recent', learnings_table);

    INSERT INTO @extschema@.learnings_tables AS t (name, schema_name, table_name)
    VALUES (registered, rel_schema, relation.relname)
    ON CONFLICT ON CONSTRAINT learnings_tables_pkey DO UPDATE
        SET schema_name = EXCLUDED.schema_name, table_name = EXCLUDED.table_name;
    RETURN registered;
END
$register$;

COMMENT ON FUNCTION @extschema@.learnings_register_table(regclass, text) IS
$$Registers another learnings table with the API.
Checks that the table has agno's learnings layout, adds the indexes the API needs and
makes it reachable as learnings_*(..., db_id => current_database(), "table" => name).
name defaults to the table's own name. Idempotent.$$;

SELECT @extschema@.learnings_register_table('@extschema@.agno_learnings');
