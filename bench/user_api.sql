\set u random(0, 999)
SELECT ai.learnings_list(user_id => 'user' || :u);
