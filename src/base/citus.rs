//! Citus, where it is installed: whether a table is distributed, settings sent to the
//! workers of a transaction, the cluster key, and whether this session is one Citus
//! opened from another node.
//!
//! Layer: base (uses backend, errors, settings). On one node every function here is a
//! cheap no-op or `false`.

use std::cell::RefCell;
use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::spi::Spi;

use crate::base::backend;
use crate::base::errors::{ApiError, ApiResult, SqlState};
use crate::base::settings::{self, CLUSTER_SECRET_FILE};

thread_local! {
    /// Whether Citus is installed in this database, per transaction.
    static CITUS: RefCell<Option<(pg_sys::LocalTransactionId, bool)>> = const { RefCell::new(None) };
}

/// Whether the citus extension is installed in this database (looked up once per
/// transaction: CREATE EXTENSION citus takes effect at the next one).
pub fn installed() -> bool {
    let lxid = backend::local_transaction_id();
    if let Some(installed) = CITUS.with_borrow(|c| c.filter(|(x, _)| *x == lxid).map(|(_, i)| i)) {
        return installed;
    }
    // SAFETY: a catalog lookup by name; missing_ok returns InvalidOid.
    let installed =
        unsafe { pg_sys::get_extension_oid(c"citus".as_ptr(), true) } != pg_sys::InvalidOid;
    CITUS.with_borrow_mut(|c| *c = Some((lxid, installed)));
    installed
}

/// Whether this session is one Citus opened from another node (to run a shard's part of
/// a statement, or a command on the workers). Such a session has no caller of its own:
/// only a forwarded decision counts. Any client can call itself that (application_name),
/// which only takes rights away from it.
pub fn in_citus_connection() -> bool {
    settings::current(c"application_name")
        .is_some_and(|name| name.starts_with("citus_") && name.contains(" gpid="))
}

/// Whether Citus distributes `relation` (false where Citus is not installed).
pub fn is_distributed(relation: u32) -> ApiResult<bool> {
    if !installed() {
        return Ok(false);
    }
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS p \
                         WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1)",
        &[pg_sys::Oid::from(relation).into()],
    )?
    .unwrap_or(false))
}

/// Runs `f` with `settings` off on the workers too, when `distributed` (the planner
/// settings of db::in_index_order: a shard's page must be read in its index's order as
/// well), and sets them back to their defaults there afterwards.
pub fn off_on_workers<T>(
    distributed: bool,
    settings: &[&CStr],
    f: impl FnOnce() -> ApiResult<T>,
) -> ApiResult<T> {
    if !distributed {
        return f();
    }
    let each = |value: &str| {
        settings
            .iter()
            .map(|name| format!("SET LOCAL {} TO {value}", name.to_string_lossy()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    set_on_workers(&each("off"))?;
    let result = f()?;
    set_on_workers(&each("DEFAULT"))?;
    Ok(result)
}

/// Runs `set_local` (SET LOCAL statements of ours, no caller input but a quoted literal)
/// here and on every worker connection of this transaction.
///
/// Citus repeats SET LOCAL statements (not set_config) on its worker connections, and
/// only in a transaction block, a function or a DO block (an autocommit call of ours is
/// neither when it runs its own SQL), hence the DO block. Citus sends them with the BEGIN
/// of each worker's transaction block, which a read alone opens only inside a coordinated
/// (distributed) transaction, so one is started when there is none yet: creating an
/// empty intermediate result is the public way to.
pub fn set_on_workers(set_local: &str) -> ApiResult<()> {
    Spi::run(&format!(
        "DO $set$ \
         DECLARE propagate text := pg_catalog.current_setting('citus.propagate_set_commands', true); \
         BEGIN \
           PERFORM pg_catalog.set_config('citus.propagate_set_commands', 'local', true); \
           {set_local}; \
           PERFORM pg_catalog.set_config('citus.propagate_set_commands', propagate, true); \
           IF (pg_catalog.get_current_transaction_id()).transaction_number OPERATOR(pg_catalog.=) 0 THEN \
             PERFORM pg_catalog.create_intermediate_result('agno_learnings_forwarded', 'SELECT 1 WHERE false'); \
           END IF; \
         END $set$"
    ))?;
    Ok(())
}

/// The cluster key: the contents of `agno_learnings.cluster_secret_file` (one trailing
/// newline dropped); `None` when the setting is empty. At least 32 bytes.
pub fn cluster_key() -> ApiResult<Option<Vec<u8>>> {
    let Some(path) = settings::text(&CLUSTER_SECRET_FILE) else {
        return Ok(None);
    };
    let unusable = |why: &str| {
        ApiError::new(
            SqlState::Internal,
            format!("agno_learnings.cluster_secret_file {why}"),
        )
    };
    let mut key = std::fs::read(&path).map_err(|_| unusable("cannot be read"))?;
    if key.ends_with(b"\n") {
        key.pop();
    }
    if key.len() < 32 {
        return Err(unusable("must hold at least 32 bytes"));
    }
    Ok(Some(key))
}

/// A fingerprint of this node's cluster key (never the key), for `learnings_distribute`
/// to check that every node holds the same one; `None` without a key.
pub fn cluster_key_id() -> ApiResult<Option<String>> {
    use sha2::{Digest, Sha256};
    let Some(key) = cluster_key()? else {
        return Ok(None);
    };
    let digest = Sha256::new()
        .chain_update(b"agno_learnings cluster key id\0")
        .chain_update(&key)
        .finalize();
    Ok(Some(
        digest[..8].iter().map(|b| format!("{b:02x}")).collect(),
    ))
}
