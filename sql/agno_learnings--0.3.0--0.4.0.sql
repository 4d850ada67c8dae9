-- agno_learnings 0.3.0 → 0.4.0 (ALTER EXTENSION agno_learnings UPDATE).
--
-- 0.4.0 scales out on Citus (README, "Scaling out on Citus"):
-- - learnings_distribute(name, shard_count) distributes a registered table by learning_id;
-- - on a distributed table the policies call the extension without subqueries (which
--   Citus refuses) and lists count their rows on the shards;
-- - the caller is forwarded to the workers signed with the cluster key
--   (agno_learnings.cluster_secret_file), and a Citus connection without a caller it can
--   verify is refused.
-- Tables on one node keep their policies, triggers and totals unchanged.

DO $planted$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_proc AS p
                WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
                  AND p.proname OPERATOR(pg_catalog.~~) 'learnings\_%'
                  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                                   WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                     AND d.objid OPERATOR(pg_catalog.=) p.oid
                                     AND d.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog."char")) THEN
        RAISE EXCEPTION 'agno_learnings: schema @extschema@ holds functions named learnings_* that are not the extension''s'
            USING ERRCODE = 'duplicate_function',
                  HINT = 'They would shadow the extension''s own; drop them first.';
    END IF;
END
$planted$;

-- Whether Citus distributes the table (false where Citus is not installed).
CREATE FUNCTION agno_learnings_internal.learnings_is_distributed(learnings_table regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $is_distributed$
DECLARE
    distributed boolean := false;
BEGIN
    -- Citus's catalog, named only when it exists.
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
           INTO distributed USING learnings_table;
    END IF;
    RETURN distributed;
END
$is_distributed$;
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_is_distributed(regclass) FROM PUBLIC;

-- What a registered table gets once its layout is checked: the id guard, the list totals
-- and the row-level security policies (src/auth.rs answers the policies' questions).
--
-- On one node, each policy asks once per statement (its scalar subqueries become
-- InitPlans). On a table Citus distributes, Citus refuses subqueries in policies: the
-- policies call the functions directly (the extension remembers the answers for the
-- statement), and the totals are counted from the shards (Citus runs no statement
-- trigger across shards).
CREATE FUNCTION agno_learnings_internal.learnings_secure_table(learnings_table regclass, distributed boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $secure$
DECLARE
    counting  record;
    policy    record;
    condition text;
BEGIN
    IF distributed THEN
        -- Citus keeps triggers on a distributed table's shards only when told to; the id
        -- guard reads only the row's own shard (the rows are distributed by learning_id).
        PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    END IF;

    -- Writes through the table keep the API's id rules (src/row_rules.rs).
    EXECUTE format('CREATE OR REPLACE TRIGGER learnings_guard_row BEFORE INSERT OR UPDATE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION agno_learnings_internal.learnings_guard_row()',
                   learnings_table);

    -- Exact list totals (learnings_counts): the counting triggers, then the counts of the
    -- rows there now, under a lock that keeps writers out until registration commits.
    -- ENABLE ALWAYS: they count in replicas' apply workers too. A distributed table has
    -- none: its lists count their rows on the shards.
    IF NOT distributed THEN
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', learnings_table);
    END IF;
    FOR counting IN
        SELECT * FROM (VALUES
            ('learnings_count_insert', 'INSERT', 'REFERENCING NEW TABLE AS new_rows'),
            ('learnings_count_update', 'UPDATE', 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'),
            ('learnings_count_delete', 'DELETE', 'REFERENCING OLD TABLE AS old_rows'),
            ('learnings_count_truncate', 'TRUNCATE', '')
        ) AS t(name, event, transition)
    LOOP
        IF distributed THEN
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', counting.name, learnings_table);
        ELSE
            EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT '
                           'EXECUTE FUNCTION agno_learnings_internal.learnings_count_rows()',
                           counting.name, counting.event, learnings_table, counting.transition);
            EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', learnings_table, counting.name);
        END IF;
    END LOOP;
    DELETE FROM agno_learnings_internal.learnings_counts AS c WHERE c.relid = learnings_table::oid;
    IF distributed THEN
        DELETE FROM agno_learnings_internal.learnings_counted AS m WHERE m.relid = learnings_table::oid;
    ELSE
        EXECUTE format($rebuild$
            INSERT INTO agno_learnings_internal.learnings_counts (relid, bucket, learning_type, n)
            SELECT %s, b.bucket, t.learning_type, count(*)
              FROM %s AS t
             CROSS JOIN LATERAL (VALUES (CASE WHEN t.user_id IS NULL THEN 's' ELSE 'u' || t.user_id END),
                                        ('a')) AS b(bucket)
             GROUP BY b.bucket, t.learning_type$rebuild$, learnings_table::oid, learnings_table);
        INSERT INTO agno_learnings_internal.learnings_counted (relid) VALUES (learnings_table::oid)
        ON CONFLICT DO NOTHING;
    END IF;

    -- Row-level security: one policy per command, each asking the extension which rows
    -- this caller may touch: 'all', 'own' or 'none'. Reading also shows rows with no
    -- owner; changing those is for 'all' only. Table owners and BYPASSRLS roles (the
    -- agent runtime) are not subject to policies.
    --
    -- The conditions are written with <> on purpose: the planner cannot see an InitPlan's
    -- value and estimates `x = const` to hold for 0.5% of rows, which made it sort a
    -- bitmap scan of every candidate row instead of reading the recency index; `x <> const`
    -- is estimated at 99.5%, so the query's own filters drive the plan.
    --
    -- A distributed table's policies ask one function per row instead, with the row's
    -- owner (src/auth.rs remembers the statement's answers).
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', learnings_table);
    FOR policy IN
        SELECT * FROM (VALUES
            ('learnings_select', 'SELECT', 'USING (%s)', 'read', 'user_id IS NULL OR user_id = %s'),
            ('learnings_insert', 'INSERT', 'WITH CHECK (%s)', 'write', 'user_id = %s'),
            ('learnings_update', 'UPDATE', 'USING (%1$s) WITH CHECK (%1$s)', 'write', 'user_id = %s'),
            ('learnings_delete', 'DELETE', 'USING (%s)', 'delete', 'user_id = %s')
        ) AS p(name, command, clauses, action, own_rows)
    LOOP
        IF distributed THEN
            condition := format('agno_learnings_internal.learnings_policy_allows(%L::pg_catalog.text, user_id)',
                                policy.action);
        ELSE
            condition := format($condition$
                %1$s <> 'none' AND (%1$s <> 'own' OR %2$s)$condition$,
                format('(SELECT agno_learnings_internal.learnings_policy_access(%L::pg_catalog.text))', policy.action),
                format(policy.own_rows, '(SELECT agno_learnings_internal.learnings_policy_user())'));
        END IF;
        EXECUTE format('DROP POLICY IF EXISTS %I ON %s', policy.name, learnings_table);
        EXECUTE format('CREATE POLICY %I ON %s FOR %s ', policy.name, learnings_table, policy.command)
             || format(policy.clauses, condition);
    END LOOP;
END
$secure$;
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_secure_table(regclass, boolean) FROM PUBLIC;

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
    problems   text;
    col        text;
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
    -- (A distributed table's shards were made with it; Citus refuses the ALTER TABLE.)
    IF NOT agno_learnings_internal.learnings_is_distributed(learnings_table) THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN user_id SET STATISTICS 0', learnings_table);
    END IF;
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) THEN
        DELETE FROM pg_catalog.pg_statistic AS s
         USING pg_catalog.pg_attribute AS a
         WHERE s.starelid = learnings_table AND a.attrelid = learnings_table AND a.attnum = s.staattnum
           AND a.attname = 'user_id';
    END IF;

    PERFORM agno_learnings_internal.learnings_secure_table(
        learnings_table, agno_learnings_internal.learnings_is_distributed(learnings_table));

    INSERT INTO agno_learnings_internal.learnings_tables (name, schema_name, table_name)
    VALUES (registered, rel_schema, relation.relname)
    ON CONFLICT DO NOTHING;
    PERFORM agno_learnings_internal.learnings_invalidate('agno_learnings_internal.learnings_tables'::pg_catalog.regclass);
    RETURN registered;
END
$register$;

-- Distributes a registered learnings table over a Citus cluster, by learning_id (agno's
-- primary key: creates, gets, updates and deletes by id go to one shard, and agno's
-- `ON CONFLICT (learning_id)` upserts stay atomic). Needs the citus extension with its
-- workers added, the extension on every node (Citus propagates CREATE EXTENSION), and the
-- same agno_learnings.cluster_secret_file key on every node: without it a worker cannot
-- tell who is calling and answers nobody. Idempotent; returns the table.
CREATE FUNCTION @extschema@.learnings_distribute(name text DEFAULT 'agno_learnings', shard_count integer DEFAULT NULL)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $distribute$
DECLARE
    learnings_table regclass;
    key_id          text;
    mismatched      text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension AS e WHERE e.extname = 'citus') THEN
        RAISE EXCEPTION 'agno_learnings: Citus is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'CREATE EXTENSION citus and add the workers (citus_add_node) first.';
    END IF;
    SELECT pg_catalog.to_regclass(format('%I.%I', t.schema_name, t.table_name))
      INTO learnings_table
      FROM agno_learnings_internal.learnings_tables AS t
     WHERE t.name = learnings_distribute.name;
    IF learnings_table IS NULL THEN
        RAISE EXCEPTION 'agno_learnings: "%" is not a registered learnings table', learnings_distribute.name
            USING ERRCODE = 'undefined_table',
                  HINT = 'Register it first with learnings_register_table(table, name).';
    END IF;
    IF shard_count IS NOT NULL AND shard_count NOT BETWEEN 1 AND 64000 THEN
        RAISE EXCEPTION 'agno_learnings: shard_count must be between 1 and 64000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Every node must hold the same cluster key, or its shards would refuse every caller.
    key_id := agno_learnings_internal.learnings_cluster_key_id();
    IF key_id IS NULL THEN
        RAISE EXCEPTION 'agno_learnings: agno_learnings.cluster_secret_file is not set'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Workers verify who is calling with a key every node shares.',
                  HINT = 'Put the same random key (32 bytes or more) in a file on every node, readable by the server only, and set agno_learnings.cluster_secret_file to it in each node''s postgresql.conf.';
    END IF;
    EXECUTE $workers$
        SELECT string_agg(format('%s:%s', w.nodename, w.nodeport), ', ' ORDER BY w.nodename, w.nodeport)
          FROM pg_catalog.run_command_on_workers(
                   'SELECT agno_learnings_internal.learnings_cluster_key_id()') AS w
         WHERE NOT w.success OR w.result IS DISTINCT FROM $1$workers$
       INTO mismatched USING key_id;
    IF mismatched IS NOT NULL THEN
        RAISE EXCEPTION 'agno_learnings: these workers do not hold this node''s cluster key: %', mismatched
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Install agno_learnings on every node and set agno_learnings.cluster_secret_file to the same key on each.';
    END IF;

    IF NOT agno_learnings_internal.learnings_is_distributed(learnings_table) THEN
        -- Policies and triggers Citus accepts first, then the shards.
        PERFORM agno_learnings_internal.learnings_secure_table(learnings_table, true);
        EXECUTE 'SELECT pg_catalog.create_distributed_table($1, ''learning_id'', shard_count => $2)'
          USING learnings_table, shard_count;
    ELSE
        PERFORM agno_learnings_internal.learnings_secure_table(learnings_table, true);
    END IF;
    PERFORM agno_learnings_internal.learnings_invalidate('agno_learnings_internal.learnings_tables'::pg_catalog.regclass);
    RETURN learnings_table;
END
$distribute$;
REVOKE ALL ON FUNCTION @extschema@.learnings_distribute(text, integer) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.learnings_distribute(text, integer) IS
$$Distributes a registered learnings table (default: the extension's own) over the Citus
cluster by learning_id, with policies and triggers Citus accepts. Needs citus with its
workers and the same agno_learnings.cluster_secret_file key on every node. Idempotent.$$;

-- A distributed table's policies ask this instead, once per row (Citus refuses the
-- subqueries that make the two above run once per statement).
CREATE FUNCTION agno_learnings_internal.learnings_policy_allows(action text, owner text) RETURNS boolean
LANGUAGE c STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_policy_allows_wrapper';
COMMENT ON FUNCTION agno_learnings_internal.learnings_policy_allows(text, text) IS
$$Row-level security helper of distributed tables: whether the caller may read, write or delete a row of that owner.$$;

-- On Citus: sends the caller to the workers (PostgREST's pre-request hook calls it), and
-- the fingerprint of this node's cluster key that learnings_distribute compares across
-- nodes (src/cluster.rs).
CREATE FUNCTION agno_learnings_internal.learnings_forward_caller() RETURNS void
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_forward_caller_wrapper';
CREATE FUNCTION agno_learnings_internal.learnings_cluster_key_id() RETURNS text
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_cluster_key_id_wrapper';
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_cluster_key_id() FROM PUBLIC;
