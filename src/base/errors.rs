//! The contract's errors (section 4) and how they reach PostgreSQL.
//!
//! Layer: base (uses nothing of the crate). Every failure the caller can cause is an
//! [`ApiError`] carrying one of the contract's SQLSTATEs and a readable message. PostgREST
//! maps those codes to AgentOS's HTTP statuses (`PTxyz` → xyz, 42501 → 403, 23505 → 409,
//! 22023 → 400). An error knows its SQLSTATE and text, not who will show it: the door
//! (src/door.rs) decides whether it reaches its caller as is or in PostgREST's own form
//! ([`ApiError::for_postgrest`]).
//!
//! pgrx can only raise the SQLSTATEs its `PgSqlErrorCode` enum lists, and the `PT…`
//! codes are not among them, so [`raise`] reports the error itself through PostgreSQL's
//! `ereport` entry points. It is the only place in the crate that does.

use std::ffi::{c_char, c_int, CString};
use std::fmt;

/// The SQLSTATEs of the contract's error table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlState {
    /// 22023 → 400: a bad combination of parameters (`table` without `db_id`).
    BadRequest,
    /// PT401 → 401: no valid identity where one is required.
    Unauthorized,
    /// 42501 → 403: another user, a shared row, a missing scope.
    Forbidden,
    /// PT404 → 404: not found, or hidden from this caller.
    NotFound,
    /// 23505 → 409: an identity-keyed record already exists.
    Conflict,
    /// PT422 → 422: validation.
    Unprocessable,
    /// XX000 → 500: the extension's own SQL failed; a bug, never the caller's input.
    Internal,
    /// 25006 → 405: a write in a read-only transaction (a hot standby).
    ReadOnly,
    /// 2BP01: dropping the extension would drop learnings.
    DependentObjects,
    /// PGRST: PostgREST's own form, whose message and detail (JSON) set the response.
    Postgrest,
}

impl SqlState {
    pub const fn code(self) -> &'static str {
        match self {
            SqlState::BadRequest => "22023",
            SqlState::Unauthorized => "PT401",
            SqlState::Forbidden => "42501",
            SqlState::NotFound => "PT404",
            SqlState::Conflict => "23505",
            SqlState::Unprocessable => "PT422",
            SqlState::Internal => "XX000",
            SqlState::ReadOnly => "25006",
            SqlState::DependentObjects => "2BP01",
            SqlState::Postgrest => "PGRST",
        }
    }

    /// The HTTP status AgentOS answers with (contract section 4).
    const fn http_status(self) -> Option<u16> {
        match self {
            SqlState::BadRequest => Some(400),
            SqlState::Unauthorized => Some(401),
            SqlState::Forbidden => Some(403),
            SqlState::NotFound => Some(404),
            SqlState::Conflict => Some(409),
            SqlState::Unprocessable => Some(422),
            SqlState::ReadOnly => Some(405),
            SqlState::Internal => Some(500),
            SqlState::DependentObjects | SqlState::Postgrest => None,
        }
    }

    /// PostgreSQL's packed form of a five-character SQLSTATE (`MAKE_SQLSTATE`).
    const fn packed(self) -> c_int {
        let b = self.code().as_bytes();
        let mut packed = 0;
        let mut i = 0;
        while i < 5 {
            packed += ((b[i].wrapping_sub(b'0') & 0x3F) as c_int) << (6 * i);
            i += 1;
        }
        packed
    }
}

