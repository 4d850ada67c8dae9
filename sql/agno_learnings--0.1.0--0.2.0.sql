-- agno_learnings 0.1.0 → 0.2.0 (ALTER EXTENSION agno_learnings UPDATE).
--
-- 0.2.0 adopts an existing agno_learnings table on CREATE EXTENSION (install only) and
-- refuses DROP EXTENSION while the extension's table holds learnings (below).

CREATE FUNCTION @extschema@.learnings_guard_drop() RETURNS event_trigger
LANGUAGE c
SET search_path = pg_catalog, @extschema@, pg_temp
AS 'MODULE_PATHNAME', 'learnings_guard_drop_wrapper';
CREATE EVENT TRIGGER learnings_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION @extschema@.learnings_guard_drop();
