//! The SQL API (contract section 3): seven functions with AgentOS's names, parameters,
//! JSON envelopes and errors.
//!
//! Layer: api (uses table, caller, identity, base). Each public function is one SQL
//! function's body, called by its wrapper in the door (src/door.rs) with the arguments
//! as PostgreSQL passed them; errors come back as values, and the door raises them. The
//! functions run with the caller's rights (SECURITY INVOKER) and a pinned `search_path`,
//! so the table's privileges and row-level security always apply and no object in the
//! caller's schemas can stand in for ours.

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;

use crate::base::catalog;
use crate::base::citus;
use crate::base::db::{self, Access, Plan};
use crate::base::errors::{self, ApiError, ApiResult};
use crate::base::ids::{self, Identity, LearningId};
use crate::base::jsonb::Jsonb;
use crate::base::postgrest;
use crate::base::validate::{self, Changes};
use crate::caller::forward;
use crate::caller::{self, Caller, Scope};
use crate::identity::Action;
use crate::table::query::{self, Column, Filter, LearningOrder, Page, UserOrder};
use crate::table::target::{self, Target, Totals};

/// Who is calling and which rows it may act on for `action`: 401/403 otherwise. Comes
/// first, as AgentOS's authentication middleware does.
fn authorize(action: Action) -> ApiResult<Scope> {
    let caller = Caller::current()?;
    let scope = caller.scope(action)?;
    // On Citus, the workers that hold the rows learn who is calling (a no-op on one node).
    forward::forward(&caller)?;
    Ok(scope)
}

/// Runs one of the API's writes as `action` for the policies (caller::as_api), then, on
/// Citus, forwards the caller again for the rest of the transaction.
fn as_api<T>(action: Action, f: impl FnOnce() -> ApiResult<T>) -> ApiResult<T> {
    let result = caller::as_api(action, f)?;
    forward::after_api_call()?;
    Ok(result)
}

/// A scoped caller may name no user or itself; another user is `forbidden` (403).
fn check_user(scope: &Scope, user_id: Option<&str>, forbidden: &str) -> ApiResult<()> {
    match (scope, user_id) {
        (Scope::User(me), Some(other)) if other != me => Err(ApiError::forbidden(forbidden)),
        _ => Ok(()),
    }
}

/// An authorized call on a resolved table.
struct Call {
    scope: Scope,
    target: Target,
}

impl Call {
    /// Resolves `db_id` / `table` (400/404) for an authorized caller.
    fn on(scope: Scope, db_id: Option<&str>, table: Option<&str>) -> ApiResult<Self> {
        Ok(Call {
            scope,
            target: target::resolve(db_id, table, Totals::Skip)?,
        })
    }

    /// As [`Call::on`], also finding where the table's list totals are kept.
    fn listing(scope: Scope, db_id: Option<&str>, table: Option<&str>) -> ApiResult<Self> {
        Ok(Call {
            scope,
            target: target::resolve(db_id, table, Totals::Find)?,
        })
    }

    /// The user a scoped caller is bound to.
    fn bound_user(&self) -> Option<&str> {
        match &self.scope {
            Scope::All => None,
            Scope::User(user_id) => Some(user_id),
        }
    }

    /// One record by id, as this caller may see it (a scoped caller: its own or shared).
    fn record_filter<'a>(&'a self, learning_id: &'a str) -> Filter<'a> {
        let filter = Filter::default().equal(Column::LearningId, Some(learning_id));
        match self.bound_user() {
            Some(me) => filter.visible_to(me),
            None => filter,
        }
    }

    /// Before a scoped caller changes a record: 404 unless it may see it, 403 when the
    /// record is shared (no owner): only admins change those.
    fn check_mutable(&self, learning_id: &str) -> ApiResult<()> {
        if self.bound_user().is_none() {
            return Ok(());
        }
        let statement = query::owner(&self.target.relation, &self.record_filter(learning_id));
        match db::texts(Access::Read, &statement.sql, &statement.args)?.as_slice() {
            [] => Err(learning_not_found()),
            [_, None] => Err(ApiError::forbidden(
                "Only admins can modify learnings that have no owner (user_id is null)",
            )),
            _ => Ok(()),
        }
    }

