-- errors: every bad input of the contract gets its SQLSTATE (section 4) and a clear
-- message, and changes nothing. regress.try(statement) shows "SQLSTATE: message" (see
-- setup.sql); a few errors are also shown the way psql prints them.
\set VERBOSITY default
TRUNCATE ai.agno_learnings;
SELECT r ->> 'learning_id' AS learning_id
  FROM (VALUES (ai.learnings_create(learning_type => 'user_profile', content => '{"name": "Alice"}', user_id => 'alice')),
               (ai.learnings_create(learning_type => 'session_context', content => '{"summary": "s"}', session_id => 'sess-1')),
               (ai.learnings_create(learning_type => 'entity_memory', content => '{"facts": []}',
                                    entity_id => 'bob', entity_type => 'person'))) AS v(r)
 ORDER BY 1;
-- Make the rows' times old, so that an update that should not have happened would show.
UPDATE ai.agno_learnings SET created_at = 1700000000, updated_at = 1700000000;
SELECT regress.fingerprint() AS before \gset

-- As psql shows an error (VERBOSITY default), and its SQLSTATE, which PostgREST maps to
-- the HTTP status.
SELECT ai.learnings_list("limit" => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT ai.learnings_get('no-such-id');
\echo :LAST_ERROR_SQLSTATE
SELECT ai.learnings_list("table" => 'agno_learnings');
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------------------
-- Paging and sorting of lists: limit 1-1000, page >= 1, sort_order asc or desc → PT422.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_list("limit" => 0)$$),
  ($$learnings_list("limit" => 1001)$$),
  ($$learnings_list("limit" => -1)$$),
  ($$learnings_list("limit" => -2147483648)$$),
  ($$learnings_list(page => 0)$$),
  ($$learnings_list(page => -1)$$),
  ($$learnings_list(sort_order => 'sideways')$$),
  ($$learnings_list(sort_order => 'ASC')$$),
  ($$learnings_list(sort_order => '')$$),
  ($$learnings_list(sort_order => 'desc; DROP TABLE ai.agno_learnings')$$),
  ($$learnings_list_users("limit" => 0)$$),
  ($$learnings_list_users("limit" => 1001)$$),
  ($$learnings_list_users("limit" => -1)$$),
  ($$learnings_list_users(page => 0)$$),
  ($$learnings_list_users(sort_order => 'sideways')$$)) AS c(call);
-- The bounds themselves are fine; a page past the end is an empty page; NULL means the
-- default.
SELECT call, regress.page(regress.eval('SELECT ai.' || call)) AS page FROM (VALUES
  ($$learnings_list("limit" => 1)$$),
  ($$learnings_list("limit" => 1000)$$),
  ($$learnings_list(page => 2147483647, "limit" => 1000)$$),
  ($$learnings_list("limit" => NULL, page => NULL, sort_order => NULL)$$),
  ($$learnings_list(sort_order => 'asc')$$),
  ($$learnings_list_users("limit" => 1000, page => 2147483647)$$),
  ($$learnings_list_users("limit" => NULL, page => NULL, sort_order => NULL)$$)) AS c(call);
SELECT regress.fingerprint() = :'before' AS unchanged;

------------------------------------------------------------------------------------------
-- learnings_create: content must be a JSON object; metadata an object or null.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_create(learning_type => 'decision_log', content => '[1, 2]')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '"text"')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '42')$$),
  ($$learnings_create(learning_type => 'decision_log', content => 'true')$$),
  ($$learnings_create(learning_type => 'decision_log', content => 'null')$$),
  ($$learnings_create(learning_type => 'decision_log', content => NULL)$$),
  ($$learnings_create(learning_type => 'decision_log')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', metadata => '[]')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', metadata => '"m"')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', metadata => '0')$$)) AS c(call);

