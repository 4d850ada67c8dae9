-- list: learnings_list's envelope, pagination meta, sort orders and filters, on rows with
-- controlled times inserted directly (as agno itself writes them).
\set VERBOSITY default
TRUNCATE ai.agno_learnings;

-- The empty list: total_pages is 0.
SELECT ai.learnings_list();

-- Ten rows. "recent" is what the default order sorts by: updated_at, or created_at where
-- updated_at is NULL. L04, L05 and L07 tie on it (and L04/L05 on created_at too).
INSERT INTO ai.agno_learnings
  (learning_id, learning_type, namespace, user_id, agent_id, team_id, session_id, entity_id, entity_type,
   content, metadata, created_at, updated_at)
VALUES
  ('L01', 'user_profile',    NULL,     'u1', 'ag1', 't1', NULL, NULL,    NULL,     '{"n": 1}',  NULL,           1700000100, 1700000500),
  ('L02', 'user_memory',     NULL,     'u1', 'ag1', NULL, NULL, NULL,    NULL,     '{"n": 2}',  '{"m": 2}',     1700000200, NULL),
  ('L03', 'session_context', NULL,     'u2', 'ag2', NULL, 's1', NULL,    NULL,     '{"n": 3}',  NULL,           1700000300, 1700000300),
  ('L04', 'entity_memory',   'global', NULL, NULL,  NULL, NULL, 'bob',   'person', '{"n": 4}',  NULL,           1700000400, 1700000600),
  ('L05', 'entity_memory',   'acme',   NULL, NULL,  NULL, NULL, 'bob',   'person', '{"n": 5}',  NULL,           1700000400, 1700000600),
  ('L06', 'entity_memory',   'user',   'u1', NULL,  NULL, NULL, 'carol', 'person', '{"n": 6}',  NULL,           1700000500, 1700000500),
  ('L07', 'decision_log',    NULL,     NULL, 'ag2', 't2', NULL, NULL,    NULL,     '{"n": 7}',  NULL,           1700000600, NULL),
  ('L08', 'decision_log',    NULL,     NULL, 'ag1', 't1', 's2', NULL,    NULL,     '{"n": 8}',  'null',         1700000700, 1700000700),
  ('L09', 'user_profile',    NULL,     'u3', NULL,  NULL, NULL, NULL,    NULL,     '{"n": 9}',  NULL,           1700000050, 1700000800),
  ('L10', 'session_context', NULL,     NULL, 'ag1', NULL, 's2', 'acme',  'org',    '{"n": 10}', '{"m": 10}',    1700000800, NULL);

-- A list item is the same record learnings_get returns.
SELECT jsonb_pretty(ai.learnings_list("limit" => 1));
SELECT (ai.learnings_list("limit" => 1) -> 'data' -> 0) = ai.learnings_get('L09') AS item_is_get;

-- The records of a list, in order (regress.rows_of shows id, times and the recent time).
CREATE FUNCTION regress.rows_of(envelope jsonb)
RETURNS TABLE (pos bigint, learning_id text, created_at bigint, updated_at bigint, recent bigint)
LANGUAGE sql IMMUTABLE AS $$
SELECT n, r ->> 'learning_id', (r ->> 'created_at')::bigint, (r ->> 'updated_at')::bigint,
       coalesce((r ->> 'updated_at')::bigint, (r ->> 'created_at')::bigint)
  FROM jsonb_array_elements(envelope -> 'data') WITH ORDINALITY AS a(r, n)
$$;

-- Default: most recent first (updated_at, falling back to created_at); ties by learning_id.
SELECT * FROM regress.rows_of(ai.learnings_list());
SELECT ai.learnings_list() -> 'meta' AS meta;
-- asc is the exact reverse.
SELECT * FROM regress.rows_of(ai.learnings_list(sort_order => 'asc'));
-- sort_by created_at.
SELECT * FROM regress.rows_of(ai.learnings_list(sort_by => 'created_at'));
SELECT * FROM regress.rows_of(ai.learnings_list(sort_by => 'created_at', sort_order => 'asc'));

