//! Who is calling, and what that caller may do (contract section 5).
//!
//! Layer: caller (uses identity, base). The caller of a statement is resolved from the
//! sources of identity, in this order:
//! 1. a token `learnings_authenticate` verified in this transaction (identity/token.rs);
//! 2. in a session Citus opened from another node, the decision that node forwarded
//!    (identity/forwarded.rs), and nothing else;
//! 3. PostgREST's `request.jwt.claims`, where PostgREST set them (identity/claims.rs);
//! 4. nobody: a trusted backend only for roles an administrator trusts (or that own the
//!    table, or bypass row-level security anyway); any other role must present a token.
//!
//! It is resolved once per statement ([`Caller::current`]) and reused by the API
//! function and by every policy and trigger the statement runs, keyed on everything it
//! depends on: the statement, the role, the held token, the forwarded decision and
//! PostgREST's claims (see [`Key`]); a token's expiry is checked at every use.
//!
//! The API functions ask [`Caller::scope`] before they touch a table; the row-level
//! security policies ask the same questions through [`policy`], so every door into a
//! learnings table obeys one rule.

pub mod forward;
pub mod policy;

// The submodules use this one; it uses none of them.

use std::cell::{Cell, RefCell};

use pgrx::pg_sys;

use crate::base::backend::{self, Statement};
use crate::base::catalog;
use crate::base::citus;
use crate::base::errors::{ApiError, ApiResult};
use crate::base::jwt;
use crate::base::settings::{self, ENFORCE_SCOPES, REQUIRE_TOKEN, TRUSTED_ROLES, USER_ISOLATION};
use crate::identity::forwarded::{self, Decision};
use crate::identity::{claims, token, Action, Principal, Reach};

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

/// Everything a resolved caller depends on. A new statement (or a write within one:
/// GRANT, ALTER … OWNER), SET ROLE or SESSION AUTHORIZATION, a token verified (or
/// forgotten with a rolled-back subtransaction), a forwarded decision set, PostgREST's
/// claims changed, and a superuser's change of a setting the resolution reads, each make
/// another key.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    statement: Statement,
    role: pg_sys::Oid,
    session_role: pg_sys::Oid,
    token: u64,
    forwarded: u64,
    settings: u64,
    claims: Option<String>,
}

/// The settings a resolution reads (a caller's scope reads its own at every use).
const RESOLUTION_SETTINGS: [&std::ffi::CStr; 10] = [
    c"agno_learnings.require_token",
    c"agno_learnings.trusted_roles",
    c"agno_learnings.trust_request_claims",
    c"agno_learnings.claims_login_roles",
    c"agno_learnings.user_id_claim",
    c"agno_learnings.scopes_claim",
    c"agno_learnings.jwt_leeway",
    c"agno_learnings.jwt_audience",
    c"agno_learnings.jwt_issuer",
    c"application_name",
];

impl Key {
    fn now() -> Self {
        Key {
            statement: Statement::current(),
            role: backend::current_role(),
            session_role: backend::session_role(),
            token: token::changes(),
            forwarded: forwarded::changes(),
            settings: settings::fingerprint(&RESOLUTION_SETTINGS),
            claims: claims::current(),
        }
    }
}

thread_local! {
    /// The caller of the statement running now, or why there is none.
    static RESOLVED: RefCell<Option<(Key, ApiResult<Caller>)>> = const { RefCell::new(None) };
}

#[cfg(any(test, feature = "pg_test"))]
thread_local! {
    /// How often a caller was resolved (not reused) in this backend, for the tests.
    static RESOLUTIONS: Cell<u64> = const { Cell::new(0) };
}

impl Caller {
    /// Who is calling, or why nobody may: 401 for a missing or refused identity.
    pub fn current() -> ApiResult<Caller> {
        let key = Key::now();
        let kept = RESOLVED.with_borrow(|resolved| {
            resolved
                .as_ref()
                .filter(|(known, _)| *known == key)
                .map(|(_, caller)| caller.clone())
        });
        let caller = match kept {
            Some(caller) => caller,
            None => {
                #[cfg(any(test, feature = "pg_test"))]
                RESOLUTIONS.set(RESOLUTIONS.get().wrapping_add(1));
                let caller = resolve(key.claims.as_deref());
                RESOLVED.with_borrow_mut(|resolved| *resolved = Some((key, caller.clone())));
                caller
            }
        }?;
        // Checked at every use: a token (or decision) that expires within a statement
        // stops counting there.
        caller.check_not_expired()?;
        Ok(caller)
    }