    /// The exact total of a list filtered by owner and type alone, from learnings_counts
    /// (read as the extension's owner: it holds every user's totals), in the snapshot the
    /// page is read in; `None` when the table's totals are not kept.
    fn kept_total(
        &self,
        user_id: Option<&str>,
        learning_type: Option<&str>,
    ) -> ApiResult<Option<i64>> {
        let Some((totals, relid)) = &self.target.counts else {
            return Ok(None);
        };
        // 'a' all rows, 's' the shared ones, 'u' || user_id a user's.
        let buckets: Vec<String> = match (self.bound_user(), user_id) {
            (Some(me), _) => vec![format!("u{me}"), "s".into()],
            (None, Some(user)) => vec![format!("u{user}")],
            (None, None) => vec!["a".into()],
        };
        let mut args: Vec<DatumWithOid> = vec![
            DatumWithOid::from(pg_sys::Oid::from(*relid)),
            DatumWithOid::from(buckets),
        ];
        args.extend(learning_type.map(DatumWithOid::from));
        let sql = query::counted_total(totals, learning_type.is_some());
        let owner = catalog::home()?.owner;
        let row = catalog::as_owner(owner, || db::texts(Access::Read, &sql, &args))?;
        Ok(row
            .first()
            .cloned()
            .flatten()
            .and_then(|total| total.parse::<i64>().ok()))
    }

    /// The rows a mutation of one record may touch: a scoped caller only its own.
    fn mutation_filter<'a>(&'a self, learning_id: &'a str) -> Filter<'a> {
        Filter::default()
            .equal(Column::LearningId, Some(learning_id))
            .equal(Column::UserId, self.bound_user())
    }
}

fn learning_not_found() -> ApiError {
    ApiError::not_found("Learning not found")
}

/// A list's envelope (always one row), planned for the filter values at hand.
fn envelope(sql: &str, args: &[DatumWithOid]) -> ApiResult<Jsonb> {
    db::jsonb(Access::Read, Plan::PerCall, sql, args)?
        .ok_or_else(|| ApiError::new(errors::SqlState::Internal, "query returned no row"))
}

// ---------------------------------------------------------------------------------------
// learnings_list

/// `learnings_list`.
#[allow(clippy::too_many_arguments)]
pub fn list(
    learning_type: Option<&str>,
    user_id: Option<&str>,
    agent_id: Option<&str>,
    team_id: Option<&str>,
    session_id: Option<&str>,
    namespace: Option<&str>,
    entity_id: Option<&str>,
    entity_type: Option<&str>,
    limit: Option<i32>,
    page: Option<i32>,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let filter = Filter::default()
        .equal(Column::LearningType, learning_type)
        .equal(Column::AgentId, agent_id)
        .equal(Column::TeamId, team_id)
        .equal(Column::SessionId, session_id)
        .equal(Column::Namespace, namespace)
        .equal(Column::EntityId, entity_id)
        .equal(Column::EntityType, entity_type);
    // learnings_counts keeps the totals of lists filtered by owner and type alone.
    let others = [
        agent_id,
        team_id,
        session_id,
        namespace,
        entity_id,
        entity_type,
    ];
    let kept_total = others.iter().all(Option::is_none).then_some(learning_type);
    list_page(
        filter,
        kept_total,
        user_id,
        limit.unwrap_or(100),
        page.unwrap_or(1),
        sort_by,
        sort_order,
        db_id,
        table,
    )
}

#[allow(clippy::too_many_arguments)]
fn list_page(
    filter: Filter,
    kept_total: Option<Option<&str>>,
    user_id: Option<&str>,
    limit: i32,
    page: i32,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let scope = authorize(Action::Read)?;
    let page = Page::new(limit, page)?;
    let order = LearningOrder::parse(sort_by, sort_order)?;
    check_user(&scope, user_id, "Cannot list learnings for another user")?;
    let call = Call::listing(scope, db_id, table)?;
    // A scoped caller's list is bound to it and includes the shared rows.
    let filter = match call.bound_user() {
        Some(me) => filter.visible_to(me),
        None => filter.equal(Column::UserId, user_id),
    };
    let total = match kept_total {
        Some(learning_type) => call.kept_total(user_id, learning_type)?,
        None => None,
    };
    let statement = query::list(&call.target.relation, &filter, order, page, total);
    // A scoped page by recency, filtered by type at most, reads two ranges of a per-user
    // index in order (query::list), whichever page it is.
    if call.bound_user().is_some()
        && kept_total.is_some()
        && matches!(order, LearningOrder::Recent(_))
    {
        return db::in_index_order(|| {
            citus::off_on_workers(call.target.distributed, &db::IN_INDEX_ORDER, || {
                envelope(&statement.sql, &statement.args)
            })
        });
    }
    envelope(&statement.sql, &statement.args)
}

