-- Runs last in the extension script, once the functions the policies call exist.

-- The questions the row-level security policies ask, once per statement (src/caller/policy.rs).
-- In the internal schema: PostgREST does not serve them, and no role but the extension's
-- owner can add an overload next to them. Every role subject to the policies executes
-- them.
CREATE FUNCTION agno_learnings_internal.learnings_policy_access(action text) RETURNS text
LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_policy_access_wrapper';
CREATE FUNCTION agno_learnings_internal.learnings_policy_user() RETURNS text
LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_policy_user_wrapper';
-- A distributed table's policies ask this instead, once per row (Citus refuses the
-- subqueries that make the two above run once per statement).
CREATE FUNCTION agno_learnings_internal.learnings_policy_allows(action text, owner text) RETURNS boolean
LANGUAGE c STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_policy_allows_wrapper';

-- On Citus: sends the caller to the workers (PostgREST's pre-request hook calls it), and
-- the fingerprint of this node's cluster key that learnings_distribute compares across
-- nodes (src/caller/forward.rs).
CREATE FUNCTION agno_learnings_internal.learnings_forward_caller() RETURNS void
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_forward_caller_wrapper';
CREATE FUNCTION agno_learnings_internal.learnings_cluster_key_id() RETURNS text
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_cluster_key_id_wrapper';
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_cluster_key_id() FROM PUBLIC;

-- Writes through a learnings table keep the API's id rules (src/table/row_rules.rs). A trigger
-- function runs for whoever writes, whatever its EXECUTE privilege.
CREATE FUNCTION agno_learnings_internal.learnings_guard_row() RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_guard_row_wrapper';
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_guard_row() FROM PUBLIC;

-- DROP EXTENSION (or DROP SCHEMA … CASCADE) must not delete learnings: refused while the
-- extension's table holds rows (src/table/guard.rs).
CREATE FUNCTION agno_learnings_internal.learnings_guard_drop() RETURNS event_trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'learnings_guard_drop_wrapper';
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_guard_drop() FROM PUBLIC;
CREATE EVENT TRIGGER learnings_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION agno_learnings_internal.learnings_guard_drop();

-- Keeps the owner of the extension's table recorded for pg_dump (sql/bootstrap.sql). It
-- runs as whoever altered a table; only the owner of ours or a superuser can have, and
-- only a superuser may write the record: anyone else is told what to do.
CREATE FUNCTION agno_learnings_internal.learnings_record_owner() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $record$
DECLARE
    -- Found in the catalogs, not by name: the role altering its own table may have no
    -- privilege on the extension's schema, and this must never fail its DDL.
    learnings oid := (SELECT c.oid FROM pg_catalog.pg_class AS c
                        JOIN pg_catalog.pg_extension AS e ON e.extnamespace = c.relnamespace
                       WHERE e.extname = 'agno_learnings' AND c.relname = 'agno_learnings');
BEGIN
    IF learnings IS NULL OR NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger_ddl_commands() AS c
                                         WHERE c.objid = learnings) THEN
        RETURN;
    END IF;
    -- The owner altering its own table (agno's runtime adding a column) changed no owner.
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user)
       AND (SELECT c.relowner FROM pg_catalog.pg_class AS c WHERE c.oid = learnings)
           = (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) THEN
        RETURN;
    END IF;
    BEGIN
        -- An insert replaces the record (its trigger keeps one row).
        INSERT INTO agno_learnings_internal.learnings_table_owner (owner)
        SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class AS c WHERE c.oid = learnings;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'agno_learnings: the new owner of % is not recorded for pg_dump', learnings::pg_catalog.regclass
            USING HINT = 'Change its owner as a superuser.';
    END;
END
$record$;
REVOKE ALL ON FUNCTION agno_learnings_internal.learnings_record_owner() FROM PUBLIC;
CREATE EVENT TRIGGER learnings_record_owner ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION agno_learnings_internal.learnings_record_owner();

-- The extension's own table is the default "table" of every API function.
SELECT @extschema@.learnings_register_table('@extschema@.agno_learnings'::pg_catalog.regclass,
                                           'agno_learnings'::pg_catalog.text);

-- What PostgREST's OpenAPI document (and psql's \df+) shows: a summary line, then the
-- parameters and the errors with their SQLSTATE and HTTP status.
COMMENT ON FUNCTION @extschema@.learnings_list(text, text, text, text, text, text, text, text, integer, integer, text, text, text, text) IS
$$List learnings, a page at a time, newest first.
Filters (all optional, combined with AND): learning_type, user_id, agent_id, team_id, session_id,
namespace, entity_id, entity_type. A scoped caller sees its own learnings and those with no owner.
"limit" (1-1000, default 100) and page (from 1) select the page; over HTTP pass "limit" in a
POST body, since PostgREST keeps ?limit= for itself. sort_by: created_at, else the last update
(updated_at, or created_at when never updated); sort_order: asc or desc (default). Ties are
broken by learning_id, so pages never repeat or skip a record. db_id / "table" pick another
registered learnings table.
Returns {"data": [records], "meta": {"page", "limit", "total_pages", "total_count"}}.
Errors: 401 (PT401) no valid identity; 403 (42501) another user's user_id or no learnings:read
scope; 422 (PT422) limit, page or sort_order out of range; 400 (22023) "table" without db_id;
404 (PT404) unknown db_id or table.$$;

