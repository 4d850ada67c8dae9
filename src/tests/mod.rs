//! `#[pg_test]`s, run inside PostgreSQL by `cargo pgrx test`. Each file holds its tests in
//! a `#[pg_schema] mod tests`: pgrx looks for test functions in a schema named `tests`.
mod smoke;
