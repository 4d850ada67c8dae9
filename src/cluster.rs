//! The caller across a Citus cluster (contract section 8).
//!
//! On Citus, each shard's part of a statement runs on a worker, in a session that never
//! saw the caller's token or PostgREST's claims. The node where the statement starts
//! decides what the caller may do ([`Decision`]: which rows it may read, write and
//! delete, as which user) and sends that decision to the workers as a token signed with
//! the cluster's key, in `SET LOCAL agno_learnings.forwarded_caller`, which Citus repeats
//! on every worker connection of the transaction. A worker believes a decision only when
//! its signature verifies and it names the worker session's role and database and has
//! not expired; a Citus connection without one is refused (no rows, no writes).
//!
//! A decision is no more than the caller holds already: it can be read back by the
//! caller itself, and reused only by the same role, in the same database, for at most
//! [`LIFETIME_SECONDS`] (never beyond the caller's own token). The key is a file on each
//! node (`agno_learnings.cluster_secret_file`), like the JWT secret.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pgrx::pg_sys;
use pgrx::spi::Spi;
use serde::{Deserialize, Serialize};

use crate::auth::{self, Action, Caller, Scope};
use crate::errors::{ApiError, ApiResult, SqlState};
use crate::jwt;
use crate::settings::{self, CLUSTER_SECRET_FILE};

/// How long a forwarded decision holds at most. Each API call and each authentication
/// sends a fresh one; plain SQL in a transaction that outlives it must authenticate again.
pub const LIFETIME_SECONDS: i64 = 300;

/// The setting that carries a decision to the workers.
const FORWARDED: &std::ffi::CStr = c"agno_learnings.forwarded_caller";

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
pub fn define_forwarded_setting() {
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
pub fn forwarded_changes() -> u64 {
    FORWARDED_CHANGES.load(Ordering::Relaxed)
}

/// The forwarded value, when set.
fn forwarded_value() -> Option<String> {
    // SAFETY: the setting's current value, a NUL-terminated string PostgreSQL owns (or
    // NULL before the setting is defined), copied at once.
    let value = unsafe { *std::ptr::addr_of!(FORWARDED_VALUE) };
    if value.is_null() {
        return None;
    }
    let value = unsafe { std::ffi::CStr::from_ptr(value) }.to_string_lossy();
    (!value.is_empty()).then(|| value.into_owned())
}

/// Which rows of a learnings table an action reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    All,
    Own,
    None,
}

impl Reach {
    /// As the one-node policies compare it: 'all', 'own' or 'none'.
    pub const fn name(self) -> &'static str {
        match self {
            Reach::All => "all",
            Reach::Own => "own",
            Reach::None => "none",
        }
    }
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
    /// its reach, and it answers a hidden conflict itself (src/row_rules.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<Action>,
    /// Whether PostgREST serves the request: errors raised on the workers then take
    /// PostgREST's form too (src/errors.rs), as they reach it unchanged through Citus.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub http: bool,
}

impl Decision {
    /// The rows `action` may touch, as the API's scope; 403 where the caller may not.
    pub fn scope(&self, action: Action) -> ApiResult<Scope> {
        let reach = match action {
            Action::Read => self.read,
            Action::Write => self.write,
            Action::Delete => self.delete,
        };
        match (reach, &self.sub) {
            (Reach::All, _) => Ok(Scope::All),
            (Reach::Own, Some(user)) => Ok(Scope::User(user.clone())),
            _ => Err(auth::forbidden(format!(
                "the coordinator did not allow this caller to {} learnings",
                action.name()
            ))),
        }
    }
}

/// Whether this session is one Citus opened from another node (to run a shard's part of
/// a statement, or a command on the workers). Such a session has no caller of its own:
/// only a forwarded decision counts. Any client can call itself that (application_name),
/// which only takes rights away from it.
pub fn in_citus_connection() -> bool {
    settings::current(c"application_name")
        .is_some_and(|name| name.starts_with("citus_") && name.contains(" gpid="))
}

/// The decision forwarded to this session, if any: 401 when it does not verify here.
pub fn forwarded() -> ApiResult<Option<Decision>> {
    let Some(token) = forwarded_value() else {
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
            let decision = verify(&token)
                .map_err(|why| auth::unauthorized(format!("forwarded caller refused: {why}")))?;
            VERIFIED.with_borrow_mut(|last| *last = Some((token, decision.clone())));
            decision
        }
    };
    // Checked at every use: a kept decision expires as a token does.
    if jwt::has_expired(decision.exp) {
        return Err(auth::unauthorized(
            "forwarded caller refused: the decision has expired",
        ));
    }
    if decision.role != current_role() || decision.db != current_database() {
        return Err(auth::unauthorized(
            "forwarded caller refused: it was made for another role or database",
        ));
    }
    Ok(Some(decision))
}

thread_local! {
    /// The last forwarded token verified here, and its decision.
    static VERIFIED: RefCell<Option<(String, Decision)>> = const { RefCell::new(None) };
    /// What this backend last forwarded: (transaction, subtransaction, decision). Citus
    /// forgets a SET LOCAL made in a subtransaction when it ends, so a new one forwards again.
    static SENT: RefCell<Option<(pg_sys::LocalTransactionId, pg_sys::SubTransactionId, Decision)>> =
        const { RefCell::new(None) };
    /// Whether Citus is installed in this database, per transaction.
    static CITUS: RefCell<Option<(pg_sys::LocalTransactionId, bool)>> = const { RefCell::new(None) };
}

