//! Who is calling, and what that caller may do (contract section 5).
//!
//! The caller is resolved per transaction, in this order:
//! 1. a token verified by [`learnings_authenticate`] in this transaction;
//! 2. PostgREST's `request.jwt.claims`, when trusted;
//! 3. in a session Citus opened from another node, the decision that node forwarded
//!    (see `cluster`);
//! 4. nobody: a trusted backend only for roles an administrator trusts (or that own the
//!    table, or bypass row-level security anyway); any other role must present a token,
//!    and a session Citus opened from another node is never trusted without a decision.
//!
//! The API functions ask [`Caller::scope`] before they touch a table; the row-level
//! security policies ask the same questions through [`learnings_policy_access`] and
//! [`learnings_policy_user`], so every door into a learnings table obeys one rule.

use std::cell::{Cell, RefCell};

use pgrx::prelude::*;
use serde_json::{json, Map, Value};

use crate::catalog;
use crate::cluster::{self, Decision, Reach};
use crate::errors::{self, ApiError, ApiResult, SqlState};
use crate::jwt;
use crate::settings::{
    self, ADMIN_SCOPE, CLAIMS_LOGIN_ROLES, ENFORCE_SCOPES, REQUIRE_TOKEN, SCOPES_CLAIM,
    TRUSTED_ROLES, TRUST_REQUEST_CLAIMS, USER_ID_CLAIM, USER_ISOLATION,
};

/// What a statement does to learnings, and the scope it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Read,
    Write,
    Delete,
}

impl Action {
    pub const fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Action::Read, Action::Write, Action::Delete]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// An authenticated identity: a verified token's or PostgREST's claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Option<String>,
    pub scopes: Vec<String>,
    /// The token's `exp` (epoch seconds), checked at every use, not only at verification.
    pub expires_at: Option<i64>,
}

impl Principal {
    fn from_claims(claims: &Map<String, Value>) -> ApiResult<Self> {
        let user_claim = settings::text(&USER_ID_CLAIM).unwrap_or_else(|| "sub".into());
        let scopes_claim = settings::text(&SCOPES_CLAIM).unwrap_or_else(|| "scopes".into());
        let user_id = match claims.get(&user_claim) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            // PostgreSQL text cannot hold NUL: no row can belong to such a subject.
            Some(Value::String(s)) if s.contains('\0') => {
                return Err(unauthorized(format!(
                    "the {user_claim} claim must not contain NUL characters"
                )))
            }
            Some(Value::String(s)) => Some(s.clone()),
            // agno compares owners as str(): a numeric subject is its decimal text.
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                return Err(unauthorized(format!(
                    "the {user_claim} claim must be a string"
                )))
            }
        };
        let scopes: Vec<String> = match claims.get(&scopes_claim) {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        if scopes.iter().any(|scope| scope.contains('\0')) {
            return Err(unauthorized(format!(
                "the {scopes_claim} claim must not contain NUL characters"
            )));
        }
        let expires_at = claims
            .get("exp")
            .and_then(Value::as_f64)
            .map(|exp| exp.floor() as i64);
        Ok(Principal {
            user_id,
            scopes,
            expires_at,
        })
    }

    /// 401 once the token has expired (beyond the configured leeway): a transaction that
    /// outlives its token loses the identity, instead of keeping it until it ends.
    fn check_not_expired(&self) -> ApiResult<()> {
        match self.expires_at {
            Some(exp) if jwt::has_expired(exp) => {
                Err(unauthorized("invalid token: token has expired"))
            }
            _ => Ok(()),
        }
    }

    fn is_admin(&self) -> bool {
        let admin = settings::text(&ADMIN_SCOPE).unwrap_or_else(|| "agent_os:admin".into());
        self.scopes.contains(&admin)
    }

    /// `learnings:<action>`, or AgentOS's wildcard form `learnings:*:<action>`.
    fn has_scope(&self, action: Action) -> bool {
        let global = format!("learnings:{}", action.name());
        let wildcard = format!("learnings:*:{}", action.name());
        self.is_admin() || self.scopes.iter().any(|s| *s == global || *s == wildcard)
    }
}

/// The caller of the current statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A direct connection without claims (a trusted backend): full access.
    Trusted,
    /// A verified token or trusted PostgREST claims.
    Authenticated(Principal),
    /// What the coordinator decided, on a Citus worker.
    Forwarded(Decision),
}

