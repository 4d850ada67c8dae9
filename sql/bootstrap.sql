-- agno_learnings: the learnings table and the registry of learnings tables.
-- Runs first in the extension script, in the schema chosen by CREATE EXTENSION.
--
-- The chosen schema may belong to another role (agno creates `ai` as its runtime role).
-- Such a role can plant functions and operators there, and overload resolution would
-- pick one that matches a call's argument types more exactly than ours, running it as
-- whoever calls (a superuser during CREATE EXTENSION). So: every function of the
-- extension pins search_path = pg_catalog, pg_temp; every call of our own functions is
-- schema-qualified with exact argument types; the internals live in a schema of their
-- own, agno_learnings_internal, which only the extension's owner can create objects in
-- (and which PostgREST does not serve); and the install refuses a schema that already
-- holds functions with our names.
DO $planted$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_proc
                WHERE pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
                  AND proname OPERATOR(pg_catalog.~~) 'learnings\_%') THEN
        RAISE EXCEPTION 'agno_learnings: schema @extschema@ already holds functions named learnings_*'
            USING ERRCODE = 'duplicate_function',
                  HINT = 'They would shadow the extension''s own; drop them, or install into another schema.';
    END IF;
END
$planted$;

-- The extension's internals. Not IF NOT EXISTS: a schema of that name made by anyone
-- else makes CREATE EXTENSION fail instead of trusting it.
CREATE SCHEMA agno_learnings_internal;
COMMENT ON SCHEMA agno_learnings_internal IS
    'agno_learnings internals: the registry, row-level security helpers, triggers. Not an API.';