    /// The rows this caller may `action`: 403 when a scope or the user identity is missing.
    pub fn scope(&self, action: Action) -> ApiResult<Scope> {
        let principal = match self {
            Caller::Trusted => return Ok(Scope::All),
            Caller::Forwarded(decision) => {
                return match (decision.reach(action), &decision.sub) {
                    (Reach::All, _) => Ok(Scope::All),
                    (Reach::Own, Some(user)) => Ok(Scope::User(user.clone())),
                    _ => Err(ApiError::forbidden(format!(
                        "the coordinator did not allow this caller to {} learnings",
                        action.name()
                    ))),
                }
            }
            Caller::Authenticated(principal) => principal,
        };
        if ENFORCE_SCOPES.get() && !principal.has_scope(action) {
            return Err(ApiError::forbidden(format!(
                "Insufficient permissions: the learnings:{} scope is required",
                action.name()
            )));
        }
        if principal.is_admin() || !USER_ISOLATION.get() {
            return Ok(Scope::All);
        }
        match &principal.user_id {
            Some(user_id) => Ok(Scope::User(user_id.clone())),
            None => Err(ApiError::forbidden(
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

    fn check_not_expired(&self) -> ApiResult<()> {
        match self {
            Caller::Trusted => Ok(()),
            Caller::Authenticated(principal) => principal.check_not_expired(),
            Caller::Forwarded(decision) if jwt::has_expired(decision.exp) => Err(
                ApiError::unauthorized("forwarded caller refused: the decision has expired"),
            ),
            Caller::Forwarded(_) => Ok(()),
        }
    }
}

/// How often a caller was resolved rather than reused in this backend (tests compare it
/// before and after a statement).
#[cfg(any(test, feature = "pg_test"))]
pub fn resolutions() -> u64 {
    RESOLUTIONS.get()
}

/// The caller from the sources of identity, in the module's order.
fn resolve(claims: Option<&str>) -> ApiResult<Caller> {
    if let Some(principal) = token::held() {
        return Ok(Caller::Authenticated(principal));
    }
    if citus::in_citus_connection() {
        // A decision counts only here, in a session another node opened for its
        // statement (where PostgREST's claims never are: nothing forwards them).
        // Roles the policies never apply to are trusted as on their own node; no
        // other role is, whatever this node's settings say.
        if let Some(decision) = forwarded::verified()? {
            return Ok(Caller::Forwarded(decision));
        }
        if privileged_role()? {
            return Ok(Caller::Trusted);
        }
        return Err(ApiError::unauthorized(
            "this Citus connection carries no verifiable caller from its coordinator",
        ));
    }
    if let Some(claims) = claims {
        return claims::principal(claims).map(Caller::Authenticated);
    }
    if !trusted_backend()? {
        return Err(ApiError::unauthorized(
            "a token is required: call learnings_authenticate(token) in this transaction first",
        ));
    }
    Ok(Caller::Trusted)
}

/// Whether the current role may act without a token, as a trusted backend (AgentOS with
/// auth off): always when `require_token` is off; otherwise superusers, roles that bypass
/// row-level security or own the extension's table (the agent runtime: policies never
/// apply to them anyway), and the roles listed in `agno_learnings.trusted_roles`.
fn trusted_backend() -> ApiResult<bool> {
    if !REQUIRE_TOKEN.get() || privileged_role()? {
        return Ok(true);
    }
    let role = backend::current_role();
    // SAFETY: plain lookups of the role's memberships.
    Ok(settings::roles(&TRUSTED_ROLES)
        .into_iter()
        .any(|trusted| unsafe { pg_sys::has_privs_of_role(role, trusted) }))
}

/// Whether the current role is one the policies never apply to: a superuser, a role
/// that bypasses row-level security, or the owner of the extension's table.
fn privileged_role() -> ApiResult<bool> {
    let role = backend::current_role();
    // SAFETY: plain lookups of the role's attributes.
    if unsafe { pg_sys::superuser_arg(role) || pg_sys::has_bypassrls_privilege(role) } {
        return Ok(true);
    }
    let table = catalog::home()?.table;
    Ok(table != pg_sys::InvalidOid && catalog::owns(role, table))
}

// ---------------------------------------------------------------------------------------
// The API call running in this backend.

thread_local! {
    /// Set while an API function runs one of its own writes: the rows that write reads
    /// (its WHERE, RETURNING, or the conflict check) are visible with the write's scope,
    /// so a token holding only `learnings:write` can create and update through the API,
    /// as in AgentOS, while its plain SELECTs still need `learnings:read`.
    static API_ACTION: Cell<Option<Action>> = const { Cell::new(None) };
}

/// Runs `f` (one of the API's own calls) as `action` for the policies. (On Citus the
/// API layer then forwards the caller again: forward::after_api_call.)
pub fn as_api<T>(action: Action, f: impl FnOnce() -> ApiResult<T>) -> ApiResult<T> {
    struct Reset(Option<Action>);
    impl Drop for Reset {
        fn drop(&mut self) {
            API_ACTION.set(self.0);
        }
    }
    // Restored on return and when an error unwinds through here.
    let _reset = Reset(API_ACTION.replace(Some(action)));
    f()
}

/// The API action running in this backend (on a Citus worker, forward::api_action also
/// knows the coordinator's).
pub fn local_api_action() -> Option<Action> {
    API_ACTION.get()
}