/// Which rows a caller may act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// All rows: a trusted backend, an admin, or user isolation switched off.
    All,
    /// Rows owned by this user (and, for reading, rows with no owner).
    User(String),
}

impl Caller {
    /// Who is calling, or why nobody may: 401 for a missing or refused identity.
    pub fn current() -> ApiResult<Caller> {
        if let Some(principal) = verified_principal() {
            principal.check_not_expired()?;
            return Ok(Caller::Authenticated(principal));
        }
        if cluster::in_citus_connection() {
            // A decision counts only here, in a session another node opened for its
            // statement (where PostgREST's claims never are: nothing forwards them).
            // Roles the policies never apply to are trusted as on their own node; no
            // other role is, whatever this node's settings say.
            if let Some(decision) = cluster::forwarded()? {
                return Ok(Caller::Forwarded(decision));
            }
            if privileged_role()? {
                return Ok(Caller::Trusted);
            }
            return Err(unauthorized(
                "this Citus connection carries no verifiable caller from its coordinator",
            ));
        }
        if let Some(claims) = settings::current(c"request.jwt.claims") {
            return request_claims(&claims).map(Caller::Authenticated);
        }
        if !trusted_backend()? {
            return Err(unauthorized(
                "a token is required: call learnings_authenticate(token) in this transaction first",
            ));
        }
        Ok(Caller::Trusted)
    }

    /// The rows this caller may `action`: 403 when a scope or the user identity is missing.
    pub fn scope(&self, action: Action) -> ApiResult<Scope> {
        let principal = match self {
            Caller::Trusted => return Ok(Scope::All),
            Caller::Forwarded(decision) => return decision.scope(action),
            Caller::Authenticated(principal) => principal,
        };
        if ENFORCE_SCOPES.get() && !principal.has_scope(action) {
            return Err(forbidden(format!(
                "Insufficient permissions: the learnings:{} scope is required",
                action.name()
            )));
        }
        if principal.is_admin() || !USER_ISOLATION.get() {
            return Ok(Scope::All);
        }
        match &principal.user_id {
            Some(user_id) => Ok(Scope::User(user_id.clone())),
            None => Err(forbidden(
                "Authenticated request is missing a user identity",
            )),
        }
    }

    /// The rows `action` reaches for this caller: all, its own (and shared ones, to
    /// read), or none (where [`Caller::scope`] refuses).
    pub fn reach(&self, action: Action) -> Reach {
        match self.scope(action) {
            Ok(Scope::All) => Reach::All,
            Ok(Scope::User(_)) => Reach::Own,
            Err(_) => Reach::None,
        }
    }

    /// The user this caller acts as, if any.
    pub fn user_id(&self) -> Option<String> {
        match self {
            Caller::Authenticated(principal) => principal.user_id.clone(),
            Caller::Forwarded(decision) => decision.sub.clone(),
            Caller::Trusted => None,
        }
    }

    /// When this caller's identity ends (its token's `exp`), if it does.
    pub fn expires_at(&self) -> Option<i64> {
        match self {
            Caller::Trusted => None,
            Caller::Authenticated(principal) => principal.expires_at,
            Caller::Forwarded(decision) => Some(decision.exp),
        }
    }
}

pub fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(SqlState::Unauthorized, message)
}

pub fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(SqlState::Forbidden, message)
}

/// Whether the current role may act without a token, as a trusted backend (AgentOS with
/// auth off): always when `require_token` is off; otherwise superusers, roles that bypass
/// row-level security or own the extension's table (the agent runtime: policies never
/// apply to them anyway), and the roles listed in `agno_learnings.trusted_roles`.
fn trusted_backend() -> ApiResult<bool> {
    if !REQUIRE_TOKEN.get() || privileged_role()? {
        return Ok(true);
    }
    // SAFETY: plain lookups of the current role and its memberships.
    let role = unsafe { pg_sys::GetUserId() };
    Ok(settings::roles(&TRUSTED_ROLES)
        .into_iter()
        .any(|trusted| unsafe { pg_sys::has_privs_of_role(role, trusted) }))
}

