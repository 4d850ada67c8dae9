//! What PostgREST sets for the request this backend serves (contract section 6).
//!
//! Layer: base (uses errors, settings). PostgREST sets `request.method` (and
//! `request.jwt.claims`) for each request; psql and drivers do not, and see plain
//! SQLSTATEs. Whether a Citus worker's statement serves a PostgREST request is the
//! forwarded decision's to say (identity/forwarded.rs), not this module's.

use pgrx::spi::Spi;

use crate::base::errors::ApiResult;
use crate::base::settings;

/// Whether PostgREST's request is this backend's own.
pub fn serving_here() -> bool {
    settings::current(c"request.method").is_some()
}

/// Sets the HTTP status of the response (PostgREST's `response.status`), e.g. 201 for a
/// create, which PostgREST would otherwise answer with 200. A no-op outside PostgREST.
pub fn set_status(status: u16) -> ApiResult<()> {
    if serving_here() {
        Spi::run_with_args(
            "SELECT pg_catalog.set_config('response.status', $1, true)",
            &[status.to_string().as_str().into()],
        )?;
    }
    Ok(())
}