/// An error the caller caused, with the contract's SQLSTATE and a readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub state: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(state: SqlState, message: impl Into<String>) -> Self {
        ApiError {
            state,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(SqlState::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(SqlState::Forbidden, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(SqlState::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(SqlState::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(SqlState::Conflict, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(SqlState::Unprocessable, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.state.code(), self.message)
    }
}

/// A failure of the extension's own SQL (a bug, never the caller's input) becomes an
/// internal error rather than a panic.
impl From<pgrx::spi::SpiError> for ApiError {
    fn from(err: pgrx::spi::SpiError) -> Self {
        ApiError {
            state: SqlState::Internal,
            message: format!("agno_learnings internal query failed: {err}"),
            detail: None,
            hint: Some("this is a bug in agno_learnings; please report it".into()),
        }
    }
}

/// A caller-supplied value cut to a readable length for an error message (ids may be
/// kilobytes long).
pub fn shorten(value: &str) -> String {
    const MAX_CHARS: usize = 80;
    match value.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

impl ApiError {
    /// The error as PostgREST must receive it: in PostgREST's own `PGRST` form, which
    /// sets the HTTP status exactly and keeps the message in the JSON body. Two reasons:
    /// PostgREST answers 42501 with 401 when the request runs as its anonymous role
    /// (AgentOS tokens, which carry no `role` claim, do), and it copies a `PTxyz` error's
    /// message into the HTTP status line as is, where a caller's text holding CR LF (an
    /// echoed sort_order, key or table name) would add response headers. Errors without
    /// an HTTP status of the contract stay as they are.
    pub fn for_postgrest(self) -> ApiError {
        let Some(status) = self.state.http_status() else {
            return self;
        };
        let body = serde_json::json!({
            "code": self.state.code(),
            "message": self.message,
            "details": self.detail,
            "hint": self.hint,
        });
        let headers = match status {
            401 => serde_json::json!({"WWW-Authenticate": "Bearer"}),
            _ => serde_json::json!({}),
        };
        ApiError {
            state: SqlState::Postgrest,
            message: body.to_string(),
            detail: Some(serde_json::json!({"status": status, "headers": headers}).to_string()),
            hint: None,
        }
    }
}

/// Raises `err` as an ERROR with its SQLSTATE, message, detail and hint.
///
/// Call it only from the door, with every value that owns Rust memory already dropped:
/// `errfinish` leaves by `longjmp`, which skips the Rust frames above it (pgrx's argument
/// and call wrappers, which own nothing).
pub fn raise(err: ApiError) -> ! {
    // PostgreSQL's reporting functions. pgrx keeps them out of its bindings so that
    // errors go through its panic path, which cannot carry a custom SQLSTATE.
    unsafe extern "C-unwind" {
        fn errstart(elevel: c_int, domain: *const c_char) -> bool;
        fn errcode(sqlerrcode: c_int) -> c_int;
        fn errmsg(fmt: *const c_char, ...) -> c_int;
        fn errdetail(fmt: *const c_char, ...) -> c_int;
        fn errhint(fmt: *const c_char, ...) -> c_int;
        fn errfinish(filename: *const c_char, lineno: c_int, funcname: *const c_char);
    }
    const PERCENT_S: &std::ffi::CStr = c"%s";
    const FILE: &std::ffi::CStr = c"agno_learnings/base/errors.rs";
    const FUNC: &std::ffi::CStr = c"agno_learnings";

    // Interior NULs cannot come from PostgreSQL text; replace them rather than panic.
    let cstring = |s: String| CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default();
    let code = err.state.packed();
    let message = cstring(err.message);
    let detail = err.detail.map(cstring);
    let hint = err.hint.map(cstring);

    // SAFETY: errstart/errcode/errmsg/errdetail/errhint copy their formatted arguments
    // into PostgreSQL's ErrorContext, so the CStrings may be freed before errfinish, which
    // never returns for ERROR. Everything owning Rust memory is dropped before it.
    unsafe {
        if errstart(pgrx::PgLogLevel::ERROR as c_int, std::ptr::null()) {
            errcode(code);
            errmsg(PERCENT_S.as_ptr(), message.as_ptr());
            if let Some(detail) = &detail {
                errdetail(PERCENT_S.as_ptr(), detail.as_ptr());
            }
            if let Some(hint) = &hint {
                errhint(PERCENT_S.as_ptr(), hint.as_ptr());
            }
            drop(message);
            drop(detail);
            drop(hint);
            errfinish(FILE.as_ptr(), line!() as c_int, FUNC.as_ptr());
        }
    }
    // errstart returns true for ERROR unless PostgreSQL is already dying.
    unreachable!("errfinish returned for an ERROR");
}

#[cfg(test)]
mod unit_tests {
    use super::SqlState;

    #[test]
    fn packed_sqlstates_match_postgres_make_sqlstate() {
        // ERRCODE_UNIQUE_VIOLATION and ERRCODE_INSUFFICIENT_PRIVILEGE from errcodes.h
        assert_eq!(
            SqlState::Conflict.packed(),
            pgrx::PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION as i32
        );
        assert_eq!(
            SqlState::Forbidden.packed(),
            pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as i32
        );
        assert_eq!(
            SqlState::BadRequest.packed(),
            pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE as i32
        );
    }
}