/// Whether the current role is one the policies never apply to: a superuser, a role
/// that bypasses row-level security, or the owner of the extension's table.
fn privileged_role() -> ApiResult<bool> {
    // SAFETY: plain lookups of the current role's attributes.
    let role = unsafe { pg_sys::GetUserId() };
    if unsafe { pg_sys::superuser_arg(role) || pg_sys::has_bypassrls_privilege(role) } {
        return Ok(true);
    }
    let table = catalog::home()?.table;
    Ok(table != pg_sys::InvalidOid && catalog::owns(role, table))
}

/// Whether this session logged in as a role whose `request.jwt.claims` are PostgREST's
/// (`agno_learnings.claims_login_roles`): any role can `SET request.jwt.claims`, so the
/// setting is only believed where the login role is one only PostgREST uses.
fn claims_from_authenticator() -> bool {
    // SAFETY: the session's login role, set once at connection.
    let session = unsafe { pg_sys::GetSessionUserId() };
    settings::roles(&CLAIMS_LOGIN_ROLES).contains(&session)
}

/// PostgREST's claims. An anonymous request (claims holding only the role) is always
/// refused; any other is accepted only when the administrator trusts the setting and the
/// session logged in as PostgREST's authenticator, since every role can
/// `SET request.jwt.claims` to anything.
fn request_claims(text: &str) -> ApiResult<Principal> {
    let claims: Map<String, Value> = serde_json::from_str(text)
        .map_err(|_| unauthorized("request.jwt.claims is not a JSON object"))?;
    if claims.keys().all(|k| k == "role") {
        return Err(unauthorized(
            "Authentication required: the request carries no token",
        ));
    }
    if !TRUST_REQUEST_CLAIMS.get() {
        return Err(unauthorized(
            "request.jwt.claims is not trusted here (agno_learnings.trust_request_claims is off); \
             authenticate with learnings_authenticate(token)",
        ));
    }
    if !claims_from_authenticator() {
        return Err(unauthorized(
            "request.jwt.claims is trusted only in sessions of PostgREST's authenticator \
             (agno_learnings.claims_login_roles); authenticate with learnings_authenticate(token)",
        ));
    }
    // PostgREST checks `aud` only when a token carries one; the audience and issuer the
    // administrator requires hold for both doors.
    jwt::check_required_claims(&claims)
        .map_err(|reason| unauthorized(format!("invalid token: {reason}")))?;
    let principal = principal(&claims)?;
    principal.check_not_expired()?;
    Ok(principal)
}

/// Subjects AgentOS mints for itself (service accounts, OAuth clients, the scheduler).
fn is_reserved_subject(user_id: &str) -> bool {
    user_id.starts_with("sa:") || user_id.starts_with("__oauth__:") || user_id == "__scheduler__"
}

fn principal(claims: &Map<String, Value>) -> ApiResult<Principal> {
    let principal = Principal::from_claims(claims)?;
    if principal
        .user_id
        .as_deref()
        .is_some_and(is_reserved_subject)
    {
        return Err(unauthorized(
            "the token's subject is reserved for AgentOS itself",
        ));
    }
    Ok(principal)
}

// ---------------------------------------------------------------------------------------
// Verified tokens, held for the rest of the transaction.

thread_local! {
    /// The principal of the token verified in the transaction with this local id.
    static VERIFIED: RefCell<Option<(pg_sys::LocalTransactionId, Principal)>> = const { RefCell::new(None) };
    /// Counts verifications, so that what the policies remember of a statement's caller
    /// is forgotten when a token is verified.
    static IDENTITY_CHANGES: Cell<u64> = const { Cell::new(0) };
}

/// The backend's current top-level transaction, as its local id: it changes with every
/// transaction, so claims can never outlive theirs (also across PREPARE TRANSACTION).
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

fn verified_principal() -> Option<Principal> {
    let now = local_transaction_id();
    VERIFIED.with_borrow(|v| {
        v.as_ref()
            .filter(|(lxid, _)| *lxid == now)
            .map(|(_, p)| p.clone())
    })
}

/// Verifies `token` against the configured keys and makes its claims the caller's
/// identity until the transaction ends. A transaction authenticated as one user cannot
/// switch to another (PT401); the same user may present a fresh token.
#[pg_extern]
#[search_path(pg_catalog, pg_temp)]
fn learnings_authenticate(token: default!(Option<&str>, "NULL")) -> pgrx::JsonB {
    errors::unwrap_or_raise(authenticate(token))
}