-- learning_type is required; identity-keyed types need their identity fields; an empty
-- string is no value.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_create(content => '{}')$$),
  ($$learnings_create(learning_type => NULL, content => '{}', user_id => 'alice')$$),
  ($$learnings_create(learning_type => '', content => '{}')$$),
  ($$learnings_create(learning_type => 'user_profile', content => '{}')$$),
  ($$learnings_create(learning_type => 'user_profile', content => '{}', user_id => '')$$),
  ($$learnings_create(learning_type => 'user_memory', content => '{}', session_id => 'sess-1')$$),
  ($$learnings_create(learning_type => 'session_context', content => '{}', user_id => 'alice')$$),
  ($$learnings_create(learning_type => 'session_context', content => '{}', session_id => '')$$),
  ($$learnings_create(learning_type => 'entity_memory', content => '{}', entity_id => 'bob')$$),
  ($$learnings_create(learning_type => 'entity_memory', content => '{}', entity_type => 'person')$$),
  ($$learnings_create(learning_type => 'entity_memory', content => '{}', entity_id => '', entity_type => 'person')$$),
  ($$learnings_create(learning_type => 'entity_memory', content => '{}', namespace => 'user', entity_id => 'bob', entity_type => 'person')$$),
  ($$learnings_create(learning_type => 'entity_memory', content => '{}', namespace => 'user', user_id => '', entity_id => 'bob', entity_type => 'person')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', agent_id => '')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', team_id => '')$$)) AS c(call);

-- Namespaces shaped like a "user" namespace key segment are reserved for entity_memory.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_create(learning_type => 'entity_memory', content => '{}', namespace => 'user_0123456789abcdef', entity_id => 'bob', entity_type => 'person')$$),
  ($$learnings_create(learning_type => 'entity_memory', content => '{}', namespace => 'user_ff8d9819fc0e12bf_person', entity_id => 'bob', entity_type => 'person')$$)) AS c(call);
-- ...but only that exact shape.
SELECT r ->> 'learning_id' AS learning_id, r ->> 'namespace' AS namespace
  FROM (VALUES (ai.learnings_create(learning_type => 'entity_memory', content => '{}', namespace => 'user_0123456789ABCDEF',
                                    entity_id => 'bob', entity_type => 'person')),
               (ai.learnings_create(learning_type => 'entity_memory', content => '{}', namespace => 'users_0123456789abcdef',
                                    entity_id => 'bob', entity_type => 'person'))) AS v(r);
DELETE FROM ai.agno_learnings WHERE namespace IN ('user_0123456789ABCDEF', 'users_0123456789abcdef');

-- Oversized values: an identity field of 10 kB, and a derived id over 1 kB, are refused
-- with 422 (not an index error); the message does not echo the whole value.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_create(learning_type => 'user_profile', content => '{}', user_id => repeat('x', 10240))$$),
  ($$learnings_create(learning_type => repeat('t', 10240), content => '{}')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', agent_id => repeat('a', 513))$$),
  ($$learnings_create(learning_type => 'user_profile', content => '{}', user_id => repeat('🦀', 129))$$),
  ($$learnings_create(learning_type => 'entity_memory', content => '{}', namespace => repeat('n', 510), entity_id => repeat('i', 510), entity_type => 'person')$$)) AS c(call);
-- At the limit (512 bytes) it works.
SELECT length(r ->> 'learning_id') AS id_length
  FROM ai.learnings_create(learning_type => 'user_profile', content => '{}', user_id => repeat('x', 512)) AS r;
SELECT ai.learnings_delete('user_profile_' || repeat('x', 512));
-- Reading, updating or deleting by a 10 kB id is simply not found.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_get(repeat('x', 10240))$$),
  ($$learnings_update(repeat('x', 10240), '{"content": {}}')$$),
  ($$learnings_delete(repeat('x', 10240))$$),
  ($$learnings_list(user_id => repeat('x', 10240))$$)) AS c(call);
SELECT regress.fingerprint() = :'before' AS unchanged;

