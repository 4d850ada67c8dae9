//! PostgREST's claims (`request.jwt.claims`), believed only where PostgREST set them.
//!
//! Layer: identity (uses base). Any role can `SET request.jwt.claims` to anything, so
//! the setting is a trust decision about who connected: it counts only in sessions that
//! logged in as a role only PostgREST uses (`agno_learnings.claims_login_roles`), and
//! only while the administrator trusts it (`agno_learnings.trust_request_claims`).

use serde_json::{Map, Value};

use crate::base::backend;
use crate::base::errors::{ApiError, ApiResult};
use crate::base::jwt;
use crate::base::settings::{self, CLAIMS_LOGIN_ROLES, TRUST_REQUEST_CLAIMS};
use crate::identity::Principal;

/// The name of PostgREST's setting.
pub const SETTING: &std::ffi::CStr = c"request.jwt.claims";

/// The claims PostgREST set for this request, as text, if any.
pub fn current() -> Option<String> {
    settings::current(SETTING)
}

/// The principal of PostgREST's claims `text`. An anonymous request (claims holding
/// only the role) is always refused; any other is accepted only when the administrator
/// trusts the setting and the session logged in as PostgREST's authenticator.
pub fn principal(text: &str) -> ApiResult<Principal> {
    let claims: Map<String, Value> = serde_json::from_str(text)
        .map_err(|_| ApiError::unauthorized("request.jwt.claims is not a JSON object"))?;
    if claims.keys().all(|k| k == "role") {
        return Err(ApiError::unauthorized(
            "Authentication required: the request carries no token",
        ));
    }
    if !TRUST_REQUEST_CLAIMS.get() {
        return Err(ApiError::unauthorized(
            "request.jwt.claims is not trusted here (agno_learnings.trust_request_claims is off); \
             authenticate with learnings_authenticate(token)",
        ));
    }
    if !from_authenticator() {
        return Err(ApiError::unauthorized(
            "request.jwt.claims is trusted only in sessions of PostgREST's authenticator \
             (agno_learnings.claims_login_roles); authenticate with learnings_authenticate(token)",
        ));
    }
    // PostgREST checks `aud` only when a token carries one; the audience and issuer the
    // administrator requires hold for both doors.
    jwt::check_required_claims(&claims)
        .map_err(|reason| ApiError::unauthorized(format!("invalid token: {reason}")))?;
    // Its expiry is checked at every use of the caller (caller::Caller::current).
    Principal::from_claims(&claims)
}

/// Whether this session logged in as a role whose `request.jwt.claims` are PostgREST's.
fn from_authenticator() -> bool {
    settings::roles(&CLAIMS_LOGIN_ROLES).contains(&backend::session_role())
}
