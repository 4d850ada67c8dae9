//! What every other layer stands on.
//!
//! Layer: base (uses nothing above it). Listed in the order the modules may use one
//! another: each uses only those before it.

/// The backend's transaction, statement, role and database.
pub mod backend;
/// Where the extension's own objects live, and reading them as their owner.
pub mod catalog;
/// Citus: distributed tables, settings sent to workers, the cluster key.
pub mod citus;
/// Running the extension's statements through SPI.
pub mod db;
/// The contract's errors and how they are raised.
pub mod errors;
/// agno's identity-keyed ids.
pub mod ids;
/// jsonb passed through untouched.
pub mod jsonb;
/// JWT verification with jsonwebtoken.
pub mod jwt;
/// What PostgREST sets for the request this backend serves.
pub mod postgrest;
/// The `agno_learnings.*` settings.
pub mod settings;
/// Input checks (422).
pub mod validate;
