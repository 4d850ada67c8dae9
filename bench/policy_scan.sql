\set u random(0, 999)
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "user' || :u || '", "scopes": "learnings:read"}', true);
SELECT count(*) FROM ai.agno_learnings;
COMMIT;
