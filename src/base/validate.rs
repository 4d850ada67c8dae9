//! Checks on what callers send, each failing with the contract's 422 (PT422).
//!
//! Text limits keep every value within what the table's btree indexes can hold (an index
//! entry must fit in a third of a page, about 2.7 kB): identity fields are capped at
//! 512 bytes and derived ids at 1024, so even the widest composite index entry fits.
//!
//! Layer: base (uses db, errors, jsonb, settings).

use crate::base::db::{self, Access};
use crate::base::errors::{shorten, ApiError, ApiResult};
use crate::base::jsonb::Jsonb;
use crate::base::settings;

/// Longest identity field (learning_type, user_id, …), in bytes.
pub const MAX_FIELD_BYTES: usize = 512;
/// Longest learning id, in bytes.
pub const MAX_ID_BYTES: usize = 1024;

/// An optional identity field: absent is fine, empty or oversized is not.
pub fn field<'a>(name: &str, value: Option<&'a str>) -> ApiResult<Option<&'a str>> {
    match value {
        Some("") => Err(ApiError::unprocessable(format!("{name} must not be empty"))),
        Some(v) if v.len() > MAX_FIELD_BYTES => Err(ApiError::unprocessable(format!(
            "{name} is {} bytes long; at most {MAX_FIELD_BYTES} are allowed",
            v.len()
        ))),
        other => Ok(other),
    }
}

/// A field that must be given.
pub fn required<'a>(name: &str, value: Option<&'a str>) -> ApiResult<&'a str> {
    field(name, value)?.ok_or_else(|| ApiError::unprocessable(format!("{name} is required")))
}

/// The id of an existing record: any non-null text (an id too long to exist is just
/// not found).
pub fn given<'a>(name: &str, value: Option<&'a str>) -> ApiResult<&'a str> {
    value.ok_or_else(|| ApiError::unprocessable(format!("{name} is required")))
}

/// A value that must be given and not empty, of any length (`learnings_delete_user`'s
/// user: an id too long to own rows simply owns none).
pub fn named<'a>(name: &str, value: Option<&'a str>) -> ApiResult<&'a str> {
    match given(name, value)? {
        "" => Err(ApiError::unprocessable(format!("{name} must not be empty"))),
        value => Ok(value),
    }
}

/// A learning id derived from identity fields must fit the primary key index.
pub fn learning_id(id: &str) -> ApiResult<&str> {
    if id.len() > MAX_ID_BYTES {
        return Err(ApiError::unprocessable(format!(
            "the learning id derived from these identity fields is {} bytes long; at most \
             {MAX_ID_BYTES} are allowed",
            id.len()
        )));
    }
    Ok(id)
}

/// `content` must be a JSON object; `metadata` a JSON object, JSON null or absent; each
/// within the size cap.
pub fn create_payload(content: Option<Jsonb>, metadata: Option<Jsonb>) -> ApiResult<()> {
    check_content(content.map_or(ABSENT, Jsonb::kind))?;
    check_metadata(metadata.map_or(ABSENT, Jsonb::kind))?;
    check_size("content", content)?;
    check_size("metadata", metadata)
}

/// A document over `agno_learnings.max_document_bytes` is refused (422) before anything
/// is written: the cap keeps one caller from filling the table (or a backend's memory)
/// with a single record.
pub fn check_size(name: &str, value: Option<Jsonb>) -> ApiResult<()> {
    let Some(size) = value.map(Jsonb::size) else {
        return Ok(());
    };
    let cap = settings::max_document_bytes();
    if size > cap {
        return Err(ApiError::unprocessable(format!(
            "{name} is {size} bytes as jsonb; at most {cap} are allowed \
             (agno_learnings.max_document_bytes)"
        )));
    }
    Ok(())
}

/// What a PATCH body (`changes`) asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changes {
    /// `{}`: nothing to change.
    Nothing,
    /// At least one of `content` / `metadata`, each valid.
    Some,
}