------------------------------------------------------------------------------------------
-- Odd Unicode in ids is not an error: emoji (with a zero-width joiner), right-to-left
-- text (Hebrew, an RTL override), combining characters (kept as given: 'e' + U+0301 is
-- another user than the precomposed 'é'), quotes and backslashes.
CREATE TEMP TABLE odd (label text, user_id text);
INSERT INTO odd VALUES
  ('emoji', '🦀👩‍👩‍👧'),
  ('hebrew', 'שלום'),
  ('rtl override', U&'abc\202Edef'),
  ('combining', U&'e\0301'),
  ('precomposed', U&'\00E9'),
  ('quotes', $$O'Brien "\x" \\$$);
SELECT label, length(user_id) AS chars, octet_length(user_id) AS bytes,
       r ->> 'learning_id' = 'user_profile_' || user_id AS id_ok, r ->> 'user_id' = user_id AS user_id_ok
  FROM odd, ai.learnings_create(learning_type => 'user_profile', content => '{}', user_id => odd.user_id) AS r
 ORDER BY label;
-- In the "user" namespace the digest is sha256 of the UTF-8 bytes, as agno computes it.
SELECT label,
       r ->> 'learning_id' = 'entity_user_' || left(encode(sha256(convert_to(user_id, 'UTF8')), 'hex'), 16)
                             || '_person_bob' AS digest_ok
  FROM odd, ai.learnings_create(learning_type => 'entity_memory', content => '{}', namespace => 'user',
                                user_id => odd.user_id, entity_id => 'bob', entity_type => 'person') AS r
 ORDER BY label;
-- Unicode in every other identity field too.
SELECT r ->> 'learning_id' AS learning_id
  FROM ai.learnings_create(learning_type => 'entity_memory', content => '{"ключ": "значение"}',
                           namespace => 'חברה', entity_id => '鮑勃', entity_type => '👤') AS r;
-- They read back, list, update and delete like any other id.
SELECT label, ai.learnings_get('user_profile_' || user_id) ->> 'user_id' = user_id AS get_ok,
       (ai.learnings_list(user_id => user_id) -> 'meta' ->> 'total_count')::int AS listed,
       ai.learnings_update('user_profile_' || user_id, '{"content": {"ok": true}}') -> 'content' AS updated
  FROM odd ORDER BY label;
SELECT ai.learnings_delete('user_profile_' || user_id) FROM odd;
SELECT ai.learnings_delete_user(user_id) FROM odd;
SELECT ai.learnings_delete('entity_חברה_👤_鮑勃');
SELECT regress.fingerprint() = :'before' AS unchanged;

------------------------------------------------------------------------------------------
-- learnings_update: changes is a JSON object of content and/or metadata only.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_update('user_profile_alice', '{"user_id": "mallory"}')$$),
  ($$learnings_update('user_profile_alice', '{"content": {"a": 1}, "user_id": "mallory"}')$$),
  ($$learnings_update('user_profile_alice', '{"learning_id": "x"}')$$),
  ($$learnings_update('user_profile_alice', '{"created_at": 1}')$$),
  ($$learnings_update('user_profile_alice', '{"unknown": 1}')$$),
  ($$learnings_update('user_profile_alice', '{"Content": {}}')$$),
  ($$learnings_update('user_profile_alice', '{"content": null}')$$),
  ($$learnings_update('user_profile_alice', '{"content": null, "metadata": {}}')$$),
  ($$learnings_update('user_profile_alice', '{"content": [1]}')$$),
  ($$learnings_update('user_profile_alice', '{"content": "text"}')$$),
  ($$learnings_update('user_profile_alice', '{"metadata": [1]}')$$),
  ($$learnings_update('user_profile_alice', '{"metadata": 1}')$$),
  ($$learnings_update('user_profile_alice', '[]')$$),
  ($$learnings_update('user_profile_alice', '"content"')$$),
  ($$learnings_update('user_profile_alice', 'null')$$),
  ($$learnings_update('user_profile_alice', NULL)$$),
  ($$learnings_update('user_profile_alice')$$),
  ($$learnings_update(NULL, '{"content": {}}')$$),
  ($$learnings_update('no-such-id', '{"content": {}}')$$),
  ($$learnings_update('no-such-id', '{}')$$)) AS c(call);
SELECT regress.fingerprint() = :'before' AS unchanged;

