//! Tokens verified inside the database (`learnings_authenticate`), held until the
//! transaction ends.
//!
//! Layer: identity (uses base). A token verified in a subtransaction that is rolled back
//! is forgotten with it, as a `SET LOCAL` would be.

use std::cell::{Cell, RefCell};

use pgrx::pg_sys;

use crate::base::backend;
use crate::base::errors::{ApiError, ApiResult};
use crate::base::jwt;
use crate::identity::Principal;

/// A verified token's principal, and where it was verified.
struct Held {
    transaction: pg_sys::LocalTransactionId,
    subtransaction: pg_sys::SubTransactionId,
    principal: Principal,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
    /// Counts every change of the held token (a verification, a rollback that forgets
    /// it): what the caller layer keys its per-statement caller on.
    static CHANGES: Cell<u64> = const { Cell::new(0) };
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

/// The principal of the token verified in this transaction, if any (expired or not:
/// the caller checks at every use).
pub fn held() -> Option<Principal> {
    let now = backend::local_transaction_id();
    HELD.with_borrow(|held| {
        held.as_ref()
            .filter(|h| h.transaction == now)
            .map(|h| h.principal.clone())
    })
}

/// How often the held token has changed in this backend.
pub fn changes() -> u64 {
    CHANGES.get()
}

/// Verifies `token` (a bare JWT or `Bearer <jwt>`) against the configured keys and holds
/// its principal until the transaction ends. A transaction authenticated as one user
/// cannot switch to another (PT401); the same user may present a fresh token.
pub fn verify_and_hold(token: Option<&str>) -> ApiResult<Principal> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("a token is required"))?;
    let token = token.strip_prefix("Bearer ").unwrap_or(token);
    let claims = jwt::verify(token)
        .map_err(|reason| ApiError::unauthorized(format!("invalid token: {reason}")))?;
    let principal = Principal::from_claims(&claims)?;
    if let Some(current) = held() {
        if current.user_id != principal.user_id {
            return Err(ApiError::unauthorized(
                "this transaction is already authenticated as another user; \
                 end it before authenticating as someone else",
            ));
        }
    }
    watch_subtransactions();
    HELD.with_borrow_mut(|held| {
        *held = Some(Held {
            transaction: backend::local_transaction_id(),
            subtransaction: backend::subtransaction_id(),
            principal: principal.clone(),
        })
    });
    CHANGES.set(CHANGES.get().wrapping_add(1));
    Ok(principal)
}

/// Registers, once per backend, the callback that forgets a token verified in a
/// subtransaction when that subtransaction (or one around it) is rolled back.
fn watch_subtransactions() {
    if WATCHING.get() {
        return;
    }
    // SAFETY: registers a callback for the life of the backend.
    unsafe { pg_sys::RegisterSubXactCallback(Some(on_subtransaction), std::ptr::null_mut()) };
    WATCHING.set(true);
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_subtransaction(
    event: pg_sys::SubXactEvent::Type,
    subtransaction: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event != pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        return;
    }
    // Subtransaction ids grow within a transaction: one verified at or below the aborted
    // level goes with it.
    let forgotten = HELD.with_borrow_mut(|held| {
        let gone = held
            .as_ref()
            .is_some_and(|h| h.subtransaction >= subtransaction);
        if gone {
            *held = None;
        }
        gone
    });
    if forgotten {
        CHANGES.set(CHANGES.get().wrapping_add(1));
    }
}
