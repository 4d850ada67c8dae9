//! The SQL API (contract section 3): seven functions with AgentOS's names, parameters,
//! JSON envelopes and errors.
//!
//! Each `#[pg_extern]` function only unpacks its arguments and raises what its inner
//! function returns; the work happens in the inner function, where `?` carries errors
//! and every Rust value is dropped before [`errors::unwrap_or_raise`] reports one.
//! All functions run with the caller's rights (SECURITY INVOKER) and a pinned
//! `search_path`, so the table's privileges and row-level security always apply and no
//! object in the caller's schemas can stand in for ours.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

use crate::auth::{self, Caller};
use crate::db::{self, Access};
use crate::errors::{self, ApiError, ApiResult};
use crate::ids::{self, Identity, LearningId};
use crate::jsonb::Jsonb;
use crate::query::{self, Column, Filter, LearningOrder, Page, UserOrder};
use crate::target::{self, Target};
use crate::validate::{self, Changes};

/// What every call establishes first: who is calling, and on which table.
struct Call {
    #[allow(dead_code)] // read by the access rules of contract section 5
    caller: Caller,
    target: Target,
}

impl Call {
    fn begin(db_id: Option<&str>, table: Option<&str>) -> ApiResult<Self> {
        let caller = auth::current_caller()?;
        let target = target::resolve(db_id, table)?;
        Ok(Call { caller, target })
    }
}

fn learning_not_found() -> ApiError {
    ApiError::not_found("Learning not found")
}

/// A statement that always returns one row (aggregates, envelopes).
fn one_jsonb(access: Access, sql: &str, args: &[DatumWithOid]) -> ApiResult<Jsonb> {
    db::jsonb(access, sql, args)?
        .ok_or_else(|| ApiError::new(errors::SqlState::Internal, "query returned no row"))
}

// ---------------------------------------------------------------------------------------
// learnings_list

#[allow(clippy::too_many_arguments)]
#[pg_extern(stable)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
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
    let filter = Filter::default()
        .equal(Column::LearningType, learning_type)
        .equal(Column::UserId, user_id)
        .equal(Column::AgentId, agent_id)
        .equal(Column::TeamId, team_id)
        .equal(Column::SessionId, session_id)
        .equal(Column::Namespace, namespace)
        .equal(Column::EntityId, entity_id)
        .equal(Column::EntityType, entity_type);
    let result = list(
        filter,
        limit.unwrap_or(100),
        page.unwrap_or(1),
        sort_by,
        sort_order,
        db_id,
        table,
    );
    errors::unwrap_or_raise(result)
}

fn list(
    filter: Filter,
    limit: i32,
    page: i32,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let call = Call::begin(db_id, table)?;
    let page = Page::new(limit, page)?;
    let order = LearningOrder::parse(sort_by, sort_order)?;
    let statement = query::list(&call.target.relation, &filter, order, page);
    one_jsonb(Access::Read, &statement.sql, &statement.args)
}

// ---------------------------------------------------------------------------------------
// learnings_create

#[allow(clippy::too_many_arguments)]
#[pg_extern]
#[search_path(pg_catalog, @extschema@, pg_temp)]
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
    let record = NewRecord {
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
    };
    errors::unwrap_or_raise(create(record, db_id, table))
}

/// The body of a create request.
struct NewRecord<'a> {
    learning_type: Option<&'a str>,
    content: Option<Jsonb>,
    namespace: Option<&'a str>,
    user_id: Option<&'a str>,
    agent_id: Option<&'a str>,
    team_id: Option<&'a str>,
    session_id: Option<&'a str>,
    entity_id: Option<&'a str>,
    entity_type: Option<&'a str>,
    metadata: Option<Jsonb>,
}

fn create(new: NewRecord, db_id: Option<&str>, table: Option<&str>) -> ApiResult<Jsonb> {
    let call = Call::begin(db_id, table)?;
    let learning_type = validate::required("learning_type", new.learning_type)?;
    // An empty namespace means the default (agno's `namespace or "global"`).
    let namespace = new.namespace.filter(|ns| !ns.is_empty());
    let identity = Identity {
        learning_type,
        user_id: validate::field("user_id", new.user_id)?,
        session_id: validate::field("session_id", new.session_id)?,
        entity_id: validate::field("entity_id", new.entity_id)?,
        entity_type: validate::field("entity_type", new.entity_type)?,
        namespace: validate::field("namespace", namespace)?,
    };
    let agent_id = validate::field("agent_id", new.agent_id)?;
    let team_id = validate::field("team_id", new.team_id)?;
    validate::create_payload(new.content, new.metadata)?;
    let id = ids::learning_id(&identity)?;
    let keyed_id = match &id {
        LearningId::Keyed(id) => Some(validate::learning_id(id)?),
        LearningId::Generated => None,
    };

    let args: [DatumWithOid; 11] = [
        keyed_id.into(),
        learning_type.into(),
        ids::stored_namespace(&identity).into(),
        identity.user_id.into(),
        agent_id.into(),
        team_id.into(),
        identity.session_id.into(),
        identity.entity_id.into(),
        identity.entity_type.into(),
        new.content.into(),
        new.metadata.into(),
    ];
    match db::jsonb(Access::Write, &query::insert(&call.target.relation), &args)? {
        Some(record) => Ok(record),
        None => Err(conflict(learning_type, keyed_id)),
    }
}