fn authenticate(token: Option<&str>) -> ApiResult<pgrx::JsonB> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("a token is required"))?;
    let token = token.strip_prefix("Bearer ").unwrap_or(token);
    let claims =
        jwt::verify(token).map_err(|reason| unauthorized(format!("invalid token: {reason}")))?;
    let principal = principal(&claims)?;
    if let Some(current) = verified_principal() {
        if current.user_id != principal.user_id {
            return Err(unauthorized(
                "this transaction is already authenticated as another user; \
                 end it before authenticating as someone else",
            ));
        }
    }
    let summary = json!({
        "user_id": principal.user_id,
        "scopes": principal.scopes,
        "admin": principal.is_admin(),
    });
    let now = local_transaction_id();
    VERIFIED.with_borrow_mut(|v| *v = Some((now, principal.clone())));
    IDENTITY_CHANGES.set(IDENTITY_CHANGES.get().wrapping_add(1));
    cluster::forward(&Caller::Authenticated(principal))?;
    Ok(pgrx::JsonB(summary))
}

// ---------------------------------------------------------------------------------------
// The questions the row-level security policies ask, once per statement.

thread_local! {
    /// Set while an API function runs one of its own writes: the rows that write reads
    /// (its WHERE, RETURNING, or the conflict check) are visible with the write's scope,
    /// so a token holding only `learnings:write` can create and update through the API,
    /// as in AgentOS, while its plain SELECTs still need `learnings:read`.
    static API_ACTION: Cell<Option<Action>> = const { Cell::new(None) };
}

/// Runs `f` (one of the API's own calls) as `action` for the policies.
pub fn as_api<T>(action: Action, f: impl FnOnce() -> ApiResult<T>) -> ApiResult<T> {
    struct Reset(Option<Action>);
    impl Drop for Reset {
        fn drop(&mut self) {
            API_ACTION.set(self.0);
        }
    }
    // Restored on return and when an error unwinds through here.
    let reset = Reset(API_ACTION.replace(Some(action)));
    let result = f()?;
    drop(reset);
    // On Citus the call forwarded its caller with its API action; the rest of the
    // transaction reads as the caller again (nothing to do on one node).
    if cluster::citus_installed() {
        cluster::forward(&Caller::current()?)?;
    }
    Ok(result)
}

/// The API action whose statement is running, if any (see [`as_api`]): this backend's,
/// or, on a Citus worker, the one the coordinator's decision names.
pub fn api_action() -> Option<Action> {
    API_ACTION.get().or_else(cluster::forwarded_api_action)
}

/// The API action running in this backend.
pub fn local_api_action() -> Option<Action> {
    API_ACTION.get()
}

/// The action that decides what this statement may read: an API write reads the rows it
/// touches with the write's scope.
pub fn read_action() -> Action {
    api_action().unwrap_or(Action::Read)
}

/// 'all', 'own' or 'none': the rows of a learnings table the caller may `action`
/// ('read', 'write' or 'delete'). Used by the tables' row-level security policies;
/// declared in sql/finalize.sql, in the internal schema.
#[pg_extern(sql = false)]
fn learnings_policy_access(action: &str) -> &'static str {
    let Some(action) = Action::parse(action) else {
        return "none";
    };
    with_policy_answers(|answers| answers.reach(action).name())
}

/// The user whose rows a scoped caller may act on; NULL for anyone else (declared in
/// sql/finalize.sql).
#[pg_extern(sql = false)]
fn learnings_policy_user() -> Option<String> {
    with_policy_answers(|answers| answers.user.clone())
}

/// Whether the caller may `action` ('read', 'write' or 'delete') a row owned by `owner`
/// (NULL: a shared row): the policies of a distributed table, in one call per row (they
/// cannot ask once per statement there, see sql/bootstrap.sql). Declared in
/// sql/finalize.sql.
#[pg_extern(sql = false)]
fn learnings_policy_allows(action: &str, owner: Option<&str>) -> bool {
    let Some(action) = Action::parse(action) else {
        return false;
    };
    with_policy_answers(|answers| match answers.reach(action) {
        Reach::All => true,
        Reach::Own => match owner {
            None => action == Action::Read,
            Some(owner) => answers.user.as_deref() == Some(owner),
        },
        Reach::None => false,
    })
}

