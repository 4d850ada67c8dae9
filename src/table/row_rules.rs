//! The API's rules for rows written through the table itself (contract section 2).
//!
//! PostgREST's table endpoint and plain SQL write learnings without the functions. For
//! every role subject to row-level security, a `BEFORE INSERT OR UPDATE` trigger on each
//! registered table keeps what the API keeps:
//! - an identity-keyed row carries the id derived from its own fields (so nobody can take
//!   `user_profile_bob` with a row of their own, which agno would then fill with bob's
//!   data), and any other type a UUID, which no derivation produces;
//! - an insert whose id is taken by a row the caller cannot see answers 404, as the API
//!   does, never a 409 (or an empty `ON CONFLICT DO NOTHING`) that confirms the row;
//! - an update changes only `content`, `metadata` and `updated_at`;
//! - a refused caller, or a row for another user, gets the API's 401/403 (in PostgREST's
//!   own form under PostgREST) instead of the policy's 42501, which PostgREST shows as 401.
//!
//! The table's owner and roles that bypass row-level security (the agent runtime) are not
//! restricted: the trigger returns at once for them.
//!
//! Layer: table (uses caller, identity, base). The trigger function itself is the door's
//! (src/door.rs, `learnings_guard_row`).

use pgrx::prelude::*;
use pgrx::{pg_sys, AllocatedByPostgres, PgTupleDesc};

use crate::base::catalog;
use crate::base::db::{self, Access};
use crate::base::errors::{self, ApiError, ApiResult, SqlState};
use crate::base::ids::{self, Identity, LearningId};
use crate::base::jsonb::Jsonb;
use crate::base::validate;
use crate::caller::forward;
use crate::caller::{Caller, Scope};
use crate::identity::Action;

/// Columns a write through the table may change; every other one is the record's identity.
const MUTABLE_COLUMNS: [&str; 3] = ["content", "metadata", "updated_at"];

fn internal(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(SqlState::Internal, format!("learnings_guard_row: {what}"))
}

/// The rules for one row written through the table; `Ok` lets the write go on.
pub fn check(trigger: &PgTrigger) -> ApiResult<()> {
    let relation = trigger.relid().map_err(internal)?;
    if !subject_to_rls(relation) {
        return Ok(());
    }
    check_sizes(trigger)?;
    if trigger.event().fired_by_update() {
        return check_update(trigger);
    }
    let new = trigger
        .new()
        .ok_or_else(|| internal("fired without a new row"))?;
    check_insert(trigger, &Row::read(&new)?)
}

/// Whether row-level security applies to the current role on `relation`.
fn subject_to_rls(relation: pg_sys::Oid) -> bool {
    // SAFETY: a check of the current role against the relation's catalog entry.
    let rls = unsafe { pg_sys::check_enable_rls(relation, pg_sys::InvalidOid, true) };
    rls == pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32
}

/// The identity columns of a new row.
struct Row {
    learning_id: String,
    learning_type: String,
    namespace: Option<String>,
    user_id: Option<String>,
    session_id: Option<String>,
    entity_id: Option<String>,
    entity_type: Option<String>,
}

impl Row {
    fn read(tuple: &PgHeapTuple<AllocatedByPostgres>) -> ApiResult<Self> {
        let text = |name: &str| -> ApiResult<Option<String>> {
            tuple.get_by_name::<String>(name).map_err(internal)
        };
        Ok(Row {
            learning_id: text("learning_id")?.unwrap_or_default(),
            learning_type: text("learning_type")?.unwrap_or_default(),
            namespace: text("namespace")?,
            user_id: text("user_id")?,
            session_id: text("session_id")?,
            entity_id: text("entity_id")?,
            entity_type: text("entity_type")?,
        })
    }
}

fn check_insert(trigger: &PgTrigger, row: &Row) -> ApiResult<()> {
    let scope = Caller::current()?.scope(Action::Write)?;
    if let Scope::User(me) = &scope {
        if row.user_id.as_deref() != Some(me.as_str()) {
            return Err(ApiError::forbidden(
                "Cannot create learnings for another user",
            ));
        }
    }
    check_id(row)?;
    // The API's own creates answer a hidden conflict themselves, after their insert.
    if forward::api_action().is_none() {
        check_not_hidden(trigger, &row.learning_id)?;
    }
    Ok(())
}

