//! The session's identity calls: `learnings_authenticate`, and the caller forwarded to
//! Citus workers for PostgREST's table requests.
//!
//! Layer: api (uses caller, identity, base).

use serde_json::json;

use crate::base::errors::ApiResult;
use crate::caller::forward;
use crate::caller::Caller;
use crate::identity::token;

/// `learnings_authenticate`: verifies `token` and makes its claims the caller until the
/// transaction ends (identity/token.rs); answers who the caller now is.
pub fn authenticate(token: Option<&str>) -> ApiResult<pgrx::JsonB> {
    let principal = token::verify_and_hold(token)?;
    let summary = json!({
        "user_id": principal.user_id,
        "scopes": principal.scopes,
        "admin": principal.is_admin(),
    });
    forward::forward(&Caller::Authenticated(principal))?;
    Ok(pgrx::JsonB(summary))
}

/// `learnings_forward_caller` (PostgREST's pre-request hook): sends the caller's decision
/// to the Citus workers of this transaction, so that plain table requests reach the
/// workers' rows. A caller that cannot be resolved is not forwarded (the workers then
/// refuse it). A no-op without Citus.
pub fn forward_caller() -> ApiResult<()> {
    match Caller::current() {
        Ok(caller) => forward::forward(&caller),
        Err(_) => Ok(()),
    }
}
