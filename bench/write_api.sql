\set i random(1, 1000000000)
SELECT ai.learnings_create(learning_type => 'session_context', session_id => 'bench' || :client_id || '_' || :i, content => '{"summary": "bench"}');
SELECT ai.learnings_delete('session_context_bench' || :client_id || '_' || :i);
