//! The sources of identity, and the plain vocabulary they share.
//!
//! Layer: identity (uses base only). Each source knows nothing of the others:
//! - [`token`]: a token `learnings_authenticate` verified in this transaction;
//! - [`claims`]: PostgREST's `request.jwt.claims`, where PostgREST set them;
//! - [`forwarded`]: on a Citus worker, the decision the statement's node signed.
//!
//! A token and PostgREST's claims both give a [`Principal`]; a forwarded decision is
//! already what a principal's scopes come to (which rows each action reaches). The
//! caller layer picks the source that applies.

pub mod claims;
pub mod forwarded;
pub mod token;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::base::errors::{ApiError, ApiResult};
use crate::base::jwt;
use crate::base::settings::{self, ADMIN_SCOPE, SCOPES_CLAIM, USER_ID_CLAIM};

/// What a statement does to learnings, and the scope it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Read,
    Write,
    Delete,
}

impl Action {
    pub const fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Action::Read, Action::Write, Action::Delete]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// Which rows of a learnings table an action reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    All,
    Own,
    None,
}

impl Reach {
    /// As the one-node policies compare it: 'all', 'own' or 'none'.
    pub const fn name(self) -> &'static str {
        match self {
            Reach::All => "all",
            Reach::Own => "own",
            Reach::None => "none",
        }
    }
}

/// An authenticated identity: a verified token's or PostgREST's claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Option<String>,
    pub scopes: Vec<String>,
    /// The token's `exp` (epoch seconds), checked at every use, not only at verification.
    pub expires_at: Option<i64>,
}

impl Principal {
    /// The principal of verified claims: 401 for a subject or scopes no text can hold,
    /// and for subjects AgentOS reserves for itself.
    pub fn from_claims(claims: &Map<String, Value>) -> ApiResult<Self> {
        let user_claim = settings::text(&USER_ID_CLAIM).unwrap_or_else(|| "sub".into());
        let scopes_claim = settings::text(&SCOPES_CLAIM).unwrap_or_else(|| "scopes".into());
        let user_id = match claims.get(&user_claim) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            // PostgreSQL text cannot hold NUL: no row can belong to such a subject.
            Some(Value::String(s)) if s.contains('\0') => {
                return Err(ApiError::unauthorized(format!(
                    "the {user_claim} claim must not contain NUL characters"
                )))
            }
            Some(Value::String(s)) => Some(s.clone()),
            // agno compares owners as str(): a numeric subject is its decimal text.
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                return Err(ApiError::unauthorized(format!(
                    "the {user_claim} claim must be a string"
                )))
            }
        };
        let scopes: Vec<String> = match claims.get(&scopes_claim) {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        if scopes.iter().any(|scope| scope.contains('\0')) {
            return Err(ApiError::unauthorized(format!(
                "the {scopes_claim} claim must not contain NUL characters"
            )));
        }
        if user_id.as_deref().is_some_and(is_reserved_subject) {
            return Err(ApiError::unauthorized(
                "the token's subject is reserved for AgentOS itself",
            ));
        }
        let expires_at = claims
            .get("exp")
            .and_then(Value::as_f64)
            .map(|exp| exp.floor() as i64);
        Ok(Principal {
            user_id,
            scopes,
            expires_at,
        })
    }

    /// 401 once the token has expired (beyond the configured leeway): a transaction that
    /// outlives its token loses the identity, instead of keeping it until it ends.
    pub fn check_not_expired(&self) -> ApiResult<()> {
        match self.expires_at {
            Some(exp) if jwt::has_expired(exp) => {
                Err(ApiError::unauthorized("invalid token: token has expired"))
            }
            _ => Ok(()),
        }
    }

    pub fn is_admin(&self) -> bool {
        let admin = settings::text(&ADMIN_SCOPE).unwrap_or_else(|| "agent_os:admin".into());
        self.scopes.contains(&admin)
    }

    /// `learnings:<action>`, or AgentOS's wildcard form `learnings:*:<action>`.
    pub fn has_scope(&self, action: Action) -> bool {
        let global = format!("learnings:{}", action.name());
        let wildcard = format!("learnings:*:{}", action.name());
        self.is_admin() || self.scopes.iter().any(|s| *s == global || *s == wildcard)
    }
}

/// Subjects AgentOS mints for itself (service accounts, OAuth clients, the scheduler).
fn is_reserved_subject(user_id: &str) -> bool {
    user_id.starts_with("sa:") || user_id.starts_with("__oauth__:") || user_id == "__scheduler__"
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn reserved_subjects() {
        for s in ["sa:bot", "__oauth__:client", "__scheduler__"] {
            assert!(is_reserved_subject(s), "{s}");
        }
        for s in ["alice", "sa", "__scheduler", "oauth:x", "x__scheduler__"] {
            assert!(!is_reserved_subject(s), "{s}");
        }
    }
}
