\set u random(0, 999)
SELECT (SELECT jsonb_agg(to_jsonb(p)) FROM (SELECT * FROM ai.agno_learnings WHERE user_id = 'user' || :u ORDER BY COALESCE(updated_at, created_at) DESC, learning_id LIMIT 100) p),
       (SELECT count(*) FROM ai.agno_learnings WHERE user_id = 'user' || :u);
