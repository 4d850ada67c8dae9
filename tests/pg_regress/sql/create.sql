-- create: learnings_create for every learning type of contract section 2, the record it
-- returns (AgentOS's LearningResponse), identity-keyed ids, 409 on an existing identity,
-- and metadata. Times are masked by regress.show ("<now>": epoch seconds within the hour).
\set VERBOSITY default
TRUNCATE ai.agno_learnings;

-- user_profile: id user_profile_{user_id}. The whole record, as AgentOS returns it.
SELECT regress.show(ai.learnings_create(
         learning_type => 'user_profile',
         content => '{"name": "Alice", "role": "engineer"}',
         user_id => 'alice', agent_id => 'agent-1', team_id => 'team-1'));

-- The record has exactly LearningResponse's keys (no workflow_id), times are epoch-second
-- integers, and a new record's updated_at is its created_at.
SELECT array_agg(k ORDER BY k) AS keys FROM jsonb_object_keys(ai.learnings_get('user_profile_alice')) AS k;
SELECT jsonb_typeof(r -> 'created_at') AS created_at, jsonb_typeof(r -> 'updated_at') AS updated_at,
       (r ->> 'created_at')::bigint = (r ->> 'updated_at')::bigint AS same,
       (r ->> 'created_at')::bigint BETWEEN extract(epoch FROM now())::bigint - 5
                                        AND extract(epoch FROM now())::bigint + 5 AS is_now_in_seconds
  FROM ai.learnings_get('user_profile_alice') AS r;

-- user_memory: memories_{user_id}.
SELECT r ->> 'learning_id' AS learning_id, r ->> 'user_id' AS user_id, r -> 'content' AS content
  FROM ai.learnings_create(learning_type => 'user_memory',
                           content => '{"memories": ["likes tea"]}', user_id => 'alice') AS r;

-- session_context: session_context_{session_id} (the user id is kept but not part of the id).
SELECT r ->> 'learning_id' AS learning_id, r ->> 'session_id' AS session_id, r ->> 'user_id' AS user_id
  FROM ai.learnings_create(learning_type => 'session_context', content => '{"summary": "planning"}',
                           session_id => 'sess-1', user_id => 'alice') AS r;

-- entity_memory without a namespace: the global default, stored as 'global'.
SELECT r ->> 'learning_id' AS learning_id, r ->> 'namespace' AS namespace,
       r ->> 'entity_id' AS entity_id, r ->> 'entity_type' AS entity_type
  FROM ai.learnings_create(learning_type => 'entity_memory', content => '{"facts": ["friend of Alice"]}',
                           entity_id => 'bob', entity_type => 'person') AS r;
SELECT learning_id, namespace FROM ai.agno_learnings WHERE learning_id = 'entity_global_person_bob';

-- An empty namespace is the same default: the same identity, so 409 naming that id.
SELECT regress.try($$SELECT ai.learnings_create(learning_type => 'entity_memory', content => '{}',
                     namespace => '', entity_id => 'bob', entity_type => 'person')$$);

-- entity_memory in a custom namespace: entity_{namespace}_{entity_type}_{entity_id}.
SELECT r ->> 'learning_id' AS learning_id, r ->> 'namespace' AS namespace
  FROM ai.learnings_create(learning_type => 'entity_memory', content => '{"facts": ["customer"]}',
                           namespace => 'acme', entity_id => 'bob', entity_type => 'person') AS r;

-- entity_memory in the "user" namespace: the owner's sha256 digest (first 16 hex chars)
-- is part of the id, so each user has their own record of the entity.
SELECT r ->> 'learning_id' AS learning_id, r ->> 'namespace' AS namespace, r ->> 'user_id' AS user_id
  FROM ai.learnings_create(learning_type => 'entity_memory', content => '{"facts": ["Alice''s manager"]}',
                           namespace => 'user', user_id => 'alice@example.com',
                           entity_id => 'bob', entity_type => 'person') AS r;
SELECT 'entity_user_' || left(encode(sha256('alice@example.com'::bytea), 'hex'), 16) || '_person_bob'
       AS expected_from_sha256;
SELECT r ->> 'learning_id' AS learning_id
  FROM ai.learnings_create(learning_type => 'entity_memory', content => '{"facts": ["a colleague"]}',
                           namespace => 'user', user_id => 'carol',
                           entity_id => 'bob', entity_type => 'person') AS r;

-- Any other type (decision_log, ...) gets a new 36-character UUID; the same fields twice
-- give two records. The type match is exact: 'User_Profile' is just another type.
SELECT length(r ->> 'learning_id') AS id_length,
       (r ->> 'learning_id')::uuid IS NOT NULL AS is_uuid,
       r ->> 'learning_type' AS learning_type, r -> 'content' AS content
  FROM ai.learnings_create(learning_type => 'decision_log', content => '{"decision": "use postgres"}',
                           agent_id => 'agent-1') AS r;
SELECT regress.show(ai.learnings_create(learning_type => 'decision_log', content => '{"decision": "use postgres"}',
                                        agent_id => 'agent-1'));
SELECT length(r ->> 'learning_id') AS id_length, r ->> 'learning_type' AS learning_type, r ->> 'user_id' AS user_id
  FROM ai.learnings_create(learning_type => 'User_Profile', content => '{}', user_id => 'alice') AS r;
SELECT learning_type, count(*), count(DISTINCT learning_id) AS distinct_ids,
       bool_and(length(learning_id) = 36) AS all_uuids
  FROM ai.agno_learnings WHERE learning_type IN ('decision_log', 'User_Profile')
 GROUP BY learning_type ORDER BY learning_type;

-- An identity-keyed record that exists: 409 (23505) naming the id and pointing to the
-- update; the stored record is untouched, and no second row appears.
SELECT regress.fingerprint() AS before \gset
SELECT regress.try($$SELECT ai.learnings_create(learning_type => 'user_profile',
                     content => '{"name": "Mallory"}', user_id => 'alice')$$);
SELECT regress.try($$SELECT ai.learnings_create(learning_type => 'user_memory',
                     content => '{"memories": []}', user_id => 'alice', metadata => '{"x": 1}')$$);
SELECT regress.try($$SELECT ai.learnings_create(learning_type => 'session_context',
                     content => '{}', session_id => 'sess-1')$$);
SELECT regress.try($$SELECT ai.learnings_create(learning_type => 'entity_memory', content => '{}',
                     namespace => 'user', user_id => 'alice@example.com',
                     entity_id => 'bob', entity_type => 'person')$$);
SELECT regress.fingerprint() = :'before' AS unchanged;
SELECT ai.learnings_get('user_profile_alice') -> 'content' AS content;

-- The same 409 as psql shows it to a user.
SELECT ai.learnings_create(learning_type => 'user_profile', content => '{"name": "Mallory"}',
                           user_id => 'alice');

-- metadata: omitted → null; an object is stored as given; JSON null reads back as null.
SELECT r ->> 'learning_id' AS learning_id, r -> 'metadata' AS metadata, jsonb_typeof(r -> 'metadata') AS type
  FROM ai.learnings_create(learning_type => 'user_profile', content => '{}', user_id => 'dave') AS r;
SELECT r ->> 'learning_id' AS learning_id, r -> 'metadata' AS metadata
  FROM ai.learnings_create(learning_type => 'user_profile', content => '{}', user_id => 'erin',
                           metadata => '{"source": "import", "tags": ["a", "b"], "n": 1}') AS r;
SELECT r ->> 'learning_id' AS learning_id, r -> 'metadata' AS metadata, jsonb_typeof(r -> 'metadata') AS type
  FROM ai.learnings_create(learning_type => 'user_profile', content => '{}', user_id => 'frank',
                           metadata => 'null') AS r;
-- Rows agno wrote itself: metadata as JSON null or SQL NULL both read back as null.
INSERT INTO ai.agno_learnings (learning_id, learning_type, user_id, content, metadata, created_at, updated_at)
VALUES ('user_profile_json_null', 'user_profile', 'json_null', '{}', 'null'::jsonb, 1700000000, 1700000000),
       ('user_profile_sql_null', 'user_profile', 'sql_null', '{}', NULL, 1700000000, NULL);
SELECT id, ai.learnings_get(id) -> 'metadata' AS metadata, jsonb_typeof(ai.learnings_get(id) -> 'metadata') AS type,
       ai.learnings_get(id) -> 'updated_at' AS updated_at
  FROM unnest(ARRAY['user_profile_json_null', 'user_profile_sql_null']) AS id;

-- content is stored and returned exactly, numbers included (no float rounding, no
-- overflow on numbers beyond a double's range).
\set content '{"pi": 3.14159265358979323846264338327950288, "tiny": 0.1000000000000000000001, "huge": 1e400, "nested": {"list": [1, "two", null, true, {}]}, "text": "ünï ✓"}'
SELECT r -> 'content' = :'content'::jsonb AS create_exact, r #> '{content,pi}' AS pi, r #> '{content,tiny}' AS tiny,
       r #> '{content,huge}' = '1e400'::jsonb AS huge_exact, r #> '{content,text}' AS text
  FROM ai.learnings_create(learning_type => 'user_profile', user_id => 'grace', content => :'content') AS r;
SELECT ai.learnings_get('user_profile_grace') -> 'content' = :'content'::jsonb AS get_exact;

-- What the table holds, and get returns the same (the table row minus workflow_id).
SELECT learning_id, learning_type, namespace, user_id, agent_id, team_id, workflow_id, session_id,
       entity_id, entity_type
  FROM ai.agno_learnings WHERE learning_type <> 'decision_log' AND learning_type <> 'User_Profile'
 ORDER BY learning_id;
-- (The rows are read first: on Citus, an API call inside a query on the distributed
-- table would run on the workers, where Citus refuses the nested distributed query.)
WITH t AS MATERIALIZED (SELECT * FROM ai.agno_learnings)
SELECT count(*) AS records,
       bool_and(ai.learnings_get(t.learning_id) = to_jsonb(t) - 'workflow_id') AS get_matches_table
  FROM t;
