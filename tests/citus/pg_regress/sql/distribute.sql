-- distribute: the extension's table distributed over the Citus cluster (a coordinator
-- and two workers, scripts/suites/65-citus.sh) before the other tests run on it.
\set VERBOSITY default
SELECT ai.learnings_distribute();
-- Idempotent.
SELECT ai.learnings_distribute();

-- Hash-distributed by learning_id, agno's primary key, with shards on both workers.
SELECT p.partmethod, column_to_column_name(p.logicalrelid, p.partkey) AS distribution_column
  FROM pg_dist_partition AS p WHERE p.logicalrelid = 'ai.agno_learnings'::regclass;
SELECT count(DISTINCT pl.nodeport) AS nodes_with_shards, count(*) AS shards
  FROM pg_dist_shard AS s JOIN pg_dist_placement AS p USING (shardid)
  JOIN pg_dist_node AS pl ON pl.groupid = p.groupid
 WHERE s.logicalrelid = 'ai.agno_learnings'::regclass;

-- The policies ask the extension directly (Citus refuses subqueries in them); the id
-- guard stays; the counting triggers are gone (lists count on the shards).
SELECT polname, pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS with_check
  FROM pg_policy WHERE polrelid = 'ai.agno_learnings'::regclass ORDER BY polname;
SELECT tgname, tgenabled FROM pg_trigger
 WHERE tgrelid = 'ai.agno_learnings'::regclass AND NOT tgisinternal ORDER BY tgname;
SELECT count(*) AS tables_with_kept_totals FROM agno_learnings_internal.learnings_counted;

-- Re-registering keeps the distributed form.
SELECT ai.learnings_register_table('ai.agno_learnings');
SELECT count(*) AS policies_with_subqueries FROM pg_policy
 WHERE polrelid = 'ai.agno_learnings'::regclass AND pg_get_expr(polqual, polrelid) LIKE '%SELECT%';

-- Bad input.
SELECT regress.try($$SELECT ai.learnings_distribute('no_such_table')$$);
SELECT regress.try($$SELECT ai.learnings_distribute(shard_count => 0)$$);
SELECT regress.try($$SELECT ai.learnings_distribute(NULL)$$);
