-- Runs last in the extension script, once the functions the policies call exist.

-- The extension's own table is the default "table" of every API function.
SELECT @extschema@.learnings_register_table('@extschema@.agno_learnings');
