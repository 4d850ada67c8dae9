-- agno_learnings 0.2.0 → 0.1.0: rolls an upgrade back
-- (ALTER EXTENSION agno_learnings UPDATE TO '0.1.0'), before reinstalling 0.1.0's
-- package. The rows and the table are untouched; only the DROP EXTENSION guard goes.

DROP EVENT TRIGGER learnings_guard_drop;
DROP FUNCTION @extschema@.learnings_guard_drop();
