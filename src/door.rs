//! The door: every function PostgreSQL calls, and the one place where an error becomes
//! what its caller sees.
//!
//! Layer: door (uses every layer below: api, table, caller, identity, base). Each
//! wrapper takes PostgreSQL's arguments, calls one function of a lower layer and hands
//! its result to [`answer`]. An error is raised with its own SQLSTATE for psql and
//! drivers, and in PostgREST's own form when the statement serves a PostgREST request
//! (here, or on the Citus node that forwarded it): see `ApiError::for_postgrest`.
//!
//! The SQL API's functions are declared by pgrx from the signatures below; the others
//! (`sql = false`) by sql/finalize.sql, in the internal schema, with their privileges.

use pgrx::prelude::*;
use pgrx::AllocatedByPostgres;

use crate::api::{learnings, session};
use crate::base::citus;
use crate::base::errors::{self, ApiResult};
use crate::base::jsonb::Jsonb;
use crate::caller::{forward, policy};
use crate::table::{guard, row_rules, target};

/// The value, or its error raised as its caller must see it.
///
/// Call it only as the last expression of a wrapper, with every value that owns Rust
/// memory already dropped: raising leaves by `longjmp` (see `errors::raise`).
fn answer<T>(result: ApiResult<T>) -> T {
    match result {
        Ok(value) => value,
        Err(err) if forward::serving_postgrest() => errors::raise(err.for_postgrest()),
        Err(err) => errors::raise(err),
    }
}

// ---------------------------------------------------------------------------------------
// The SQL API (contract section 3)

