//! Sending the caller to the Citus workers of a transaction, and reading what was sent
//! to this one.
//!
//! Layer: caller (uses the caller, identity/forwarded.rs, base). The node where a
//! statement starts signs its caller's [`Decision`] with the cluster key and sets it on
//! every worker connection of the transaction (identity/forwarded.rs says how a worker
//! verifies it). A no-op on one node.

use std::cell::RefCell;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pgrx::pg_sys;

use crate::base::backend;
use crate::base::citus;
use crate::base::errors::{ApiError, ApiResult, SqlState};
use crate::base::jwt;
use crate::base::postgrest;
use crate::caller::{self, Caller};
use crate::identity::forwarded::{self, Decision, LIFETIME_SECONDS};
use crate::identity::Action;

thread_local! {
    /// What this backend last forwarded: (transaction, subtransaction, decision). Citus
    /// forgets a SET LOCAL made in a subtransaction when it ends, so a new one forwards again.
    static SENT: RefCell<Option<(pg_sys::LocalTransactionId, pg_sys::SubTransactionId, Decision)>> =
        const { RefCell::new(None) };
}

/// Sends `caller`'s decision to the workers of this transaction, when Citus is installed
/// here and the cluster key is configured (without the key no table can have been
/// distributed: `learnings_distribute` requires it).
pub fn forward(caller: &Caller) -> ApiResult<()> {
    if !citus::installed() {
        return Ok(());
    }
    let Some(key) = citus::cluster_key()? else {
        return Ok(());
    };
    let decision = decide(caller);
    let (lxid, subxid) = (
        backend::local_transaction_id(),
        backend::subtransaction_id(),
    );
    let fresh = SENT.with_borrow(|sent| {
        sent.as_ref().is_some_and(|(x, s, d)| {
            *x == lxid
                && *s == subxid
                && Decision {
                    exp: decision.exp,
                    ..d.clone()
                } == decision
                && d.exp - jwt::now_seconds() > LIFETIME_SECONDS / 2
        })
    });
    if fresh {
        return Ok(());
    }
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &decision,
        &EncodingKey::from_secret(&key),
    )
    .map_err(|_| ApiError::new(SqlState::Internal, "the caller could not be signed"))?;
    citus::set_on_workers(&format!(
        "SET LOCAL {} TO {}",
        forwarded::FORWARDED.to_string_lossy(),
        pgrx::spi::quote_literal(&token)
    ))?;
    SENT.with_borrow_mut(|sent| *sent = Some((lxid, subxid, decision)));
    Ok(())
}

/// The decision for `caller`, for the current role and database.
fn decide(caller: &Caller) -> Decision {
    let limit = jwt::now_seconds().saturating_add(LIFETIME_SECONDS);
    let exp = caller.expires_at().map_or(limit, |exp| exp.min(limit));
    Decision {
        role: backend::current_role_name(),
        db: backend::current_database_name(),
        exp,
        sub: caller.user_id(),
        read: caller.reach(Action::Read),
        write: caller.reach(Action::Write),
        delete: caller.reach(Action::Delete),
        api: caller::local_api_action(),
        http: postgrest::serving_here(),
    }
}

/// Whether the statement serves a PostgREST request: here, or on the node that forwarded
/// it to this Citus worker (see [`Decision::http`]).
pub fn serving_postgrest() -> bool {
    postgrest::serving_here() || session_decision().is_some_and(|decision| decision.http)
}

/// After an API call: on Citus the call forwarded its caller with its API action, and the
/// rest of the transaction reads as the caller again (nothing to do on one node).
pub fn after_api_call() -> ApiResult<()> {
    if citus::installed() {
        forward(&Caller::current()?)?;
    }
    Ok(())
}

/// The API action whose statement is running, if any (caller::as_api): this backend's,
/// or, on a Citus worker, the one the coordinator's decision names (see [`Decision::api`]).
pub fn api_action() -> Option<Action> {
    caller::local_api_action().or_else(|| session_decision().and_then(|decision| decision.api))
}

/// The action that decides what this statement may read: an API write reads the rows it
/// touches with the write's scope.
pub fn read_action() -> Action {
    api_action().unwrap_or(Action::Read)
}

/// The decision this session acts on, when it is a Citus session's forwarded one (the
/// cheap checks first: one node never resolves a caller for it).
fn session_decision() -> Option<Decision> {
    if forwarded::value().is_none() || !citus::in_citus_connection() {
        return None;
    }
    match Caller::current() {
        Ok(Caller::Forwarded(decision)) => Some(decision),
        _ => None,
    }
}