-- pg_dump does not record the owner of a table that belongs to an extension, so after a
-- restore the learnings table would belong to the restoring superuser, and agno's runtime
-- role would see no rows. Its owner is kept here, dumped with the extension's
-- configuration, and given back when a restore loads the row (the trigger below). An
-- ALTER TABLE … OWNER TO of the table updates it (the event trigger in sql/finalize.sql).
CREATE TABLE agno_learnings_internal.learnings_table_owner (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    owner name NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('agno_learnings_internal.learnings_table_owner'::pg_catalog.regclass,
                                           ''::pg_catalog.text);

CREATE FUNCTION agno_learnings_internal.learnings_apply_owner() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $apply$
DECLARE
    learnings regclass := pg_catalog.to_regclass('@extschema@.agno_learnings'::pg_catalog.text);
    current_owner name;
BEGIN
    -- Before an insert: one row, so an insert replaces the record (a restore's COPY of
    -- the dumped record, after an earlier statement of the restore wrote one).
    IF TG_WHEN = 'BEFORE' THEN
        IF EXISTS (SELECT FROM agno_learnings_internal.learnings_table_owner) THEN
            UPDATE agno_learnings_internal.learnings_table_owner SET owner = NEW.owner
             WHERE owner IS DISTINCT FROM NEW.owner;
            RETURN NULL;
        END IF;
        RETURN NEW;
    END IF;
    -- After an insert or update: the table goes to the recorded owner.
    current_owner := (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class AS c
                       WHERE c.oid = learnings);
    IF learnings IS NOT NULL AND current_owner IS DISTINCT FROM NEW.owner THEN
        BEGIN
            EXECUTE format('ALTER TABLE %s OWNER TO %I', learnings, NEW.owner);
        EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
            RAISE WARNING 'agno_learnings: % stays owned by %: %', learnings, current_owner, SQLERRM
                USING HINT = format('ALTER TABLE %s OWNER TO <the agent runtime''s role>', learnings);
        END;
    END IF;
    RETURN NULL;
END
$apply$;
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_apply_owner() FROM PUBLIC;
CREATE TRIGGER learnings_one_owner_row BEFORE INSERT ON agno_learnings_internal.learnings_table_owner
    FOR EACH ROW EXECUTE FUNCTION agno_learnings_internal.learnings_apply_owner();
CREATE TRIGGER learnings_apply_owner AFTER INSERT OR UPDATE ON agno_learnings_internal.learnings_table_owner
    FOR EACH ROW EXECUTE FUNCTION agno_learnings_internal.learnings_apply_owner();

-- The learnings table, column for column as agno 3.1.10's PostgresDb creates it
-- (shared/fixtures/agno-3.1.10-learnings.sql). agno keeps reading and writing it.
DO $adopt$
BEGIN
    IF pg_catalog.to_regclass('@extschema@.agno_learnings'::pg_catalog.text) IS NOT NULL THEN
        ALTER EXTENSION agno_learnings ADD TABLE @extschema@.agno_learnings;
        INSERT INTO agno_learnings_internal.learnings_table_owner (owner)
        SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class AS c
         WHERE c.oid = '@extschema@.agno_learnings'::pg_catalog.regclass;
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
SELECT pg_catalog.pg_extension_config_dump('@extschema@.agno_learnings'::pg_catalog.regclass, ''::pg_catalog.text);

-- The learnings tables the API may work on, by the name callers pass as "table". Only
-- the extension reads it (as its owner): the schema names of tenants' tables are not for
-- every client to list.
CREATE TABLE agno_learnings_internal.learnings_tables (
    name text PRIMARY KEY CHECK (name <> ''),
    schema_name name NOT NULL,
    table_name name NOT NULL,
    UNIQUE (schema_name, table_name)
);

COMMENT ON TABLE agno_learnings_internal.learnings_tables IS
    'Learnings tables registered with agno_learnings, by the name the API''s "table" parameter uses.';
REVOKE ALL ON agno_learnings_internal.learnings_tables FROM PUBLIC;

-- The default table is registered by the script itself; dumps carry the others.
SELECT pg_catalog.pg_extension_config_dump('agno_learnings_internal.learnings_tables'::pg_catalog.regclass,
                                           $$WHERE name <> 'agno_learnings'$$::pg_catalog.text);

-- Exact list totals without counting rows (docs/performance.md). Every write to a
-- registered table, through any door (the API, PostgREST's table endpoint, plain SQL,
-- agno's upserts, COPY), adds per-statement deltas here in its own transaction, so a
-- reader's snapshot sees exactly the deltas of the rows it sees. A total is the sum of a
-- few rows per bucket: 'a' all rows, 's' rows with no owner, 'u' || user_id a user's,
-- each per learning_type. Writers only insert (no row that every writer updates); now
-- and then a writer folds a bucket's deltas into one row (learnings_fold_counts).
CREATE TABLE agno_learnings_internal.learnings_counts (
    relid oid NOT NULL,
    bucket text NOT NULL,
    learning_type text NOT NULL,
    n bigint NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
        autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);
CREATE INDEX learnings_counts_key ON agno_learnings_internal.learnings_counts (relid, bucket, learning_type)
    INCLUDE (n);
REVOKE ALL ON agno_learnings_internal.learnings_counts FROM PUBLIC;

-- The tables whose counts are complete: registration builds them (and the triggers that
-- keep them) in one transaction. Not dumped: after a restore, a registered table counts
-- again once it is registered again (the extension's own table does from CREATE
-- EXTENSION on, before the restore loads its rows); until then its lists count rows,
-- exactly but slower.
CREATE TABLE agno_learnings_internal.learnings_counted (
    relid oid PRIMARY KEY
);
REVOKE ALL ON agno_learnings_internal.learnings_counted FROM PUBLIC;

-- One statement's net change of rows per owner and type.
CREATE TYPE agno_learnings_internal.learnings_delta AS (user_id text, learning_type text, n bigint);

-- The counting trigger, AFTER each statement, with its transition tables. SECURITY
-- DEFINER because every writer must add deltas to a table that no client may write (nor
-- read: it holds other users' totals). It is safe as one: a trigger function cannot be
-- called directly, only superusers can attach it (EXECUTE is revoked from everyone
-- else), its search_path is pinned, and it reads nothing but the rows the statement
-- wrote.
CREATE FUNCTION agno_learnings_internal.learnings_count_rows() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $count$
DECLARE
    changes agno_learnings_internal.learnings_delta[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM agno_learnings_internal.learnings_counts WHERE relid = TG_RELID;
        RETURN NULL;
    END IF;
    -- Inserts and deletes add their rows' counts in one statement (the usual case: a
    -- create's or a delete's trigger costs one query); a fold, now and then, reads them
    -- again below.
    IF TG_OP = 'INSERT' AND pg_catalog.random() >= 0.05 THEN
        INSERT INTO agno_learnings_internal.learnings_counts (relid, bucket, learning_type, n)
        SELECT TG_RELID, b.bucket, r.learning_type, count(*)
          FROM new_rows AS r
         CROSS JOIN LATERAL (VALUES (CASE WHEN r.user_id IS NULL THEN 's' ELSE 'u' || r.user_id END),
                                    ('a')) AS b(bucket)
         GROUP BY b.bucket, r.learning_type;
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' AND pg_catalog.random() >= 0.05 THEN
        INSERT INTO agno_learnings_internal.learnings_counts (relid, bucket, learning_type, n)
        SELECT TG_RELID, b.bucket, r.learning_type, -count(*)
          FROM old_rows AS r
         CROSS JOIN LATERAL (VALUES (CASE WHEN r.user_id IS NULL THEN 's' ELSE 'u' || r.user_id END),
                                    ('a')) AS b(bucket)
         GROUP BY b.bucket, r.learning_type;
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        changes := ARRAY(SELECT ROW(r.user_id, r.learning_type, count(*))::agno_learnings_internal.learnings_delta
                           FROM new_rows AS r GROUP BY r.user_id, r.learning_type);
    ELSIF TG_OP = 'DELETE' THEN
        changes := ARRAY(SELECT ROW(r.user_id, r.learning_type, -count(*))::agno_learnings_internal.learnings_delta
                           FROM old_rows AS r GROUP BY r.user_id, r.learning_type);
    ELSE
        -- agno's upserts rewrite content only: no change of owner or type, nothing to add.
        changes := ARRAY(SELECT ROW(r.user_id, r.learning_type, sum(r.n))::agno_learnings_internal.learnings_delta
                           FROM (SELECT user_id, learning_type, 1 AS n FROM new_rows
                                 UNION ALL
                                 SELECT user_id, learning_type, -1 FROM old_rows) AS r
                          GROUP BY r.user_id, r.learning_type HAVING sum(r.n) <> 0);
    END IF;
    IF pg_catalog.cardinality(changes) = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO agno_learnings_internal.learnings_counts (relid, bucket, learning_type, n)
    SELECT TG_RELID, b.bucket, c.learning_type, sum(c.n)
      FROM pg_catalog.unnest(changes) AS c
     CROSS JOIN LATERAL (VALUES (CASE WHEN c.user_id IS NULL THEN 's' ELSE 'u' || c.user_id END),
                                ('a')) AS b(bucket)
     GROUP BY b.bucket, c.learning_type
    HAVING sum(c.n) <> 0;
    -- One statement in twenty folds the buckets it touched: a statement that wrote a few
    -- rows, as the API and agno write them (a bulk load's deltas are one row per bucket
    -- already, and folding its thousands of buckets would take as many locks). Under READ
    -- COMMITTED only: a REPEATABLE READ writer would fail on deltas folded since its
    -- snapshot.
    IF (TG_OP <> 'UPDATE' OR pg_catalog.random() < 0.05) AND pg_catalog.cardinality(changes) <= 4
       AND pg_catalog.current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM agno_learnings_internal.learnings_fold_counts(TG_RELID, changes);
    END IF;
    RETURN NULL;
END
$count$;
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_count_rows() FROM PUBLIC;

-- Folds the deltas of the buckets `changes` touched into one row each. Only the rows
-- this transaction deleted are summed (DELETE … RETURNING), so two folds never count a
-- delta twice; an advisory lock makes a second fold of a bucket skip rather than wait.
CREATE FUNCTION agno_learnings_internal.learnings_fold_counts(
    relation oid, changes agno_learnings_internal.learnings_delta[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fold$
DECLARE
    key record;
BEGIN
    FOR key IN
        SELECT DISTINCT b.bucket, c.learning_type
          FROM pg_catalog.unnest(changes) AS c
         CROSS JOIN LATERAL (VALUES (CASE WHEN c.user_id IS NULL THEN 's' ELSE 'u' || c.user_id END),
                                    ('a')) AS b(bucket)
    LOOP
        CONTINUE WHEN NOT pg_catalog.pg_try_advisory_xact_lock(
            pg_catalog.hashtext(relation::text || '/' || key.bucket || '/' || key.learning_type));
        WITH gone AS (
            DELETE FROM agno_learnings_internal.learnings_counts AS c
             WHERE c.relid = relation AND c.bucket = key.bucket AND c.learning_type = key.learning_type
            RETURNING c.n
        )
        INSERT INTO agno_learnings_internal.learnings_counts (relid, bucket, learning_type, n)
        SELECT relation, key.bucket, key.learning_type, sum(gone.n) FROM gone HAVING sum(gone.n) <> 0;
    END LOOP;
END
$fold$;
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_fold_counts(oid, agno_learnings_internal.learnings_delta[])
    FROM PUBLIC;

-- Registration changes what callers' table names resolve to: every backend forgets its
-- resolutions (src/table/target.rs) when this invalidates the registry's relation cache entry.
CREATE FUNCTION agno_learnings_internal.learnings_invalidate(relation regclass) RETURNS void
LANGUAGE c STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_invalidate_wrapper';
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_invalidate(regclass) FROM PUBLIC;

-- agno's index name for a column of a table (idx_<table>_<column>), made unique within
-- PostgreSQL's 63-byte limit for long table names, where plain truncation would give
-- two columns the same name.
CREATE FUNCTION agno_learnings_internal.learnings_index_name(table_name name, suffix text)
RETURNS name
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN octet_length('idx_' || table_name || '_' || suffix) <= 63
                THEN 'idx_' || table_name || '_' || suffix
                ELSE 'idx_' || left(table_name, 30) || '_' || left(md5(table_name), 8) || '_' || suffix
           END::name
$$;
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_index_name(name, text) FROM PUBLIC;

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
-- and the row-level security policies (src/caller/policy.rs answers their questions).
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

-- Removes a name from the registry. The table, its rows, indexes and security stay.
CREATE FUNCTION @extschema@.learnings_unregister_table(name text)
RETURNS boolean
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT agno_learnings_internal.learnings_invalidate('agno_learnings_internal.learnings_tables'::pg_catalog.regclass);
    WITH gone AS (DELETE FROM agno_learnings_internal.learnings_tables AS t WHERE t.name = $1 RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;

-- Administration, not API: only superusers (and roles they grant it to) call these, and
-- PostgREST's roles do not see them.
REVOKE ALL ON FUNCTION @extschema@.learnings_register_table(regclass, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.learnings_unregister_table(text) FROM PUBLIC;

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

COMMENT ON FUNCTION @extschema@.learnings_unregister_table(text) IS
$$Removes a name from the learnings table registry; true when it was registered.
The table keeps its rows, indexes and row-level security.$$;

COMMENT ON FUNCTION @extschema@.learnings_register_table(regclass, text) IS
$$Registers another learnings table with the API.
Checks that the table has agno's learnings layout, adds the indexes the API needs and
makes it reachable as learnings_*(..., db_id => current_database(), "table" => name).
name defaults to the table's own name. Idempotent.$$;