#[allow(clippy::too_many_arguments)]
#[pg_extern(stable)]
#[search_path(pg_catalog, pg_temp)]
fn learnings_list(
    learning_type: default!(Option<&str>, "NULL"),
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    team_id: default!(Option<&str>, "NULL"),
    session_id: default!(Option<&str>, "NULL"),
    namespace: default!(Option<&str>, "NULL"),
    entity_id: default!(Option<&str>, "NULL"),
    entity_type: default!(Option<&str>, "NULL"),
    limit: default!(Option<i32>, 100),
    page: default!(Option<i32>, 1),
    sort_by: default!(Option<&str>, "NULL"),
    sort_order: default!(Option<&str>, "'desc'"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) -> Jsonb {
    answer(learnings::list(
        learning_type,
        user_id,
        agent_id,
        team_id,
        session_id,
        namespace,
        entity_id,
        entity_type,
        limit,
        page,
        sort_by,
        sort_order,
        db_id,
        table,
    ))
}

#[allow(clippy::too_many_arguments)]
#[pg_extern]
#[search_path(pg_catalog, pg_temp)]
fn learnings_create(
    learning_type: default!(Option<&str>, "NULL"),
    content: default!(Option<Jsonb>, "NULL"),
    namespace: default!(Option<&str>, "NULL"),
    user_id: default!(Option<&str>, "NULL"),
    agent_id: default!(Option<&str>, "NULL"),
    team_id: default!(Option<&str>, "NULL"),
    session_id: default!(Option<&str>, "NULL"),
    entity_id: default!(Option<&str>, "NULL"),
    entity_type: default!(Option<&str>, "NULL"),
    metadata: default!(Option<Jsonb>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) -> Jsonb {
    answer(learnings::create(
        learning_type,
        content,
        namespace,
        user_id,
        agent_id,
        team_id,
        session_id,
        entity_id,
        entity_type,
        metadata,
        db_id,
        table,
    ))
}

#[pg_extern(stable)]
#[search_path(pg_catalog, pg_temp)]
fn learnings_get(
    learning_id: default!(Option<&str>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) -> Jsonb {
    answer(learnings::get(learning_id, db_id, table))
}

#[pg_extern]
#[search_path(pg_catalog, pg_temp)]
fn learnings_update(
    learning_id: default!(Option<&str>, "NULL"),
    changes: default!(Option<Jsonb>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) -> Jsonb {
    answer(learnings::update(learning_id, changes, db_id, table))
}

#[pg_extern]
#[search_path(pg_catalog, pg_temp)]
fn learnings_delete(
    learning_id: default!(Option<&str>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) {
    answer(learnings::delete(learning_id, db_id, table))
}

#[allow(clippy::too_many_arguments)]
#[pg_extern(stable)]
#[search_path(pg_catalog, pg_temp)]
fn learnings_list_users(
    learning_type: default!(Option<&str>, "NULL"),
    user_id: default!(Option<&str>, "NULL"),
    limit: default!(Option<i32>, 20),
    page: default!(Option<i32>, 1),
    sort_by: default!(Option<&str>, "NULL"),
    sort_order: default!(Option<&str>, "'desc'"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) -> Jsonb {
    answer(learnings::list_users(
        learning_type,
        user_id,
        limit,
        page,
        sort_by,
        sort_order,
        db_id,
        table,
    ))
}

#[pg_extern]
#[search_path(pg_catalog, pg_temp)]
fn learnings_delete_user(
    user_id: default!(Option<&str>, "NULL"),
    learning_type: default!(Option<&str>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) {
    answer(learnings::delete_user(user_id, learning_type, db_id, table))
}

// ---------------------------------------------------------------------------------------
// Identity

/// Verifies `token` against the configured keys and makes its claims the caller's
/// identity until the transaction ends. A transaction authenticated as one user cannot
/// switch to another (PT401); the same user may present a fresh token.
#[pg_extern]
#[search_path(pg_catalog, pg_temp)]
fn learnings_authenticate(token: default!(Option<&str>, "NULL")) -> pgrx::JsonB {
    answer(session::authenticate(token))
}

/// PostgREST's pre-request hook on Citus: forwards the caller to the workers.
#[pg_extern(sql = false)]
#[search_path(pg_catalog, pg_temp)]
fn learnings_forward_caller() {
    answer(session::forward_caller())
}

/// A fingerprint of this node's cluster key (never the key), for `learnings_distribute`
/// to check that every node holds the same one; NULL without a key. Superusers only.
#[pg_extern(sql = false)]
#[search_path(pg_catalog, pg_temp)]
fn learnings_cluster_key_id() -> Option<String> {
    answer(citus::cluster_key_id())
}

// ---------------------------------------------------------------------------------------
// Row-level security: what the tables' policies ask (caller/policy.rs)

/// 'all', 'own' or 'none': the rows of a learnings table the caller may `action`.
#[pg_extern(sql = false)]
fn learnings_policy_access(action: &str) -> &'static str {
    policy::access(action)
}

/// The user whose rows a scoped caller may act on; NULL for anyone else.
#[pg_extern(sql = false)]
fn learnings_policy_user() -> Option<String> {
    policy::user()
}

/// Whether the caller may `action` a row owned by `owner` (NULL: a shared row): the
/// policies of a distributed table, in one call per row.
#[pg_extern(sql = false)]
fn learnings_policy_allows(action: &str, owner: Option<&str>) -> bool {
    policy::allows(action, owner)
}

// ---------------------------------------------------------------------------------------
// Triggers and the registry

/// The row trigger on every registered table (table/row_rules.rs).
#[pg_trigger(sql = false)]
fn learnings_guard_row<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, pgrx::trigger_support::PgTriggerError> {
    answer(row_rules::check(trigger));
    Ok(trigger.new())
}

/// The event trigger that keeps DROP EXTENSION from deleting learnings (table/guard.rs).
#[pg_extern(sql = false)]
fn learnings_guard_drop(fcinfo: pg_sys::FunctionCallInfo) {
    answer(guard::check_drop(fcinfo))
}

/// Invalidates `relation`'s cache entries in every backend (at commit): registration
/// calls it on the registry (table/target.rs).
#[pg_extern(sql = false)]
fn learnings_invalidate(relation: pg_sys::Oid) {
    target::invalidate(relation)
}
