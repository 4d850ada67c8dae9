-- users: learnings_list_users (the owners of learnings, by last activity) and
-- learnings_delete_user (a user's rows, optionally of one type; never shared rows).
\set VERBOSITY default
TRUNCATE ai.agno_learnings;
SELECT ai.learnings_list_users();

INSERT INTO ai.agno_learnings
  (learning_id, learning_type, namespace, user_id, entity_id, entity_type, content, created_at, updated_at)
VALUES
  ('user_profile_alice',  'user_profile',  NULL,     'alice', NULL,    NULL,     '{}', 1700000000, 1700000500),
  ('memories_alice',      'user_memory',   NULL,     'alice', NULL,    NULL,     '{}', 1700000300, NULL),
  ('entity_user_2bd806c97f0e00af_person_bob',
                          'entity_memory', 'user',   'alice', 'bob',   'person', '{}', 1700000000, 1700000900),
  ('user_profile_bob',    'user_profile',  NULL,     'bob',   NULL,    NULL,     '{}', 1700000000, 1700000700),
  ('memories_carol',      'user_memory',   NULL,     'carol', NULL,    NULL,     '{}', 1700000800, NULL),
  ('user_profile_dave',   'user_profile',  NULL,     'dave',  NULL,    NULL,     '{}', 1700000000, 1700000100),
  ('decision_erin',       'decision_log',  NULL,     'erin',  NULL,    NULL,     '{}', 1700000600, 1700000600),
  ('memories_frank',      'user_memory',   NULL,     'frank', NULL,    NULL,     '{}', 1700000000, 1700000700),
  -- shared rows (no owner), the most recent of all: never listed as a user, never deleted
  ('entity_global_person_bob', 'entity_memory', 'global', NULL, 'bob', 'person', '{}', 1700000000, 1700001000),
  ('decision_shared',     'decision_log',  NULL,     NULL,    NULL,    NULL,     '{}', 1700000950, NULL);

-- Owners grouped by user_id, {user_id, last_learning_updated_at} (the latest of
-- updated_at, or created_at where it is NULL), most recent first; ties by user_id.
SELECT jsonb_pretty(ai.learnings_list_users());
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(ai.learnings_list_users() -> 'data' -> 0) AS k) AS item_keys;

-- Sorting: by last_learning_updated_at (default) or user_id, asc or desc; any other
-- sort_by is the default.
SELECT sort_by, sort_order, regress.page(ai.learnings_list_users(sort_by => sort_by, sort_order => sort_order)) AS users_and_meta
  FROM (VALUES (NULL, 'desc'), (NULL, 'asc'), ('last_learning_updated_at', 'desc'),
               ('last_learning_updated_at', 'asc'), ('user_id', 'desc'), ('user_id', 'asc'),
               ('created_at', 'desc'), ('user_id; DROP TABLE ai.agno_learnings', 'asc')) AS s(sort_by, sort_order);

-- Filters: learning_type restricts the grouping to one store; user_id to one user.
SELECT filter, regress.page(regress.eval('SELECT ai.learnings_list_users(' || filter || ')')) AS users_and_meta
  FROM (VALUES ($$learning_type => 'user_profile'$$),
               ($$learning_type => 'user_memory'$$),
               ($$learning_type => 'entity_memory'$$),
               ($$learning_type => 'decision_log'$$),
               ($$user_id => 'alice'$$),
               ($$user_id => 'alice', learning_type => 'user_profile'$$),
               ($$user_id => 'alice', learning_type => 'decision_log'$$),
               ($$user_id => 'nobody'$$)) AS f(filter);
SELECT jsonb_pretty(ai.learnings_list_users(learning_type => 'user_profile', sort_by => 'user_id', sort_order => 'asc'));

-- Pages: total_pages = ceil(users / limit); the pages together are every user once.
SELECT p AS page, regress.page(ai.learnings_list_users("limit" => 4, page => p)) AS users_and_meta
  FROM generate_series(1, 3) AS p;
SELECT sort_by, sort_order, bool_and(paged = whole) AS pages_make_the_list
  FROM (VALUES (NULL), ('user_id')) AS s(sort_by), (VALUES ('asc'), ('desc')) AS o(sort_order),
       generate_series(1, 7) AS l,
       LATERAL (SELECT array_agg(u ->> 'user_id' ORDER BY p, n) AS paged
                  FROM generate_series(1, 7) AS p,
                       jsonb_array_elements(ai.learnings_list_users("limit" => l, page => p, sort_by => s.sort_by,
                                                                    sort_order => o.sort_order) -> 'data')
                         WITH ORDINALITY AS a(u, n)) AS pages,
       LATERAL (SELECT array_agg(u ->> 'user_id' ORDER BY n) AS whole
                  FROM jsonb_array_elements(ai.learnings_list_users("limit" => 1000, sort_by => s.sort_by,
                                                                    sort_order => o.sort_order) -> 'data')
                         WITH ORDINALITY AS a(u, n)) AS everything
 GROUP BY sort_by, sort_order ORDER BY sort_by NULLS FIRST, sort_order;

------------------------------------------------------------------------------------------
-- learnings_delete_user: one type of one user.
SELECT ai.learnings_delete_user('alice', 'user_memory');
SELECT learning_id, user_id FROM ai.agno_learnings WHERE user_id = 'alice' OR user_id IS NULL ORDER BY learning_id;

-- All of one user's rows, every type (the "user" namespace entity record included).
SELECT ai.learnings_delete_user('alice');
SELECT learning_id, user_id FROM ai.agno_learnings ORDER BY learning_id;
SELECT regress.page(ai.learnings_list_users());

-- No rows to delete is still a success, and changes nothing: an unknown user, a type the
-- user has none of, a user already deleted.
SELECT regress.fingerprint() AS before \gset
SELECT ai.learnings_delete_user('nobody');
SELECT ai.learnings_delete_user('bob', 'decision_log');
SELECT ai.learnings_delete_user('alice');
SELECT regress.fingerprint() = :'before' AS unchanged;

-- Rows with no owner are never deleted this way: the shared rows are still there after
-- every user is deleted.
SELECT ai.learnings_delete_user(u) FROM (VALUES ('bob'), ('carol'), ('dave'), ('erin'), ('frank')) AS v(u);
SELECT learning_id, user_id FROM ai.agno_learnings ORDER BY learning_id;
SELECT ai.learnings_list_users();
