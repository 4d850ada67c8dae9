-- agno_learnings 0.4.0 → 0.3.0 (ALTER EXTENSION agno_learnings UPDATE TO '0.3.0'), to
-- roll back an update with the new package still installed. Refused while a learnings
-- table is distributed (0.3.0 cannot serve one): undistribute it first
-- (README, "Scaling out on Citus").
DO $distributed$
DECLARE
    names text;
BEGIN
    SELECT string_agg(t.name, ', ' ORDER BY t.name) INTO names
      FROM agno_learnings_internal.learnings_tables AS t
     WHERE agno_learnings_internal.learnings_is_distributed(
               pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name)));
    IF names IS NOT NULL THEN
        RAISE EXCEPTION 'agno_learnings: cannot go back to 0.3.0 while learnings tables are distributed: %', names
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'undistribute_table() them first, then register them again.';
    END IF;
END
$distributed$;

DROP FUNCTION @extschema@.learnings_distribute(text, integer);
DROP FUNCTION agno_learnings_internal.learnings_forward_caller();
DROP FUNCTION agno_learnings_internal.learnings_cluster_key_id();
DROP FUNCTION agno_learnings_internal.learnings_policy_allows(text, text);

-- Registers a table of agno's learnings layout with the API under `name` (default:
-- the table's own name), after checking its columns, and adds the indexes the API's
-- filters and sorts need and the row-level security policies that apply the API's rules
-- to every client. Idempotent. Needs ownership of the table and of the registry (in
-- practice: a superuser or the extension's owner).
--
-- The table's owner, and any role that may add triggers to it, runs code inside every
-- client's writes (and could read PostgREST's request headers, tokens included), so a
-- table is registered only when a superuser or the owner of the extension's own table
-- (the agent runtime) owns it and no other role holds TRIGGER on it.
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
    existing   agno_learnings_internal.learnings_tables%ROWTYPE;
    runtime    oid;
    counting   record;
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
    SELECT * INTO existing FROM agno_learnings_internal.learnings_tables AS t
     WHERE t.name = registered OR (t.schema_name = rel_schema AND t.table_name = relation.relname);
    IF FOUND AND (existing.name, existing.schema_name, existing.table_name)
                 IS DISTINCT FROM (registered, rel_schema, relation.relname) THEN
        RAISE EXCEPTION 'agno_learnings: % cannot be registered as "%"', learnings_table, registered
            USING ERRCODE = 'duplicate_object',
                  DETAIL = format('"%s" is registered for %I.%I.', existing.name,
                                  existing.schema_name, existing.table_name),
                  HINT = 'Unregister it first with learnings_unregister_table(name).';
    END IF;

    -- Who may run code in the table's writes (see above).
    runtime := (SELECT c.relowner FROM pg_catalog.pg_class AS c
                 WHERE c.oid = pg_catalog.to_regclass('@extschema@.agno_learnings'::pg_catalog.text));
    IF learnings_table IS DISTINCT FROM pg_catalog.to_regclass('@extschema@.agno_learnings'::pg_catalog.text)
       AND relation.relowner IS DISTINCT FROM runtime
       AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.oid = relation.relowner) THEN
        RAISE EXCEPTION 'agno_learnings: % is owned by %, which is neither a superuser nor the owner of @extschema@.agno_learnings',
                        learnings_table, relation.relowner::pg_catalog.regrole
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A table''s owner runs code (triggers) inside every client''s writes.',
                  HINT = format('ALTER TABLE %s OWNER TO %s, then register it.', learnings_table,
                                coalesce(runtime::pg_catalog.regrole::text, 'postgres'));
    END IF;
    SELECT string_agg(DISTINCT a.grantee::pg_catalog.regrole::text, ', ')
      INTO problems
      FROM pg_catalog.aclexplode(relation.relacl) AS a
     WHERE a.privilege_type = 'TRIGGER' AND a.grantee <> relation.relowner
       AND NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.oid = a.grantee), false);
    IF problems IS NOT NULL THEN
        RAISE EXCEPTION 'agno_learnings: other roles may add triggers to %', learnings_table
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'TRIGGER is granted to: ' || problems || '.',
                  HINT = format('REVOKE TRIGGER ON %s FROM %s, then register it.', learnings_table, problems);
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
                       agno_learnings_internal.learnings_index_name(relation.relname, col::pg_catalog.text),
                       learnings_table, col);
    END LOOP;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (COALESCE(updated_at, created_at) DESC, learning_id)',
                   agno_learnings_internal.learnings_index_name(relation.relname, 'recent'::pg_catalog.text),
                   learnings_table);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (user_id, COALESCE(updated_at, created_at) DESC, learning_id)',
                   agno_learnings_internal.learnings_index_name(relation.relname, 'user_recent'::pg_catalog.text),
                   learnings_table);
    -- A user's learnings of one type (agno's stores ask for those all the time, and a
    -- scoped list by type reads two ranges of it: the caller's and the shared rows').
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (user_id, learning_type, COALESCE(updated_at, created_at) DESC, learning_id)',
                   agno_learnings_internal.learnings_index_name(relation.relname, 'user_type_recent'::pg_catalog.text),
                   learnings_table);

    -- Planner statistics: under row-level security the planner still estimates with the
    -- column statistics (its equality operators are leakproof), so EXPLAIN, or PostgREST's
    -- `Prefer: count=planned`, would tell anyone how many rows a given user has. user_id
    -- keeps no statistics (equality on it is estimated at PostgreSQL's default, 0.5%; the
    -- lists that depend on it read the per-user index in order, src/db.rs). The other
    -- columns keep theirs: without them a filter on a rare session or entity was read
    -- along the recency index, 500 times slower at a million rows (README, Performance).
    EXECUTE format('ALTER TABLE %s ALTER COLUMN user_id SET STATISTICS 0', learnings_table);
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) THEN
        DELETE FROM pg_catalog.pg_statistic AS s
         USING pg_catalog.pg_attribute AS a
         WHERE s.starelid = learnings_table AND a.attrelid = learnings_table AND a.attnum = s.staattnum
           AND a.attname = 'user_id';
    END IF;

    -- Writes through the table keep the API's id rules (src/row_rules.rs).
    EXECUTE format('CREATE OR REPLACE TRIGGER learnings_guard_row BEFORE INSERT OR UPDATE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION agno_learnings_internal.learnings_guard_row()',
                   learnings_table);

    -- Exact list totals (learnings_counts): the counting triggers, then the counts of the
    -- rows there now, under a lock that keeps writers out until registration commits.
    -- ENABLE ALWAYS: they count in replicas' apply workers too.
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', learnings_table);
    FOR counting IN
        SELECT * FROM (VALUES
            ('learnings_count_insert', 'INSERT', 'REFERENCING NEW TABLE AS new_rows'),
            ('learnings_count_update', 'UPDATE', 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'),
            ('learnings_count_delete', 'DELETE', 'REFERENCING OLD TABLE AS old_rows'),
            ('learnings_count_truncate', 'TRUNCATE', '')
        ) AS t(name, event, transition)
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT '
                       'EXECUTE FUNCTION agno_learnings_internal.learnings_count_rows()',
                       counting.name, counting.event, learnings_table, counting.transition);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', learnings_table, counting.name);
    END LOOP;
    DELETE FROM agno_learnings_internal.learnings_counts AS c WHERE c.relid = learnings_table::oid;
    EXECUTE format($rebuild$
        INSERT INTO agno_learnings_internal.learnings_counts (relid, bucket, learning_type, n)
        SELECT %s, b.bucket, t.learning_type, count(*)
          FROM %s AS t
         CROSS JOIN LATERAL (VALUES (CASE WHEN t.user_id IS NULL THEN 's' ELSE 'u' || t.user_id END),
                                    ('a')) AS b(bucket)
         GROUP BY b.bucket, t.learning_type$rebuild$, learnings_table::oid, learnings_table);
    INSERT INTO agno_learnings_internal.learnings_counted (relid) VALUES (learnings_table::oid)
    ON CONFLICT DO NOTHING;

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
            (SELECT agno_learnings_internal.learnings_policy_access(%1$L::pg_catalog.text)) <> 'none'
            AND ((SELECT agno_learnings_internal.learnings_policy_access(%1$L::pg_catalog.text)) <> 'own' OR %2$s)$condition$,
            policy.action,
            format(policy.own_rows, '(SELECT agno_learnings_internal.learnings_policy_user())'));
        EXECUTE format('DROP POLICY IF EXISTS %I ON %s', policy.name, learnings_table);
        EXECUTE format('CREATE POLICY %I ON %s FOR %s ', policy.name, learnings_table, policy.command)
             || format(policy.clauses, condition);
    END LOOP;

    INSERT INTO agno_learnings_internal.learnings_tables (name, schema_name, table_name)
    VALUES (registered, rel_schema, relation.relname)
    ON CONFLICT DO NOTHING;
    PERFORM agno_learnings_internal.learnings_invalidate('agno_learnings_internal.learnings_tables'::pg_catalog.regclass);
    RETURN registered;
END
$register$;

DROP FUNCTION agno_learnings_internal.learnings_secure_table(regclass, boolean);
DROP FUNCTION agno_learnings_internal.learnings_is_distributed(regclass);
