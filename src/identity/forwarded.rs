//! The caller a Citus node forwarded to this worker session (contract section 8).
//!
//! Layer: identity (uses base). On Citus, each shard's part of a statement runs on a
//! worker, in a session that never saw the caller's token or PostgREST's claims. The
//! node where the statement starts decides what the caller may do ([`Decision`]: which
//! rows it may read, write and delete, as which user) and sends that decision as a token
//! signed with the cluster's key, in `SET LOCAL agno_learnings.forwarded_caller`, which
//! Citus repeats on every worker connection of the transaction (the caller layer's
//! `forward` makes and sends it). A worker believes a decision only when its signature
//! verifies and it names the worker session's role and database and has not expired.
//!
//! A decision is no more than the caller holds already: it can be read back by the
//! caller itself, and reused only by the same role, in the same database, for at most
//! [`LIFETIME_SECONDS`] (never beyond the caller's own token). The key is a file on each
//! node (`agno_learnings.cluster_secret_file`), like the JWT secret.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use pgrx::pg_sys;
use serde::{Deserialize, Serialize};

use crate::base::backend;
use crate::base::citus;
use crate::base::errors::{ApiError, ApiResult};
use crate::base::jwt;
use crate::identity::{Action, Reach};

/// How long a forwarded decision holds at most. Each API call and each authentication
/// sends a fresh one; plain SQL in a transaction that outlives it must authenticate again.
pub const LIFETIME_SECONDS: i64 = 300;

/// The setting that carries a decision to the workers.
pub const FORWARDED: &std::ffi::CStr = c"agno_learnings.forwarded_caller";

/// Its value, kept by PostgreSQL (the setting's storage, written only by the GUC code).
static mut FORWARDED_VALUE: *mut std::ffi::c_char = std::ptr::null_mut();

/// How often its value has changed in this backend (SET, RESET, the end of a
/// transaction): what a policy's remembered answers are checked against, without reading
/// the value for every row.
static FORWARDED_CHANGES: AtomicU64 = AtomicU64::new(0);

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn forwarded_assigned(
    _new: *const std::ffi::c_char,
    _extra: *mut std::ffi::c_void,
) {
    FORWARDED_CHANGES.fetch_add(1, Ordering::Relaxed);
}

/// Defines `agno_learnings.forwarded_caller`. Any role may set it (the extension sets it
/// for its caller); only a value signed with the cluster key is believed, and only in a
/// session Citus opened.
pub fn define_setting() {
    // SAFETY: defines a setting whose storage is a static that lives as long as the
    // backend; PostgreSQL copies the strings.
    unsafe {
        pg_sys::DefineCustomStringVariable(
            FORWARDED.as_ptr(),
            c"The caller's identity as forwarded to Citus workers (set by the extension).".as_ptr(),
            c"".as_ptr(),
            std::ptr::addr_of_mut!(FORWARDED_VALUE),
            c"".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            (pg_sys::GUC_NO_SHOW_ALL | pg_sys::GUC_NOT_IN_SAMPLE) as i32,
            None,
            Some(forwarded_assigned),
            None,
        );
    }
}

/// How often `agno_learnings.forwarded_caller` has changed in this backend.
pub fn changes() -> u64 {
    FORWARDED_CHANGES.load(Ordering::Relaxed)
}

/// The forwarded value, when set.
pub fn value() -> Option<String> {
    // SAFETY: the setting's current value, a NUL-terminated string PostgreSQL owns (or
    // NULL before the setting is defined), copied at once.
    let value = unsafe { *std::ptr::addr_of!(FORWARDED_VALUE) };
    if value.is_null() {
        return None;
    }
    let value = unsafe { std::ffi::CStr::from_ptr(value) }.to_string_lossy();
    (!value.is_empty()).then(|| value.into_owned())
}

/// What the node where a statement started decided about its caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The role the workers' sessions must run as (Citus connects as the current role).
    pub role: String,
    /// The database it holds for.
    pub db: String,
    /// Epoch seconds after which it no longer holds.
    pub exp: i64,
    /// The user a scoped caller is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub read: Reach,
    pub write: Reach,
    pub delete: Reach,
    /// The API call (write or delete) whose statements these are: its rows are read with
    /// its reach, and it answers a hidden conflict itself (table/row_rules.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<Action>,
    /// Whether PostgREST serves the request: errors raised on the workers then take
    /// PostgREST's form too (src/door.rs), as they reach it unchanged through Citus.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub http: bool,
}

impl Decision {
    /// The rows `action` reaches.
    pub fn reach(&self, action: Action) -> Reach {
        match action {
            Action::Read => self.read,
            Action::Write => self.write,
            Action::Delete => self.delete,
        }
    }
}

/// The decision forwarded to this session, if any: 401 when it does not verify here.
pub fn verified() -> ApiResult<Option<Decision>> {
    let Some(token) = value() else {
        return Ok(None);
    };
    let decision = VERIFIED.with_borrow(|last| {
        last.as_ref()
            .filter(|(seen, _)| *seen == token)
            .map(|(_, d)| d.clone())
    });
    let decision = match decision {
        Some(decision) => decision,
        None => {
            let decision = verify(&token).map_err(|why| {
                ApiError::unauthorized(format!("forwarded caller refused: {why}"))
            })?;
            VERIFIED.with_borrow_mut(|last| *last = Some((token, decision.clone())));
            decision
        }
    };
    // Checked at every use: a kept decision expires as a token does.
    if jwt::has_expired(decision.exp) {
        return Err(ApiError::unauthorized(
            "forwarded caller refused: the decision has expired",
        ));
    }
    if decision.role != backend::current_role_name()
        || decision.db != backend::current_database_name()
    {
        return Err(ApiError::unauthorized(
            "forwarded caller refused: it was made for another role or database",
        ));
    }
    Ok(Some(decision))
}

thread_local! {
    /// The last forwarded token verified here, and its decision.
    static VERIFIED: RefCell<Option<(String, Decision)>> = const { RefCell::new(None) };
}

fn verify(token: &str) -> Result<Decision, String> {
    if token.len() > jwt::MAX_TOKEN_BYTES {
        return Err("it is too long".into());
    }
    let key = citus::cluster_key()
        .map_err(|e| e.message)?
        .ok_or("agno_learnings.cluster_secret_file is not set on this node")?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = u64::try_from(jwt::leeway_seconds()).unwrap_or(0);
    validation.set_required_spec_claims(&["exp"]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Decision>(token, &DecodingKey::from_secret(&key), &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the decision has expired".into(),
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                "its signature does not verify with this node's cluster key".into()
            }
            _ => "it is malformed".into(),
        })
}