/// The id rule: derived from the row's own fields for identity-keyed types, a UUID for
/// the others.
fn check_id(row: &Row) -> ApiResult<()> {
    let identity = Identity {
        learning_type: &row.learning_type,
        user_id: row.user_id.as_deref(),
        session_id: row.session_id.as_deref(),
        entity_id: row.entity_id.as_deref(),
        entity_type: row.entity_type.as_deref(),
        namespace: row.namespace.as_deref(),
    };
    match ids::learning_id(&identity)? {
        LearningId::Keyed(expected) if expected != row.learning_id => {
            Err(ApiError::unprocessable(format!(
                "a '{}' learning's learning_id is derived from its identity fields: '{}', not '{}'",
                errors::shorten(&row.learning_type),
                errors::shorten(&expected),
                errors::shorten(&row.learning_id)
            )))
        }
        LearningId::Generated if !is_uuid(&row.learning_id) => {
            Err(ApiError::unprocessable(format!(
                "a '{}' learning's learning_id must be a UUID (as learnings_create makes), not '{}'",
                errors::shorten(&row.learning_type),
                errors::shorten(&row.learning_id)
            )))
        }
        _ => Ok(()),
    }
}

/// The canonical lower-case form `8-4-4-4-12` that `gen_random_uuid()::text` gives.
fn is_uuid(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => matches!(b, b'0'..=b'9' | b'a'..=b'f'),
        })
}

/// 404 when `learning_id` is taken by a row this caller may not read.
fn check_not_hidden(trigger: &PgTrigger, learning_id: &str) -> ApiResult<()> {
    let relid = trigger.relid().map_err(internal)?;
    let relation = catalog::relation_name(relid)?;
    let owner = catalog::owner_of(relid)?;
    let existing = catalog::as_owner(owner, || {
        db::texts(
            Access::Read,
            &format!(
                "SELECT user_id::pg_catalog.text FROM {relation} \
                  WHERE learning_id OPERATOR(pg_catalog.=) $1::pg_catalog.text"
            ),
            &[learning_id.into()],
        )
    })?;
    let owner_id = match existing.as_slice() {
        [] => return Ok(()),
        [owner_id, ..] => owner_id.clone(),
    };
    let visible = match Caller::current()?.scope(forward::read_action()) {
        Ok(Scope::All) => true,
        Ok(Scope::User(me)) => owner_id.is_none_or(|u| u == me),
        Err(_) => false,
    };
    if visible {
        Ok(())
    } else {
        Err(ApiError::not_found("Learning not found"))
    }
}

/// content and metadata within `agno_learnings.max_document_bytes`, as the API keeps them.
fn check_sizes(trigger: &PgTrigger) -> ApiResult<()> {
    let data = trigger.trigger_data();
    // SAFETY: a row-level trigger's data: the relation and its new row (tg_newtuple for
    // an update, tg_trigtuple for an insert), valid during the call.
    unsafe {
        let row = if trigger.event().fired_by_update() {
            data.tg_newtuple
        } else {
            data.tg_trigtuple
        };
        let desc = (*data.tg_relation).rd_att;
        for (number, att, name) in live_attributes(desc) {
            if att.atttypid != pg_sys::JSONBOID {
                continue;
            }
            let mut null = false;
            let value = pg_sys::heap_getattr(row, number, desc, &mut null);
            let value = (!null).then(|| Jsonb::from_datum(value, false)).flatten();
            validate::check_size(&name, value)?;
        }
    }
    Ok(())
}

/// A relation's columns (not the dropped ones): number, attribute and name.
///
/// # Safety
/// `desc` is a valid tuple descriptor for as long as the iterator is used.
unsafe fn live_attributes<'a>(
    desc: pg_sys::TupleDesc,
) -> impl Iterator<Item = (i32, &'a pg_sys::FormData_pg_attribute, String)> {
    // pgrx's descriptor knows where each major version keeps the attributes (`attrs`
    // up to 17; after the compact ones from 18 on, as PostgreSQL's TupleDescAttr() does).
    // SAFETY: `desc` is valid (the caller's promise); not reference counted by us.
    let columns = unsafe { PgTupleDesc::from_pg_unchecked(desc) };
    (0..columns.len()).filter_map(move |index| {
        // SAFETY: the attribute lives in `desc`'s memory, valid for 'a (the caller's promise).
        let att: &'a pg_sys::FormData_pg_attribute = unsafe { &*(columns.get(index)? as *const _) };
        let name = unsafe { std::ffi::CStr::from_ptr(att.attname.data.as_ptr()) };
        let number = index as i32 + 1;
        (!att.attisdropped).then(|| (number, att, name.to_string_lossy().into_owned()))
    })
}

