-- update_delete: learnings_update (a PATCH of content and/or metadata) and
-- learnings_delete. Rows start with old times, so a changed updated_at shows as "<now>".
\set VERBOSITY default
TRUNCATE ai.agno_learnings;
INSERT INTO ai.agno_learnings
  (learning_id, learning_type, namespace, user_id, agent_id, team_id, session_id, entity_id, entity_type,
   content, metadata, created_at, updated_at)
VALUES
  ('user_profile_alice', 'user_profile', NULL, 'alice', 'agent-1', 'team-1', NULL, NULL, NULL,
   '{"name": "Alice", "role": "engineer"}', '{"source": "agent"}', 1700000000, 1700000100),
  ('memories_alice', 'user_memory', NULL, 'alice', NULL, NULL, NULL, NULL, NULL,
   '{"memories": ["likes tea"]}', NULL, 1700000000, NULL),
  ('entity_global_person_bob', 'entity_memory', 'global', NULL, NULL, NULL, NULL, 'bob', 'person',
   '{"facts": []}', NULL, 1700000000, 1700000000);

-- content only: replaced as a whole (not merged); metadata, identity and created_at
-- unchanged; updated_at set to now.
SELECT regress.show(ai.learnings_update('user_profile_alice', '{"content": {"role": "manager"}}'));

-- metadata only: content unchanged.
SELECT r -> 'content' AS content, r -> 'metadata' AS metadata
  FROM ai.learnings_update('user_profile_alice', '{"metadata": {"source": "api", "reviewed": true}}') AS r;

-- metadata null clears it; an empty object is an object.
SELECT r -> 'content' AS content, r -> 'metadata' AS metadata
  FROM ai.learnings_update('user_profile_alice', '{"metadata": null}') AS r;
SELECT r -> 'content' AS content, r -> 'metadata' AS metadata
  FROM ai.learnings_update('user_profile_alice', '{"content": {}, "metadata": {}}') AS r;

-- Both at once.
SELECT r -> 'content' AS content, r -> 'metadata' AS metadata
  FROM ai.learnings_update('user_profile_alice', '{"content": {"name": "Alice"}, "metadata": {"v": 2}}') AS r;

-- What update returned is what get returns.
CREATE TEMP TABLE updated AS
  SELECT ai.learnings_update('user_profile_alice', '{"metadata": {"v": 3}}') AS r;
SELECT r = ai.learnings_get('user_profile_alice') AS same, r -> 'metadata' AS metadata FROM updated;
DROP TABLE updated;

-- updated_at moves to now, also where agno left it NULL; created_at never changes.
SELECT learning_id, created_at, updated_at FROM ai.agno_learnings WHERE learning_id = 'memories_alice';
SELECT r -> 'content' AS content, r -> 'created_at' AS created_at,
       (r ->> 'updated_at')::bigint BETWEEN extract(epoch FROM now())::bigint - 5
                                        AND extract(epoch FROM now())::bigint + 5 AS updated_now
  FROM ai.learnings_update('memories_alice', '{"content": {"memories": ["likes tea", "hates coffee"]}}') AS r;

-- {} changes nothing, not even updated_at, and returns the record.
UPDATE ai.agno_learnings SET updated_at = 1700000200 WHERE learning_id = 'user_profile_alice';
SELECT regress.fingerprint() AS before \gset
SELECT regress.show(ai.learnings_update('user_profile_alice', '{}'));
SELECT regress.fingerprint() = :'before' AS unchanged;

-- Identity fields are immutable: a changes object naming one is refused as a whole (the
-- content beside it is not applied either).
SELECT regress.try($$SELECT ai.learnings_update('user_profile_alice',
                     '{"content": {"name": "Mallory"}, "user_id": "mallory"}')$$);
SELECT regress.try($$SELECT ai.learnings_update('user_profile_alice', '{"learning_type": "user_memory"}')$$);
SELECT regress.fingerprint() = :'before' AS unchanged;

-- A shared row (no owner) is updated like any other by an unscoped caller.
SELECT r -> 'content' AS content, r ->> 'namespace' AS namespace, r ->> 'user_id' AS user_id
  FROM ai.learnings_update('entity_global_person_bob', '{"content": {"facts": ["plays chess"]}}') AS r;

------------------------------------------------------------------------------------------
-- learnings_delete returns void (204 over HTTP); the record is gone, nothing else is.
SELECT ai.learnings_delete('memories_alice');
SELECT pg_typeof(ai.learnings_delete('entity_global_person_bob')) AS returns;
SELECT regress.try($$SELECT ai.learnings_get('memories_alice')$$) AS get_after_delete;
SELECT regress.try($$SELECT ai.learnings_delete('memories_alice')$$) AS delete_again;
-- An update never re-creates a deleted record.
SELECT regress.try($$SELECT ai.learnings_update('memories_alice', '{"content": {"memories": []}}')$$) AS update_after_delete;
SELECT regress.try($$SELECT ai.learnings_update('memories_alice', '{}')$$) AS empty_update_after_delete;
SELECT learning_id FROM ai.agno_learnings ORDER BY learning_id;

-- The same, as psql shows it.
SELECT ai.learnings_delete('memories_alice');
