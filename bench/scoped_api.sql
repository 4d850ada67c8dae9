\set u random(0, 999)
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "user' || :u || '", "scopes": "learnings:read"}', true);
SELECT ai.learnings_list();
COMMIT;