/// `changes` must be a JSON object whose only keys are `content` (a non-null object) and
/// `metadata` (an object or null): identity fields are immutable.
pub fn update_payload(changes: Option<Jsonb>) -> ApiResult<Changes> {
    // jsonb_typeof of the whole body, of its content and metadata (NULL when absent),
    // and its first key that may not be changed.
    let report = db::texts(
        Access::Read,
        "SELECT pg_catalog.jsonb_typeof($1), \
                CASE WHEN o ? 'content' THEN pg_catalog.jsonb_typeof(o -> 'content') END, \
                CASE WHEN o ? 'metadata' THEN pg_catalog.jsonb_typeof(o -> 'metadata') END, \
                (SELECT k FROM pg_catalog.jsonb_object_keys(o) AS k \
                  WHERE k NOT IN ('content', 'metadata') ORDER BY k LIMIT 1) \
           FROM (SELECT CASE WHEN pg_catalog.jsonb_typeof($1) = 'object' THEN $1 ELSE '{}'::jsonb END) AS body(o)",
        &[changes.into()],
    )?;
    match kind(&report, 0) {
        "object" => {}
        other => {
            return Err(ApiError::unprocessable(format!(
                "changes must be a JSON object, not {other}"
            )))
        }
    }
    if let Some(Some(key)) = report.get(3) {
        return Err(ApiError::unprocessable(format!(
            "changes may only contain 'content' and 'metadata'; '{}' cannot be changed \
             (identity fields are immutable)",
            shorten(key)
        )));
    }
    let (content, metadata) = (kind(&report, 1), kind(&report, 2));
    if content == ABSENT && metadata == ABSENT {
        return Ok(Changes::Nothing);
    }
    match content {
        ABSENT => {}
        "null" => {
            return Err(ApiError::unprocessable(
                "content cannot be null; omit the field to leave it unchanged",
            ))
        }
        other => check_content(other)?,
    }
    if metadata != ABSENT {
        check_metadata(metadata)?;
    }
    check_size("changes", changes)?;
    Ok(Changes::Some)
}

/// How a missing value (SQL NULL, or a key not present) is reported.
const ABSENT: &str = "absent";

fn kind(kinds: &[Option<String>], index: usize) -> &str {
    kinds
        .get(index)
        .and_then(|k| k.as_deref())
        .unwrap_or(ABSENT)
}

fn check_content(kind: &str) -> ApiResult<()> {
    match kind {
        "object" => Ok(()),
        "absent" => Err(ApiError::unprocessable("content is required")),
        other => Err(ApiError::unprocessable(format!(
            "content must be a JSON object, not {other}"
        ))),
    }
}

fn check_metadata(kind: &str) -> ApiResult<()> {
    match kind {
        "object" | "null" | ABSENT => Ok(()),
        other => Err(ApiError::unprocessable(format!(
            "metadata must be a JSON object or null, not {other}"
        ))),
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(field("user_id", None).unwrap(), None);
        assert_eq!(field("user_id", Some("a")).unwrap(), Some("a"));
        assert_eq!(
            field("user_id", Some("")).unwrap_err().state.code(),
            "PT422"
        );
        let long = "x".repeat(MAX_FIELD_BYTES + 1);
        assert_eq!(
            field("user_id", Some(&long)).unwrap_err().state.code(),
            "PT422"
        );
        assert_eq!(
            required("learning_type", None).unwrap_err().state.code(),
            "PT422"
        );
        assert_eq!(
            learning_id(&"x".repeat(MAX_ID_BYTES + 1))
                .unwrap_err()
                .state
                .code(),
            "PT422"
        );
    }

    #[test]
    fn json_kinds() {
        assert!(check_content("object").is_ok());
        for kind in ["array", "string", "null", "number", "boolean", "absent"] {
            assert_eq!(
                check_content(kind).unwrap_err().state.code(),
                "PT422",
                "{kind}"
            );
        }
        assert!(check_metadata("null").is_ok());
        assert_eq!(check_metadata("array").unwrap_err().state.code(), "PT422");
    }
}
