\set u random(0, 999)
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "user' || :u || '", "scopes": "learnings:read"}', true);
SELECT learning_id FROM ai.agno_learnings
 WHERE user_id = 'user' || :u ORDER BY COALESCE(updated_at, created_at) DESC, learning_id LIMIT 20;
COMMIT;
