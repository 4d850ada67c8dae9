\set i random(1, 100000)
SELECT to_jsonb(t) FROM ai.agno_learnings t WHERE learning_id = 'id' || :i;
