-- agno_learnings 0.3.0 → 0.2.0: rolls an upgrade back
-- (ALTER EXTENSION agno_learnings UPDATE TO '0.2.0'), before reinstalling 0.2.0's
-- package. The rows and the table are untouched; 0.3.0's triggers, statistics settings,
-- owner record and internal schema go.

DROP EVENT TRIGGER learnings_record_owner;
DROP FUNCTION agno_learnings_internal.learnings_record_owner();
DROP TABLE agno_learnings_internal.learnings_table_owner;
DROP FUNCTION agno_learnings_internal.learnings_apply_owner();

DO $tables$
DECLARE
    t record;
    col text;
BEGIN
    FOR t IN SELECT pg_catalog.format('%I.%I', r.schema_name, r.table_name) AS relation, r.schema_name, r.table_name
               FROM agno_learnings_internal.learnings_tables AS r
              WHERE pg_catalog.to_regclass(pg_catalog.format('%I.%I', r.schema_name, r.table_name)) IS NOT NULL
    LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS learnings_guard_row ON %s', t.relation);
        FOREACH col IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', 'learnings_count_' || col, t.relation);
        END LOOP;
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN user_id SET STATISTICS -1', t.relation);
        EXECUTE pg_catalog.format('DROP INDEX IF EXISTS %s', pg_catalog.format('%I.%I', t.schema_name,
            agno_learnings_internal.learnings_index_name(t.table_name, 'user_type_recent')));
    END LOOP;
END
$tables$;
DROP FUNCTION agno_learnings_internal.learnings_guard_row();
DROP FUNCTION agno_learnings_internal.learnings_count_rows();
DROP FUNCTION agno_learnings_internal.learnings_invalidate(regclass);
DROP FUNCTION agno_learnings_internal.learnings_fold_counts(oid, agno_learnings_internal.learnings_delta[]);
DROP TYPE agno_learnings_internal.learnings_delta;
DROP TABLE agno_learnings_internal.learnings_counts;
DROP TABLE agno_learnings_internal.learnings_counted;

ALTER TABLE agno_learnings_internal.learnings_tables SET SCHEMA @extschema@;
GRANT SELECT ON @extschema@.learnings_tables TO PUBLIC;
ALTER FUNCTION agno_learnings_internal.learnings_index_name(name, text) SET SCHEMA @extschema@;
GRANT EXECUTE ON FUNCTION @extschema@.learnings_index_name(name, text) TO PUBLIC;
ALTER FUNCTION agno_learnings_internal.learnings_policy_access(text) SET SCHEMA @extschema@;
ALTER FUNCTION @extschema@.learnings_policy_access(text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION agno_learnings_internal.learnings_policy_user() SET SCHEMA @extschema@;
ALTER FUNCTION @extschema@.learnings_policy_user() SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION agno_learnings_internal.learnings_guard_drop() SET SCHEMA @extschema@;
ALTER FUNCTION @extschema@.learnings_guard_drop() SET search_path = pg_catalog, @extschema@, pg_temp;
GRANT EXECUTE ON FUNCTION @extschema@.learnings_guard_drop() TO PUBLIC;

ALTER FUNCTION @extschema@.learnings_list(text, text, text, text, text, text, text, text, integer, integer, text, text, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.learnings_create(text, jsonb, text, text, text, text, text, text, text, jsonb, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.learnings_get(text, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.learnings_update(text, jsonb, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.learnings_delete(text, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.learnings_list_users(text, text, integer, integer, text, text, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.learnings_delete_user(text, text, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.learnings_authenticate(text) SET search_path = pg_catalog, @extschema@, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.learnings_register_table(learnings_table regclass, name text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION @extschema@.learnings_unregister_table(name text)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (DELETE FROM @extschema@.learnings_tables AS t WHERE t.name = $1 RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;

GRANT EXECUTE ON FUNCTION @extschema@.learnings_register_table(regclass, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.learnings_unregister_table(text) TO PUBLIC;

SELECT @extschema@.learnings_register_table(
           pg_catalog.format('%I.%I', t.schema_name, t.table_name)::pg_catalog.regclass, t.name)
  FROM @extschema@.learnings_tables AS t
 ORDER BY t.name;

DROP SCHEMA agno_learnings_internal;
