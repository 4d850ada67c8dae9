//! Running the extension's statements through SPI.
//!
//! Reads run read-only (so they work on a hot standby and inside STABLE functions);
//! writes run read-write. Every statement's text comes from this crate; caller input only
//! ever arrives as parameters.
//!
//! Statements whose best plan does not depend on the values (by id, by user, the
//! registry lookup, the checks) are prepared once per backend and reused; PostgreSQL's
//! plan cache replans them when a table, the role or row-level security changes. Lists,
//! whose filters decide between indexes, are planned per call with their values.
//!
//! Layer: base (uses errors, jsonb).

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::datum::DatumWithOid;
use pgrx::spi::{OwnedPreparedStatement, Spi, SpiClient, SpiResult, SpiTupleTable};
use pgrx::PgOid;

use pgrx::pg_sys;

use crate::base::errors::{ApiError, ApiResult, SqlState};
use crate::base::jsonb::Jsonb;

/// Whether a statement may change data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// How a statement is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Prepared once per backend, then reused.
    Reused,
    /// Planned at every call, for the values at hand.
    PerCall,
}

/// Prepared statements kept per backend, by access, argument types and text. The texts
/// are the crate's own, one per statement shape and registered table: a few dozen.
const MAX_PLANS: usize = 256;

thread_local! {
    static PLANS: RefCell<HashMap<String, OwnedPreparedStatement>> = RefCell::new(HashMap::new());
}

/// Writes in a read-only transaction (a hot standby's, or `SET TRANSACTION READ ONLY`)
/// fail with PostgreSQL's own 25006, before SPI would try to take a transaction id.
fn check_writable(access: Access) -> ApiResult<()> {
    // SAFETY: plain reads of backend-local state.
    let (read_only, standby) = unsafe { (pg_sys::XactReadOnly, pg_sys::RecoveryInProgress()) };
    if access == Access::Read || !read_only {
        return Ok(());
    }
    let err = ApiError::new(
        SqlState::ReadOnly,
        "cannot change learnings in a read-only transaction",
    );
    Err(if standby {
        err.with_hint("this server is a hot standby: send writes to the primary")
    } else {
        err
    })
}

fn execute<'conn>(
    client: &mut SpiClient<'conn>,
    access: Access,
    plan: Plan,
    sql: &str,
    args: &[DatumWithOid],
) -> SpiResult<SpiTupleTable<'conn>> {
    if plan == Plan::PerCall {
        return match access {
            Access::Read => client.select(sql, None, args),
            Access::Write => client.update(sql, None, args),
        };
    }
    let types: Vec<PgOid> = args.iter().map(|a| PgOid::from(a.oid())).collect();
    let key = format!(
        "{access:?}|{:?}|{sql}",
        types.iter().map(|t| t.value()).collect::<Vec<_>>()
    );
    // Taken out while it runs, so that nothing it calls can see the map borrowed.
    let statement = match PLANS.with_borrow_mut(|plans| plans.remove(&key)) {
        Some(statement) => statement,
        None => match access {
            Access::Read => client.prepare(sql, &types)?.keep(),
            Access::Write => client.prepare_mut(sql, &types)?.keep(),
        },
    };
    let result = match access {
        Access::Read => client.select(&statement, None, args),
        Access::Write => client.update(&statement, None, args),
    };
    PLANS.with_borrow_mut(|plans| {
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert(key, statement);
    });
    result
}

/// Runs `sql` and returns the jsonb in the first column of its first row, or `None`
/// when it returns no row (or NULL).
pub fn jsonb(
    access: Access,
    plan: Plan,
    sql: &str,
    args: &[DatumWithOid],
) -> ApiResult<Option<Jsonb>> {
    check_writable(access)?;
    Ok(Spi::connect_mut(|client| {
        let table = execute(client, access, plan, sql, args)?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        let datum = table.first().get_datum_by_ordinal(1)?;
        // SAFETY: SPI is still connected and the first column is a jsonb.
        Ok(datum.map(|d| unsafe { Jsonb::transfer_from_spi(d) }))
    })?)
}

/// Runs `sql` and returns the columns of its first row as text (empty when no row).
pub fn texts(access: Access, sql: &str, args: &[DatumWithOid]) -> ApiResult<Vec<Option<String>>> {
    check_writable(access)?;
    Ok(Spi::connect_mut(|client| {
        let table = execute(client, access, Plan::Reused, sql, args)?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(Vec::new());
        }
        let row = table.first();
        (1..=row.columns()?)
            .map(|column| row.get::<String>(column))
            .collect()
    })?)
}

/// Runs `sql` and returns how many rows it returned or changed.
pub fn count(access: Access, sql: &str, args: &[DatumWithOid]) -> ApiResult<usize> {
    check_writable(access)?;
    Ok(Spi::connect_mut(|client| {
        execute(client, access, Plan::Reused, sql, args).map(|t| t.len())
    })?)
}

/// The planner settings [`in_index_order`] turns off. jit too: the planner's penalty for
/// a disabled path is a huge cost, which would otherwise have the page compiled (hundreds
/// of milliseconds) for a few rows.
pub const IN_INDEX_ORDER: [&std::ffi::CStr; 3] = [c"enable_sort", c"enable_bitmapscan", c"jit"];

/// Runs `f` with the planner's sorts, bitmap scans and JIT switched off, as a function's own
/// `SET` clause would, undone when `f` returns (and by PostgreSQL's abort processing when
/// an error ends the transaction).
///
/// For a page of one owner's rows read in index order: the per-user index gives those
/// rows in order for any page, but the planner cannot tell how many rows an owner has
/// (user_id keeps no statistics, so that estimates never tell one user's count), and for
/// a deep page it would rather sort all of an owner's rows, the shared ones included.
pub fn in_index_order<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: pops the nest level pushed below.
            unsafe { pg_sys::AtEOXact_GUC(true, self.0) };
        }
    }
    // SAFETY: a GUC nest level and three planner settings inside it.
    let _restore = Restore(unsafe { pg_sys::NewGUCNestLevel() });
    for name in IN_INDEX_ORDER {
        unsafe {
            pg_sys::set_config_option(
                name.as_ptr(),
                c"off".as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
    }
    f()
}