/// Sends the current caller's decision to the workers of this transaction, when Citus is
/// installed here and the cluster key is configured (without the key no table can have
/// been distributed: `learnings_distribute` requires it). A no-op on one node.
pub fn forward(caller: &Caller) -> ApiResult<()> {
    if !citus_installed() {
        return Ok(());
    }
    let Some(key) = cluster_key()? else {
        return Ok(());
    };
    let decision = decide(caller);
    let (lxid, subxid) = (auth::local_transaction_id(), current_subtransaction());
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
    set_on_workers(&format!(
        "SET LOCAL agno_learnings.forwarded_caller TO {}",
        pgrx::spi::quote_literal(&token)
    ))?;
    SENT.with_borrow_mut(|sent| *sent = Some((lxid, subxid, decision)));
    Ok(())
}

/// Runs `f` with `settings` off on the workers too, when `distributed` (the planner
/// settings of db::in_index_order: a shard's page must be read in its index's order as
/// well), and sets them back to their defaults there afterwards.
pub fn off_on_workers<T>(
    distributed: bool,
    settings: &[&std::ffi::CStr],
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
fn set_on_workers(set_local: &str) -> ApiResult<()> {
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

/// Whether Citus distributes `relation` (false where Citus is not installed).
pub fn is_distributed(relation: u32) -> ApiResult<bool> {
    if !citus_installed() {
        return Ok(false);
    }
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS p \
                         WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1)",
        &[pg_sys::Oid::from(relation).into()],
    )?
    .unwrap_or(false))
}

/// The decision for `caller`, for the current role and database.
fn decide(caller: &Caller) -> Decision {
    let limit = jwt::now_seconds().saturating_add(LIFETIME_SECONDS);
    let exp = caller.expires_at().map_or(limit, |exp| exp.min(limit));
    Decision {
        role: current_role(),
        db: current_database(),
        exp,
        sub: caller.user_id(),
        read: caller.reach(Action::Read),
        write: caller.reach(Action::Write),
        delete: caller.reach(Action::Delete),
        api: auth::local_api_action(),
        http: crate::postgrest::serving_here(),
    }
}

/// Whether a forwarded decision says PostgREST serves the request (see [`Decision::http`]).
pub fn forwarded_http() -> bool {
    session_decision().is_some_and(|decision| decision.http)
}

/// The API action a forwarded decision names (see [`Decision::api`]), on a worker.
pub fn forwarded_api_action() -> Option<Action> {
    session_decision().and_then(|decision| decision.api)
}

/// The decision this session acts on, when it is a Citus session's forwarded one (the
/// cheap checks first: one node never resolves a caller for it).
fn session_decision() -> Option<Decision> {
    if forwarded_value().is_none() || !in_citus_connection() {
        return None;
    }
    match Caller::current() {
        Ok(Caller::Forwarded(decision)) => Some(decision),
        _ => None,
    }
}

fn verify(token: &str) -> Result<Decision, String> {
    if token.len() > jwt::MAX_TOKEN_BYTES {
        return Err("it is too long".into());
    }
    let key = cluster_key()
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

/// Whether the citus extension is installed in this database (looked up once per
/// transaction: CREATE EXTENSION citus takes effect at the next one).
pub fn citus_installed() -> bool {
    let lxid = auth::local_transaction_id();
    if let Some(installed) = CITUS.with_borrow(|c| c.filter(|(x, _)| *x == lxid).map(|(_, i)| i)) {
        return installed;
    }
    // SAFETY: a catalog lookup by name; missing_ok returns InvalidOid.
    let installed =
        unsafe { pg_sys::get_extension_oid(c"citus".as_ptr(), true) } != pg_sys::InvalidOid;
    CITUS.with_borrow_mut(|c| *c = Some((lxid, installed)));
    installed
}

fn current_role() -> String {
    // SAFETY: the name of the current role, which exists while it is current.
    unsafe {
        let name = pg_sys::GetUserNameFromId(pg_sys::GetUserId(), false);
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    }
}

fn current_database() -> String {
    // SAFETY: the connected database's name (NULL only if it was dropped meanwhile).
    unsafe {
        let name = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        if name.is_null() {
            return String::new();
        }
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    }
}

fn current_subtransaction() -> pg_sys::SubTransactionId {
    // SAFETY: reads the current transaction state.
    unsafe { pg_sys::GetCurrentSubTransactionId() }
}

/// A fingerprint of this node's cluster key (never the key), for `learnings_distribute`
/// to check that every node holds the same one; NULL without a key. Superusers only
/// (declared in sql/finalize.sql).
#[pgrx::pg_extern(sql = false)]
#[pgrx::search_path(pg_catalog, pg_temp)]
fn learnings_cluster_key_id() -> Option<String> {
    use sha2::{Digest, Sha256};
    let key = crate::errors::unwrap_or_raise(cluster_key())?;
    let digest = Sha256::new()
        .chain_update(b"agno_learnings cluster key id\0")
        .chain_update(&key)
        .finalize();
    Some(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
}
