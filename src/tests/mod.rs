//! `#[pg_test]`s, run inside PostgreSQL by `cargo pgrx test`. Each file keeps its tests in
//! a `#[pg_schema] mod tests`, because pgrx calls test functions in a schema of that name.
//! Tests go through the SQL functions, as callers do, so they see the real SQLSTATEs,
//! defaults and search_path.

mod support;

mod caller;
mod explain;
mod http;
mod ids;
#[cfg(test)]
mod layers;
mod lifecycle;
mod list;
mod records;
mod security;
mod table_door;
mod tables;
mod tokens;
mod users;
