//! agno_learnings: AgentOS's learnings API inside PostgreSQL.
//!
//! The extension installs the `agno_learnings` table (agno 3.1.10's layout), a registry
//! of learnings tables, and the SQL functions of the contract (`learnings_list`,
//! `learnings_create`, …), which derive agno's ids, detect conflicts atomically and
//! answer with AgentOS's JSON envelopes and error codes, and row-level security on every
//! learnings table that applies the same rules to every client (see `auth`).

use pgrx::prelude::*;

// cargo pgrx picks the feature from the pg_config it is given; anything else is a
// version this extension does not support.
#[cfg(not(any(feature = "pg15", feature = "pg16", feature = "pg17", feature = "pg18")))]
compile_error!(
    "agno_learnings supports PostgreSQL 15, 16, 17 and 18: build with exactly one of the \
     features pg15, pg16, pg17, pg18 (cargo pgrx chooses it from the pg_config it is given)"
);

mod api;
mod auth;
mod catalog;
mod cluster;
mod db;
mod errors;
mod guard;
mod ids;
mod jsonb;
mod jwt;
mod postgrest;
mod query;
mod row_rules;
mod settings;
mod target;
mod validate;

#[cfg(any(test, feature = "pg_test"))]
mod tests;

::pgrx::pg_module_magic!(name, version);

// The table, the registry and learnings_register_table, before any function.
extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
// Registers the extension's own table, once the policy functions exist.
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

/// Runs when a backend loads the library: defines the security settings.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::init();
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