-- Any other sort_by is ignored (the default order), never an error, never run as SQL.
SELECT sort_by, regress.page(ai.learnings_list(sort_by => sort_by)) = regress.page(ai.learnings_list()) AS default_order
  FROM (VALUES ('updated_at'), ('learning_id'), ('CREATED_AT'), ('content'), (''), ('nonsense'),
               ('created_at DESC; DROP TABLE ai.agno_learnings; --'), ('1')) AS s(sort_by);
SELECT count(*) AS rows_still_there FROM ai.agno_learnings;

-- Pagination: total_pages = ceil(total_count / limit); a page past the end is empty
-- with the same meta.
SELECT p AS page, regress.page(ai.learnings_list("limit" => 3, page => p)) AS ids_and_meta
  FROM generate_series(1, 5) AS p;
SELECT l AS "limit", ai.learnings_list("limit" => l) -> 'meta' AS meta
  FROM unnest(ARRAY[1, 2, 4, 5, 9, 10, 11, 1000]) AS l;

-- Pages never repeat or skip a row: for every limit, both sort_by and both sort orders,
-- the pages put together are the whole list, in its order.
SELECT sort_by, sort_order,
       bool_and(paged = whole) AS pages_make_the_list, count(*) AS limits_checked
  FROM (VALUES (NULL), ('created_at')) AS s(sort_by),
       (VALUES ('asc'), ('desc')) AS o(sort_order),
       generate_series(1, 11) AS l,
       LATERAL (SELECT array_agg(r ->> 'learning_id' ORDER BY p, n) AS paged
                  FROM generate_series(1, 11) AS p,
                       jsonb_array_elements(ai.learnings_list("limit" => l, page => p, sort_by => s.sort_by,
                                                              sort_order => o.sort_order) -> 'data')
                         WITH ORDINALITY AS a(r, n)) AS pages,
       LATERAL (SELECT array_agg(r ->> 'learning_id' ORDER BY n) AS whole
                  FROM jsonb_array_elements(ai.learnings_list("limit" => 1000, sort_by => s.sort_by,
                                                              sort_order => o.sort_order) -> 'data')
                         WITH ORDINALITY AS a(r, n)) AS everything
 GROUP BY sort_by, sort_order ORDER BY sort_by NULLS FIRST, sort_order;

-- Filters: each column alone, then combined (AND); equality only, no patterns.
SELECT filter, regress.page(regress.eval('SELECT ai.learnings_list(' || filter || ')')) AS ids_and_meta
  FROM (VALUES
    ($$learning_type => 'user_profile'$$),
    ($$learning_type => 'entity_memory'$$),
    ($$user_id => 'u1'$$),
    ($$agent_id => 'ag1'$$),
    ($$team_id => 't1'$$),
    ($$session_id => 's2'$$),
    ($$namespace => 'global'$$),
    ($$namespace => 'user'$$),
    ($$entity_id => 'bob'$$),
    ($$entity_type => 'person'$$),
    ($$entity_id => 'acme'$$),
    ($$user_id => 'u1', learning_type => 'user_memory'$$),
    ($$agent_id => 'ag1', team_id => 't1', session_id => 's2'$$),
    ($$entity_id => 'bob', entity_type => 'person', namespace => 'acme'$$),
    ($$learning_type => 'decision_log', agent_id => 'ag1', "limit" => 1, page => 1$$),
    ($$learning_type => 'user_profile', sort_by => 'created_at', sort_order => 'asc'$$),
    ($$user_id => 'u%'$$),
    ($$user_id => 'U1'$$),
    ($$user_id => ''$$),
    ($$user_id => 'u1'' OR ''1''=''1'$$),
    ($$learning_type => 'nope'$$)) AS f(filter);

-- No match is the empty envelope: data [] and total_pages 0.
SELECT ai.learnings_list(user_id => 'nobody');

-- Lists are STABLE: they run in a read-only transaction.
BEGIN TRANSACTION READ ONLY;
SELECT regress.page(ai.learnings_list(user_id => 'u1'));
COMMIT;

DROP FUNCTION regress.rows_of(jsonb);