/// Sends the caller's decision to the Citus workers of this transaction (see `cluster`);
/// PostgREST's pre-request hook calls it, so that plain table requests reach the workers'
/// rows. A caller that cannot be resolved is not forwarded (the workers then refuse it).
/// A no-op without Citus. Declared in sql/finalize.sql.
#[pg_extern(sql = false)]
#[search_path(pg_catalog, pg_temp)]
fn learnings_forward_caller() {
    if let Ok(caller) = Caller::current() {
        errors::unwrap_or_raise(cluster::forward(&caller));
    }
}

/// What the policies ask about a statement's caller.
struct PolicyAnswers {
    read: Reach,
    write: Reach,
    delete: Reach,
    user: Option<String>,
}

impl PolicyAnswers {
    fn reach(&self, action: Action) -> Reach {
        match action {
            Action::Read => self.read,
            Action::Write => self.write,
            Action::Delete => self.delete,
        }
    }
}

/// Everything a forwarded caller's answers depend on, within one statement: all cheap to
/// read (the policies ask for every row of a distributed table).
#[derive(PartialEq, Eq)]
struct StatementKey {
    transaction: pg_sys::LocalTransactionId,
    started: pg_sys::TimestampTz,
    command: pg_sys::CommandId,
    role: pg_sys::Oid,
    api_action: Option<Action>,
    identity_changes: u64,
    forwarded_changes: u64,
}

impl StatementKey {
    fn now() -> Self {
        // SAFETY: reads of the current transaction's and statement's state.
        let (started, command, role) = unsafe {
            (
                pg_sys::GetCurrentStatementStartTimestamp(),
                pg_sys::GetCurrentCommandId(false),
                pg_sys::GetUserId(),
            )
        };
        StatementKey {
            transaction: local_transaction_id(),
            started,
            command,
            role,
            api_action: API_ACTION.get(),
            identity_changes: IDENTITY_CHANGES.get(),
            forwarded_changes: cluster::forwarded_changes(),
        }
    }
}

thread_local! {
    /// The answers for a forwarded caller in the statement running now. A distributed
    /// table's policies call the functions for every row (Citus refuses the subqueries
    /// that make them run once per statement), and checking a forwarded decision's
    /// signature costs more than reading a row. Only a forwarded caller's answers are
    /// kept: they depend on the decision alone, while other callers' depend on settings a
    /// statement may change (and their policies ask once per statement anyway).
    static ANSWERS: RefCell<Option<(StatementKey, PolicyAnswers)>> = const { RefCell::new(None) };
}

fn with_policy_answers<T>(f: impl Fn(&PolicyAnswers) -> T) -> T {
    let key = StatementKey::now();
    let known = ANSWERS.with_borrow(|a| a.as_ref().filter(|(k, _)| *k == key).map(|(_, a)| f(a)));
    if let Some(answer) = known {
        return answer;
    }
    let (answers, is_forwarded) = policy_answers();
    let answer = f(&answers);
    ANSWERS.with_borrow_mut(|a| *a = is_forwarded.then_some((key, answers)));
    answer
}

/// The answers, and whether they come from a forwarded decision.
fn policy_answers() -> (PolicyAnswers, bool) {
    let caller = Caller::current();
    let Ok(caller) = caller else {
        let answers = PolicyAnswers {
            read: Reach::None,
            write: Reach::None,
            delete: Reach::None,
            user: None,
        };
        return (answers, false);
    };
    let answers = PolicyAnswers {
        // An API write reads the rows it touches with the write's scope.
        read: caller.reach(read_action()),
        write: caller.reach(Action::Write),
        delete: caller.reach(Action::Delete),
        user: caller.user_id(),
    };
    (answers, matches!(caller, Caller::Forwarded(_)))
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn reserved_subjects() {
        for s in ["sa:bot", "__oauth__:client", "__scheduler__"] {
            assert!(is_reserved_subject(s), "{s}");
        }
        for s in ["alice", "sa", "__scheduler", "oauth:x", "x__scheduler__"] {
            assert!(!is_reserved_subject(s), "{s}");
        }
    }
}