-- get, delete, delete_user: a missing id is 404, no id at all 422.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_get('no-such-id')$$),
  ($$learnings_get('')$$),
  ($$learnings_get(NULL)$$),
  ($$learnings_get()$$),
  ($$learnings_delete('no-such-id')$$),
  ($$learnings_delete(NULL)$$),
  ($$learnings_delete_user(NULL)$$),
  ($$learnings_delete_user('')$$)) AS c(call);
SELECT regress.fingerprint() = :'before' AS unchanged;

------------------------------------------------------------------------------------------
-- db_id and "table": "table" without db_id → 22023 (400), for every function.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_list("table" => 'agno_learnings')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', "table" => 'agno_learnings')$$),
  ($$learnings_get('user_profile_alice', "table" => 'agno_learnings')$$),
  ($$learnings_update('user_profile_alice', '{"content": {}}', "table" => 'agno_learnings')$$),
  ($$learnings_delete('user_profile_alice', "table" => 'agno_learnings')$$),
  ($$learnings_list_users("table" => 'agno_learnings')$$),
  ($$learnings_delete_user('alice', "table" => 'agno_learnings')$$)) AS c(call);

-- db_id must name the current database, else 404 (PT404), for every function.
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_list(db_id => 'postgres')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', db_id => 'postgres')$$),
  ($$learnings_get('user_profile_alice', db_id => 'postgres')$$),
  ($$learnings_update('user_profile_alice', '{"content": {}}', db_id => 'postgres')$$),
  ($$learnings_delete('user_profile_alice', db_id => 'postgres')$$),
  ($$learnings_list_users(db_id => 'postgres')$$),
  ($$learnings_delete_user('alice', db_id => 'postgres')$$),
  ($$learnings_list(db_id => 'no_such_db', "table" => 'agno_learnings')$$),
  ($$learnings_list(db_id => '')$$),
  ($$learnings_list(db_id => upper(current_database()))$$)) AS c(call);

-- With db_id the current database, "table" must name a registered learnings table: an
-- existing but unregistered table, a schema-qualified or quoted name, a name with quotes
-- or SQL in it, a nonexistent schema → 404, and nothing is run or dropped.
CREATE TABLE public.unregistered (LIKE ai.agno_learnings INCLUDING ALL);
SELECT call, regress.try('SELECT ai.' || call) AS result FROM (VALUES
  ($$learnings_list(db_id => current_database(), "table" => 'unregistered')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'public.unregistered')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'ai.agno_learnings')$$),
  ($$learnings_list(db_id => current_database(), "table" => '"agno_learnings"')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'AGNO_LEARNINGS')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'nope.agno_learnings')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'agno_learnings"; DROP TABLE public.unregistered; --')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'x'' OR ''1''=''1')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'learnings_tables')$$),
  ($$learnings_list(db_id => current_database(), "table" => 'pg_class')$$),
  ($$learnings_list(db_id => current_database(), "table" => '')$$),
  ($$learnings_create(learning_type => 'decision_log', content => '{}', db_id => current_database(), "table" => 'unregistered')$$),
  ($$learnings_get('user_profile_alice', db_id => current_database(), "table" => 'unregistered')$$),
  ($$learnings_update('user_profile_alice', '{"content": {}}', db_id => current_database(), "table" => 'unregistered')$$),
  ($$learnings_delete('user_profile_alice', db_id => current_database(), "table" => 'unregistered')$$),
  ($$learnings_list_users(db_id => current_database(), "table" => 'unregistered')$$),
  ($$learnings_delete_user('alice', db_id => current_database(), "table" => 'unregistered')$$)) AS c(call);
SELECT to_regclass('public.unregistered') IS NOT NULL AS still_there, count(*) AS rows FROM public.unregistered;
DROP TABLE public.unregistered;

-- db_id alone (the current database) is the default table.
SELECT regress.page(ai.learnings_list(db_id => current_database()));
SELECT regress.page(ai.learnings_list(db_id => current_database(), "table" => 'agno_learnings'));

-- After all of the above, the table is exactly as it was.
SELECT regress.fingerprint() = :'before' AS unchanged;
SELECT learning_id, content, created_at, updated_at FROM ai.agno_learnings ORDER BY learning_id;
