//! What the functions do differently when PostgREST calls them (contract section 6).
//!
//! PostgREST sets `request.method` (and `request.jwt.claims`) for each request; psql and
//! drivers do not, and see plain SQLSTATEs.

use pgrx::spi::Spi;

use crate::errors::ApiResult;
use crate::settings;

/// Whether the current statement serves a PostgREST request: here, or on the node that
/// forwarded it to this Citus worker.
pub fn serving() -> bool {
    serving_here() || crate::cluster::forwarded_http()
}

/// Whether PostgREST's request is this backend's own.
pub fn serving_here() -> bool {
    settings::current(c"request.method").is_some()
}

/// Sets the HTTP status of the response (PostgREST's `response.status`), e.g. 201 for a
/// create, which PostgREST would otherwise answer with 200.
pub fn set_status(status: u16) -> ApiResult<()> {
    if serving() {
        Spi::run_with_args(
            "SELECT pg_catalog.set_config('response.status', $1, true)",
            &[status.to_string().as_str().into()],
        )?;
    }
    Ok(())
}
