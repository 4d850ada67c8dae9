\set i random(1, 1000000000)
INSERT INTO ai.agno_learnings (learning_id, learning_type, session_id, content, created_at, updated_at)
VALUES ('session_context_bench' || :client_id || '_' || :i, 'session_context', 'bench' || :client_id || '_' || :i, '{"summary": "bench"}', 1, 1)
ON CONFLICT (learning_id) DO NOTHING RETURNING learning_id;
DELETE FROM ai.agno_learnings WHERE learning_id = 'session_context_bench' || :client_id || '_' || :i;