/// The record's id is taken. AgentOS's wording, pointing to the update.
fn conflict(learning_type: &str, id: Option<&str>) -> ApiError {
    match id {
        Some(id) => ApiError::conflict(format!(
            "A '{learning_type}' learning already exists for this identity (id '{}'). \
             Use PATCH /learnings/{} to update it.",
            errors::shorten(id),
            errors::shorten(id)
        ))
        .with_hint("update the existing record with learnings_update(learning_id, changes)"),
        // A generated UUID collided: vanishingly rare, and retrying succeeds.
        None => ApiError::conflict("the generated learning id is already taken; retry the request"),
    }
}

// ---------------------------------------------------------------------------------------
// learnings_get

#[pg_extern(stable)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn learnings_get(
    learning_id: default!(Option<&str>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) -> Jsonb {
    errors::unwrap_or_raise(get(learning_id, db_id, table))
}

fn get(learning_id: Option<&str>, db_id: Option<&str>, table: Option<&str>) -> ApiResult<Jsonb> {
    let call = Call::begin(db_id, table)?;
    let learning_id = validate::given("learning_id", learning_id)?;
    fetch(&call, learning_id)
}

fn fetch(call: &Call, learning_id: &str) -> ApiResult<Jsonb> {
    db::jsonb(
        Access::Read,
        &query::get(&call.target.relation),
        &[learning_id.into()],
    )?
    .ok_or_else(learning_not_found)
}

// ---------------------------------------------------------------------------------------
// learnings_update

#[pg_extern]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn learnings_update(
    learning_id: default!(Option<&str>, "NULL"),
    changes: default!(Option<Jsonb>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) -> Jsonb {
    errors::unwrap_or_raise(update(learning_id, changes, db_id, table))
}

fn update(
    learning_id: default!(Option<&str>, "NULL"),
    changes: Option<Jsonb>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let call = Call::begin(db_id, table)?;
    let learning_id = validate::given("learning_id", learning_id)?;
    match validate::update_payload(changes)? {
        Changes::Nothing => fetch(&call, learning_id),
        // A plain UPDATE: a row deleted meanwhile is simply not matched (404), never re-created.
        Changes::Some => db::jsonb(
            Access::Write,
            &query::update(&call.target.relation),
            &[learning_id.into(), changes.into()],
        )?
        .ok_or_else(learning_not_found),
    }
}

// ---------------------------------------------------------------------------------------
// learnings_delete

#[pg_extern]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn learnings_delete(
    learning_id: default!(Option<&str>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) {
    errors::unwrap_or_raise(delete(learning_id, db_id, table))
}

fn delete(learning_id: Option<&str>, db_id: Option<&str>, table: Option<&str>) -> ApiResult<()> {
    let call = Call::begin(db_id, table)?;
    let learning_id = validate::given("learning_id", learning_id)?;
    match db::count(
        Access::Write,
        &query::delete(&call.target.relation),
        &[learning_id.into()],
    )? {
        0 => Err(learning_not_found()),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// learnings_list_users

#[allow(clippy::too_many_arguments)]
#[pg_extern(stable)]
#[search_path(pg_catalog, @extschema@, pg_temp)]
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
    let filter = Filter::default()
        .equal(Column::LearningType, learning_type)
        .equal(Column::UserId, user_id);
    let result = list_users(
        filter,
        limit.unwrap_or(20),
        page.unwrap_or(1),
        sort_by,
        sort_order,
        db_id,
        table,
    );
    errors::unwrap_or_raise(result)
}

fn list_users(
    filter: Filter,
    limit: i32,
    page: i32,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let call = Call::begin(db_id, table)?;
    let page = Page::new(limit, page)?;
    let order = UserOrder::parse(sort_by, sort_order)?;
    let statement = query::list_users(&call.target.relation, &filter, order, page);
    one_jsonb(Access::Read, &statement.sql, &statement.args)
}

// ---------------------------------------------------------------------------------------
// learnings_delete_user

#[pg_extern]
#[search_path(pg_catalog, @extschema@, pg_temp)]
fn learnings_delete_user(
    user_id: default!(Option<&str>, "NULL"),
    learning_type: default!(Option<&str>, "NULL"),
    db_id: default!(Option<&str>, "NULL"),
    table: default!(Option<&str>, "NULL"),
) {
    errors::unwrap_or_raise(delete_user(user_id, learning_type, db_id, table))
}

fn delete_user(
    user_id: Option<&str>,
    learning_type: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<()> {
    let call = Call::begin(db_id, table)?;
    let user_id = validate::required("user_id", user_id)?;
    // Rows with no owner never match `user_id = $1`: shared rows are never deleted here.
    let filter = Filter::default()
        .equal(Column::UserId, Some(user_id))
        .equal(Column::LearningType, learning_type);
    let statement = query::delete_user(&call.target.relation, &filter);
    db::count(Access::Write, &statement.sql, &statement.args)?;
    Ok(())
}
