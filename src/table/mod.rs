//! The learnings tables: which one a call works on, the statements run on it, and the
//! rules the table itself keeps for writes that do not go through the API.
//!
//! Layer: table (uses caller, identity, base).

pub mod guard;
pub mod query;
pub mod row_rules;
pub mod target;
