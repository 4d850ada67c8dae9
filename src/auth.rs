//! Who is calling, as far as the learnings rules care.
//!
//! Every API function starts by resolving its caller here (see [`crate::api::Call`]).
//! Until tokens and claims are read (contract section 5), every caller is unscoped:
//! it may do anything the table's privileges allow.

use crate::errors::ApiResult;

/// The caller of an API function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Full access: a trusted backend, an admin, or user isolation switched off.
    Unscoped,
}

/// Resolves the caller of the current transaction.
pub fn current_caller() -> ApiResult<Caller> {
    Ok(Caller::Unscoped)
}
