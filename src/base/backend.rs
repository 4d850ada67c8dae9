//! What this backend is doing now: its transaction, subtransaction and statement, the
//! role it runs as, its database.
//!
//! Layer: base (uses nothing of the crate). Everything the crate keeps between calls is
//! keyed on these values, so that it never outlives what it was computed for.

use std::ffi::CStr;

use pgrx::pg_sys;

/// The backend's current top-level transaction, as its local id: it changes with every
/// transaction, so nothing keyed on it can outlive its own (also across PREPARE
/// TRANSACTION).
pub fn local_transaction_id() -> pg_sys::LocalTransactionId {
    // SAFETY: MyProc is set for every backend that runs SQL.
    unsafe {
        // 17 moved it into the proc's virtual transaction id.
        #[cfg(any(feature = "pg15", feature = "pg16"))]
        return (*pg_sys::MyProc).lxid;
        #[cfg(any(feature = "pg17", feature = "pg18"))]
        return (*pg_sys::MyProc).vxid.lxid;
    }
}

/// The current subtransaction (the top-level transaction's own id outside any).
pub fn subtransaction_id() -> pg_sys::SubTransactionId {
    // SAFETY: reads the current transaction state.
    unsafe { pg_sys::GetCurrentSubTransactionId() }
}

/// The role the current statement runs as (SET ROLE and SECURITY DEFINER change it).
pub fn current_role() -> pg_sys::Oid {
    // SAFETY: a read of the backend's current user.
    unsafe { pg_sys::GetUserId() }
}

/// The role this session logged in as, set once at connection.
pub fn session_role() -> pg_sys::Oid {
    // SAFETY: a read of the backend's session user.
    unsafe { pg_sys::GetSessionUserId() }
}

/// The name of the role the current statement runs as.
pub fn current_role_name() -> String {
    // SAFETY: the name of the current role, which exists while it is current.
    unsafe {
        let name = pg_sys::GetUserNameFromId(pg_sys::GetUserId(), false);
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

/// The connected database's name (empty if it was dropped meanwhile).
pub fn current_database_name() -> String {
    // SAFETY: the connected database's name, NULL only if it is gone.
    unsafe {
        let name = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        if name.is_null() {
            return String::new();
        }
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

/// The top-level statement running now, as far as one backend can tell statements
/// apart: its transaction, its start, and the command counter (which a write inside the
/// statement advances). Every SQL statement an API function runs through SPI belongs to
/// its caller's statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statement {
    transaction: pg_sys::LocalTransactionId,
    started: pg_sys::TimestampTz,
    command: pg_sys::CommandId,
}

impl Statement {
    pub fn current() -> Self {
        // SAFETY: reads of the current transaction's and statement's state.
        let (started, command) = unsafe {
            (
                pg_sys::GetCurrentStatementStartTimestamp(),
                pg_sys::GetCurrentCommandId(false),
            )
        };
        Statement {
            transaction: local_transaction_id(),
            started,
            command,
        }
    }
}
