//! Which learnings table a call works on: `db_id` and `table`, as AgentOS's `get_db`.
//!
//! `db_id` names the current database. `table` names a learnings table registered with
//! the extension (`learnings_register_table`); the default is the extension's own
//! `agno_learnings`. Names are looked up, never parsed or interpolated: what reaches the
//! SQL is the catalog's own quoted name of a registered relation.
//!
//! Layer: table (uses base).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;

use crate::base::catalog;
use crate::base::citus;
use crate::base::db::{self, Access};
use crate::base::errors::{shorten, ApiError, ApiResult};

/// The registered name of the extension's own table.
pub const DEFAULT_TABLE: &str = "agno_learnings";

/// A resolved learnings table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Schema-qualified, quoted relation name, safe to put into SQL text.
    pub relation: String,
    /// Where its exact totals are kept, when they are complete (sql/bootstrap.sql,
    /// learnings_counts): the totals table's name and the relation's oid.
    pub counts: Option<(String, u32)>,
    /// Whether Citus distributes it.
    pub distributed: bool,
}

/// Whether a resolution also finds the table's list totals (lists only: the other
/// functions skip that part of the lookup).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Totals {
    Find,
    Skip,
}

/// Resolves `db_id` / `table` to a registered table, with AgentOS's errors: `table`
/// without `db_id` → 400, another database → 404, an unknown table → 404. Empty values
/// count as absent, as in AgentOS.
pub fn resolve(db_id: Option<&str>, table: Option<&str>, totals: Totals) -> ApiResult<Target> {
    // AgentOS treats empty values as absent.
    let db_id = db_id.filter(|v| !v.is_empty());
    let table = table.filter(|v| !v.is_empty());
    if table.is_some() && db_id.is_none() {
        return Err(ApiError::bad_request(
            "The db_id query parameter is required when passing a table",
        ));
    }
    let name = table.unwrap_or(DEFAULT_TABLE);
    let (database, target) = match cached(name, totals) {
        Some(found) => found,
        None => {
            let found = look_up(name, totals)?;
            remember(name, totals, &found);
            found
        }
    };
    if let Some(db_id) = db_id {
        if database.as_deref() != Some(db_id) {
            return Err(ApiError::not_found(format!(
                "No database found with id '{}'",
                shorten(db_id)
            )));
        }
    }
    target.ok_or_else(|| match table {
        Some(table) => ApiError::not_found(format!(
            "No database with id '{}' has table '{}'",
            shorten(db_id.unwrap_or_default()),
            shorten(table)
        )),
        None => ApiError::not_found(format!(
            "The learnings table '{DEFAULT_TABLE}' is not registered with agno_learnings \
             (or has lost its row-level security)"
        ))
        .with_hint("SELECT <schema>.learnings_register_table('<schema>.agno_learnings')"),
    })
}

/// The current database's name and the table registered as `name`, if any.
type Found = (Option<String>, Option<Target>);

/// Looks `name` up in the registry and the catalogs.
fn look_up(name: &str, totals: Totals) -> ApiResult<Found> {
    // The registry is read as the extension's owner (it is not every client's to list);
    // the relation must still exist under its registered name, with the row-level
    // security registration gave it (a table dropped and re-created under the same name
    // has none until it is registered again).
    let home = catalog::home()?;
    let counts = match totals {
        Totals::Find => home.counts()?,
        Totals::Skip => None,
    };
    // Totals are complete for a table that was registered with them and whose four
    // counting triggers are all there and enabled.
    let counted = match &counts {
        Some((_, counted)) => format!(
            "EXISTS (SELECT FROM {counted} AS m WHERE m.relid OPERATOR(pg_catalog.=) c.oid) \
             AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger AS t \
                   WHERE t.tgrelid OPERATOR(pg_catalog.=) c.oid AND t.tgenabled OPERATOR(pg_catalog.=) 'A' \
                     AND t.tgname OPERATOR(pg_catalog.=) ANY ('{{learnings_count_insert, learnings_count_update, \
                         learnings_count_delete, learnings_count_truncate}}'::pg_catalog.name[])) \
                 OPERATOR(pg_catalog.=) 4"
        ),
        None => "false".to_string(),
    };
    let sql = format!(
        "SELECT pg_catalog.current_database()::pg_catalog.text, found.* \
           FROM (SELECT 1) AS one \
           LEFT JOIN (SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' \
                             OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname), \
                             c.oid::pg_catalog.text, ({counted})::pg_catalog.text \
                        FROM {} AS r \
                        JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) r.schema_name \
                        JOIN pg_catalog.pg_class AS c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid \
                             AND c.relname OPERATOR(pg_catalog.=) r.table_name AND c.relrowsecurity \
                       WHERE r.name OPERATOR(pg_catalog.=) $1) AS found ON true",
        home.registry()?
    );
    let (row, relid, distributed) = catalog::as_owner(home.owner, || -> ApiResult<_> {
        let row = db::texts(Access::Read, &sql, &[DatumWithOid::from(name)])?;
        let relid = row
            .get(2)
            .cloned()
            .flatten()
            .and_then(|oid| oid.parse::<u32>().ok());
        let distributed = match relid {
            Some(relid) => citus::is_distributed(relid)?,
            None => false,
        };
        Ok((row, relid, distributed))
    })?;
    let database = row.first().cloned().flatten();
    let relation = row.get(1).cloned().flatten();
    let counts = match (counts, relid, row.get(3).cloned().flatten().as_deref()) {
        (Some((totals, _)), Some(relid), Some("true")) => Some((totals, relid)),
        _ => None,
    };
    Ok((
        database,
        relation.map(|relation| Target {
            relation,
            counts,
            distributed,
        }),
    ))
}

// ---------------------------------------------------------------------------------------
// Resolutions are kept per backend: a call would otherwise spend a catalog query on
// them. Any relation cache invalidation empties the cache: a registered table dropped,
// renamed, its row-level security or triggers changed, and the registry changed
// (registration and unregistration invalidate it: learnings_invalidate, src/door.rs).

/// Resolutions kept per backend, at most this many (callers choose the names).
const MAX_KEPT: usize = 64;

thread_local! {
    static KEPT: RefCell<HashMap<(String, Totals), Found>> = RefCell::new(HashMap::new());
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

fn cached(name: &str, totals: Totals) -> Option<Found> {
    KEPT.with_borrow(|kept| kept.get(&(name.to_string(), totals)).cloned())
}

fn remember(name: &str, totals: Totals, found: &Found) {
    if !WATCHING.get() {
        // SAFETY: registers a callback PostgreSQL calls at each relation cache
        // invalidation, for the life of the backend.
        unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(forget), pg_sys::Datum::from(0)) };
        WATCHING.set(true);
    }
    KEPT.with_borrow_mut(|kept| {
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        kept.insert((name.to_string(), totals), found.clone());
    });
}

/// Forgets every resolution, at any relation cache invalidation.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn forget(_arg: pg_sys::Datum, _relid: pg_sys::Oid) {
    KEPT.with_borrow_mut(HashMap::clear);
}

/// Invalidates `relation`'s cache entry in every backend (at commit): registration calls
/// it on the registry, so that no backend keeps serving a stale resolution.
pub fn invalidate(relation: pg_sys::Oid) {
    // SAFETY: queues a relation cache invalidation message.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relation) };
}
