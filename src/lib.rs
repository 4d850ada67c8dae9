//! agno_learnings: AgentOS's learnings API inside PostgreSQL.
//!
//! The extension installs the `agno_learnings` table (agno 3.1.10's layout), a registry
//! of learnings tables, and the SQL functions of the contract (`learnings_list`,
//! `learnings_create`, …), which derive agno's ids, detect conflicts atomically and
//! answer with AgentOS's JSON envelopes and error codes, and row-level security on every
//! learnings table that applies the same rules to every client.
//!
//! The modules form layers, each using only those below it (docs/architecture.md;
//! `src/tests/layers.rs` fails the tests when an import goes up or round):

use pgrx::prelude::*;

// cargo pgrx picks the feature from the pg_config it is given; anything else is a
// version this extension does not support.
#[cfg(not(any(feature = "pg15", feature = "pg16", feature = "pg17", feature = "pg18")))]
compile_error!(
    "agno_learnings supports PostgreSQL 15, 16, 17 and 18: build with exactly one of the \
     features pg15, pg16, pg17, pg18 (cargo pgrx chooses it from the pg_config it is given)"
);

/// 1. errors, settings, the backend's state, SPI, JSON, tokens, ids, catalog, Citus.
mod base;

/// 2. the sources of identity: a verified token, PostgREST's claims, a forwarded decision.
mod identity;

/// 3. the caller, resolved once per statement from those sources; the policies' answers.
mod caller;

/// 4. the learnings tables: which one, its statements, the rules of writes through it.
mod table;

/// 5. the SQL API's functions, as plain Rust.
mod api;

/// 6. every function PostgreSQL calls, and how an error reaches its caller.
mod door;

#[cfg(any(test, feature = "pg_test"))]
mod tests;

::pgrx::pg_module_magic!(name, version);

// The table, the registry and learnings_register_table, before any function.
extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
// Registers the extension's own table, once the policy functions exist.
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

/// Runs when a backend loads the library: defines the settings, then reserves their
/// prefix (after every definition: see settings::reserve_prefix).
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    base::settings::init();
    identity::forwarded::define_setting();
    base::settings::reserve_prefix();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