/// An update through the table changes only content, metadata and updated_at: every
/// other column (the id, the type, the owner and the other identity fields) keeps its
/// bytes.
fn check_update(trigger: &PgTrigger) -> ApiResult<()> {
    let data = trigger.trigger_data();
    // SAFETY: a row-level UPDATE trigger's data: the relation, the old row
    // (tg_trigtuple) and the new one (tg_newtuple), all valid during the call.
    let changed: Vec<String> = unsafe {
        let desc = (*data.tg_relation).rd_att;
        live_attributes(desc)
            .filter_map(|(number, att, name)| {
                if MUTABLE_COLUMNS.contains(&name.as_str()) {
                    return None;
                }
                let (mut old_null, mut new_null) = (false, false);
                let old = pg_sys::heap_getattr(data.tg_trigtuple, number, desc, &mut old_null);
                let new = pg_sys::heap_getattr(data.tg_newtuple, number, desc, &mut new_null);
                let same = match (old_null, new_null) {
                    (true, true) => true,
                    (false, false) => same_datum(old, new, att.attbyval, att.attlen),
                    _ => false,
                };
                (!same).then_some(name)
            })
            .collect()
    };
    if changed.is_empty() {
        return Ok(());
    }
    Err(ApiError::unprocessable(format!(
        "a learning's identity never changes: only content and metadata can be updated \
         (changed: {})",
        changed.join(", ")
    )))
}

/// Whether two non-null values of one column have the same bytes (PostgreSQL's
/// `datumIsEqual`, with TOAST undone so that a value written again counts as unchanged).
///
/// # Safety
/// Both datums are values of a column with this `byval`/`len`.
unsafe fn same_datum(a: pg_sys::Datum, b: pg_sys::Datum, byval: bool, len: i16) -> bool {
    if byval {
        return a == b;
    }
    let bytes = |d: pg_sys::Datum| -> Vec<u8> {
        match len {
            // SAFETY: a varlena of this column, detoasted into the current memory context.
            -1 => unsafe {
                let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
                pgrx::varlena::varlena_to_byte_slice(v).to_vec()
            },
            -2 => unsafe {
                std::ffi::CStr::from_ptr(d.cast_mut_ptr())
                    .to_bytes()
                    .to_vec()
            },
            n => unsafe {
                std::slice::from_raw_parts(d.cast_mut_ptr::<u8>(), n.max(0) as usize).to_vec()
            },
        }
    };
    bytes(a) == bytes(b)
}

#[cfg(test)]
mod unit_tests {
    use super::is_uuid;

    #[test]
    fn uuids_are_canonical() {
        assert!(is_uuid("0b5c7a9e-3f41-4c1e-9a57-2f0d1c8e6b3a"));
        for bad in [
            "user_profile_bob",
            "0B5C7A9E-3F41-4C1E-9A57-2F0D1C8E6B3A",
            "0b5c7a9e3f414c1e9a572f0d1c8e6b3a",
            "0b5c7a9e-3f41-4c1e-9a57-2f0d1c8e6b3",
            "0b5c7a9e-3f41-4c1e-9a57-2f0d1c8e6b3ag",
            "",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::is_uuid;
    use proptest::prelude::*;

    proptest! {
        /// Every UUID `gen_random_uuid()::text` can give is accepted; changing any one
        /// character's case or class, or the length, is not.
        #[test]
        fn uuids(value in any::<u128>(), position in 0usize..36) {
            let hex = format!("{value:032x}");
            let uuid = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
            prop_assert!(is_uuid(&uuid));
            let mut bytes = uuid.clone().into_bytes();
            bytes[position] = if bytes[position] == b'-' { b'0' } else { b'G' };
            prop_assert!(!is_uuid(std::str::from_utf8(&bytes).unwrap()));
            prop_assert!(!is_uuid(&uuid[1..]));
            let longer = format!("{uuid}0");
            prop_assert!(!is_uuid(&longer));
        }
    }
}
