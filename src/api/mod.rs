//! The SQL API: what each SQL function does, as plain Rust returning its result or its
//! error (the door raises it).
//!
//! Layer: api (uses table, caller, identity, base).

pub mod learnings;
pub mod session;