COMMENT ON FUNCTION @extschema@.learnings_create(text, jsonb, text, text, text, text, text, text, text, jsonb, text, text) IS
$$Create a learning (201), with the id agno's stores use.
learning_type and content (a JSON object) are required. user_profile and user_memory need
user_id, session_context needs session_id, entity_memory needs entity_id and entity_type
(namespace defaults to global; namespace user also needs user_id); their id is derived from
these fields, as agno 3.1.10 derives it. Other types get a new UUID. A scoped caller's learning
is its own: user_id defaults to the caller. metadata is an optional JSON object.
Returns the record.
Errors: 409 (23505) the identity's record exists (update it instead); 422 (PT422) missing
identity fields, a reserved namespace, content not an object, an empty or oversized field;
403 (42501) another user's user_id or no learnings:write scope; 404 (PT404) the id is taken
by a record hidden from the caller, or an unknown db_id or table; 401 (PT401); 400 (22023).$$;

COMMENT ON FUNCTION @extschema@.learnings_get(text, text, text) IS
$$Get one learning by its id.
Returns the record.
Errors: 404 (PT404) no such learning, or another user's (hidden from a scoped caller);
403 (42501) no learnings:read scope; 401 (PT401); 400 (22023); 422 (PT422) no learning_id.$$;

COMMENT ON FUNCTION @extschema@.learnings_update(text, jsonb, text, text) IS
$$Update a learning's content and/or metadata.
changes is the PATCH body: {"content": {...}} and/or {"metadata": {...} or null}; each key present
replaces the stored value, {} returns the record unchanged. Identity fields never change. Never
creates a record. Sets updated_at. Returns the record.
Errors: 404 (PT404) no such learning, or another user's; 403 (42501) a learning with no owner
(admins only) or no learnings:write scope; 422 (PT422) content null or not an object, any other
key; 401 (PT401); 400 (22023).$$;

COMMENT ON FUNCTION @extschema@.learnings_delete(text, text, text) IS
$$Delete a learning (204).
Errors: 404 (PT404) no such learning, or another user's; 403 (42501) a learning with no owner
(admins only) or no learnings:delete scope; 401 (PT401); 400 (22023).$$;

COMMENT ON FUNCTION @extschema@.learnings_list_users(text, text, integer, integer, text, text, text, text) IS
$$List the users that own learnings, most recently active first.
Optional filters: learning_type, user_id (a scoped caller sees only itself). "limit" (1-1000,
default 20) and page as in learnings_list; sort_by: user_id or last_learning_updated_at
(default); sort_order: asc or desc (default).
Returns {"data": [{"user_id", "last_learning_updated_at"}], "meta": {...}}.
Errors: 403 (42501) another user_id or no learnings:read scope; 422 (PT422); 401 (PT401);
400 (22023); 404 (PT404).$$;

COMMENT ON FUNCTION @extschema@.learnings_delete_user(text, text, text, text) IS
$$Delete a user's learnings (204), optionally of one learning_type.
Learnings with no owner are never deleted; a user without learnings is still a success.
Errors: 403 (42501) another user (for a scoped caller) or no learnings:delete scope;
422 (PT422) no user_id; 401 (PT401); 400 (22023); 404 (PT404).$$;

COMMENT ON FUNCTION @extschema@.learnings_authenticate(text) IS
$$Verify a JWT and make its claims the caller for the rest of the transaction.
The token is checked against the configured keys (agno_learnings.jwt_secret_file,
jwt_public_key, jwt_jwks), algorithms, audience, issuer and leeway. A transaction
authenticated as one user cannot switch to another.
Returns {"user_id", "scopes", "admin"}.
Errors: 401 (PT401) any invalid token, and another user's token in an authenticated transaction.$$;

COMMENT ON FUNCTION agno_learnings_internal.learnings_policy_access(text) IS
$$Row-level security helper: 'all', 'own' or 'none' rows the caller may read, write or delete.$$;

COMMENT ON FUNCTION agno_learnings_internal.learnings_policy_allows(text, text) IS
$$Row-level security helper of distributed tables: whether the caller may read, write or delete a row of that owner.$$;

COMMENT ON FUNCTION agno_learnings_internal.learnings_policy_user() IS
$$Row-level security helper: the user a scoped caller is bound to, or NULL.$$;