// ---------------------------------------------------------------------------------------
// learnings_create

/// `learnings_create`.
#[allow(clippy::too_many_arguments)]
pub fn create(
    learning_type: Option<&str>,
    content: Option<Jsonb>,
    namespace: Option<&str>,
    user_id: Option<&str>,
    agent_id: Option<&str>,
    team_id: Option<&str>,
    session_id: Option<&str>,
    entity_id: Option<&str>,
    entity_type: Option<&str>,
    metadata: Option<Jsonb>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
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
    as_api(Action::Write, || create_record(record, db_id, table))
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

fn create_record(new: NewRecord, db_id: Option<&str>, table: Option<&str>) -> ApiResult<Jsonb> {
    let scope = authorize(Action::Write)?;
    check_user(
        &scope,
        new.user_id,
        "Cannot create learnings for another user",
    )?;
    let learning_type = validate::required("learning_type", new.learning_type)?;
    validate::create_payload(new.content, new.metadata)?;
    let call = Call::on(scope, db_id, table)?;
    // A scoped caller owns what it creates (as agno 3.1.10: no shared rows from users).
    let user_id = call.bound_user().or(new.user_id);
    // An empty namespace means the default (agno's `namespace or "global"`).
    let namespace = new.namespace.filter(|ns| !ns.is_empty());
    let identity = Identity {
        learning_type,
        user_id: validate::field("user_id", user_id)?,
        session_id: validate::field("session_id", new.session_id)?,
        entity_id: validate::field("entity_id", new.entity_id)?,
        entity_type: validate::field("entity_type", new.entity_type)?,
        namespace: validate::field("namespace", namespace)?,
    };
    let agent_id = validate::field("agent_id", new.agent_id)?;
    let team_id = validate::field("team_id", new.team_id)?;
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
    match db::jsonb(
        Access::Write,
        Plan::Reused,
        &query::insert(&call.target.relation),
        &args,
    )? {
        Some(record) => {
            postgrest::set_status(201)?;
            Ok(record)
        }
        None => Err(taken(&call, learning_type, keyed_id)),
    }
}

/// The id is taken: 409, unless the existing record is hidden from this caller (another
/// user's), which answers 404 so that a conflict never confirms a record it may not see.
fn taken(call: &Call, learning_type: &str, id: Option<&str>) -> ApiError {
    if let (Some(id), Some(_)) = (id, call.bound_user()) {
        let statement = query::owner(&call.target.relation, &call.record_filter(id));
        match db::texts(Access::Read, &statement.sql, &statement.args) {
            Ok(row) if row.is_empty() => return learning_not_found(),
            Err(err) => return err,
            Ok(_) => {}
        }
    }
    conflict(learning_type, id)
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

/// `learnings_get`.
pub fn get(
    learning_id: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let scope = authorize(Action::Read)?;
    let learning_id = validate::given("learning_id", learning_id)?;
    fetch(&Call::on(scope, db_id, table)?, learning_id)
}

/// The record, as this caller may see it (404 otherwise: no existence leak).
fn fetch(call: &Call, learning_id: &str) -> ApiResult<Jsonb> {
    let statement = query::get(&call.target.relation, &call.record_filter(learning_id));
    db::jsonb(Access::Read, Plan::Reused, &statement.sql, &statement.args)?
        .ok_or_else(learning_not_found)
}

// ---------------------------------------------------------------------------------------
// learnings_update

/// `learnings_update`.
pub fn update(
    learning_id: Option<&str>,
    changes: Option<Jsonb>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    as_api(Action::Write, || {
        update_record(learning_id, changes, db_id, table)
    })
}

fn update_record(
    learning_id: Option<&str>,
    changes: Option<Jsonb>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let scope = authorize(Action::Write)?;
    let learning_id = validate::given("learning_id", learning_id)?;
    let payload = validate::update_payload(changes)?;
    let call = Call::on(scope, db_id, table)?;
    // Who may change the record is checked even when nothing changes (as AgentOS does):
    // `{}` on a shared record is 403 for a scoped caller, not the record.
    call.check_mutable(learning_id)?;
    let changes = match (payload, changes) {
        (Changes::Some, Some(changes)) => changes,
        _ => return fetch(&call, learning_id),
    };
    // A plain UPDATE: a row deleted meanwhile is simply not matched (404), never re-created.
    let statement = query::update(
        &call.target.relation,
        &call.mutation_filter(learning_id),
        changes,
    );
    db::jsonb(Access::Write, Plan::Reused, &statement.sql, &statement.args)?
        .ok_or_else(learning_not_found)
}

// ---------------------------------------------------------------------------------------
// learnings_delete

/// `learnings_delete`.
pub fn delete(
    learning_id: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<()> {
    as_api(Action::Delete, || delete_record(learning_id, db_id, table))
}

fn delete_record(
    learning_id: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<()> {
    let scope = authorize(Action::Delete)?;
    let learning_id = validate::given("learning_id", learning_id)?;
    let call = Call::on(scope, db_id, table)?;
    call.check_mutable(learning_id)?;
    let statement = query::delete(&call.target.relation, &call.mutation_filter(learning_id));
    match db::count(Access::Write, &statement.sql, &statement.args)? {
        0 => Err(learning_not_found()),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// learnings_list_users

/// `learnings_list_users`.
#[allow(clippy::too_many_arguments)]
pub fn list_users(
    learning_type: Option<&str>,
    user_id: Option<&str>,
    limit: Option<i32>,
    page: Option<i32>,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let filter = Filter::default().equal(Column::LearningType, learning_type);
    users_page(
        filter,
        user_id,
        limit.unwrap_or(20),
        page.unwrap_or(1),
        sort_by,
        sort_order,
        db_id,
        table,
    )
}

#[allow(clippy::too_many_arguments)]
fn users_page(
    filter: Filter,
    user_id: Option<&str>,
    limit: i32,
    page: i32,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<Jsonb> {
    let scope = authorize(Action::Read)?;
    let page = Page::new(limit, page)?;
    let order = UserOrder::parse(sort_by, sort_order)?;
    check_user(
        &scope,
        user_id,
        "Cannot list learning users for another user",
    )?;
    let call = Call::on(scope, db_id, table)?;
    let filter = filter.equal(Column::UserId, call.bound_user().or(user_id));
    let statement = query::list_users(&call.target.relation, &filter, order, page);
    envelope(&statement.sql, &statement.args)
}

// ---------------------------------------------------------------------------------------
// learnings_delete_user

/// `learnings_delete_user`.
pub fn delete_user(
    user_id: Option<&str>,
    learning_type: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<()> {
    as_api(Action::Delete, || {
        delete_users_rows(user_id, learning_type, db_id, table)
    })
}

fn delete_users_rows(
    user_id: Option<&str>,
    learning_type: Option<&str>,
    db_id: Option<&str>,
    table: Option<&str>,
) -> ApiResult<()> {
    let scope = authorize(Action::Delete)?;
    // Any id may be named (one with no rows is still success); NULL or '' names nobody.
    let user_id = validate::named("user_id", user_id)?;
    check_user(
        &scope,
        Some(user_id),
        "Cannot delete learnings for another user",
    )?;
    let call = Call::on(scope, db_id, table)?;
    // Rows with no owner never match `user_id = $1`: shared rows are never deleted here.
    let filter = Filter::default()
        .equal(Column::UserId, Some(user_id))
        .equal(Column::LearningType, learning_type);
    let statement = query::delete(&call.target.relation, &filter);
    db::count(Access::Write, &statement.sql, &statement.args)?;
    Ok(())
}
