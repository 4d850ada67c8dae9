\set i random(1, 100000)
SELECT ai.learnings_get('id' || :i);
