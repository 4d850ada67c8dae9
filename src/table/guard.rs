//! DROP EXTENSION never destroys learnings (contract section 1).
//!
//! The extension's `agno_learnings` table belongs to the extension (so that pg_dump
//! carries its rows and `CREATE EXTENSION` can adopt an existing one), and PostgreSQL
//! drops an extension's tables with it. An event trigger on `ddl_command_start` refuses
//! `DROP EXTENSION agno_learnings` (and `DROP SCHEMA … CASCADE` of its schema) while the
//! table holds rows, and says how to keep them.
//!
//! Layer: table (uses base). The event trigger function itself is the door's
//! (src/door.rs, `learnings_guard_drop`).

use std::ffi::CStr;

use pgrx::list::PgList;
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::base::errors::{ApiError, ApiResult, SqlState};

const EXTENSION: &str = "agno_learnings";

/// Refuses a DROP that would delete the extension's learnings (2BP01); `Ok` for any other
/// DDL. `fcinfo` is an event trigger's call.
pub fn check_drop(fcinfo: pg_sys::FunctionCallInfo) -> ApiResult<()> {
    // SAFETY: PostgreSQL calls event trigger functions with an EventTriggerData context;
    // anything else is ignored. Its parse tree stays valid for the duration of the call.
    let drop = unsafe {
        let context = (*fcinfo).context;
        if context.is_null() || !pgrx::is_a(context, pg_sys::NodeTag::T_EventTriggerData) {
            return Ok(());
        }
        let tree = (*(context as *mut pg_sys::EventTriggerData)).parsetree;
        if tree.is_null() || !pgrx::is_a(tree, pg_sys::NodeTag::T_DropStmt) {
            return Ok(());
        }
        &*(tree as *mut pg_sys::DropStmt)
    };
    let names = unsafe { object_names(drop.objects) };
    let Some(schema) = extension_schema()? else {
        return Ok(());
    };
    let drops_us = match drop.removeType {
        pg_sys::ObjectType::OBJECT_EXTENSION => names.iter().any(|n| n == EXTENSION),
        pg_sys::ObjectType::OBJECT_SCHEMA => {
            drop.behavior == pg_sys::DropBehavior::DROP_CASCADE && names.contains(&schema)
        }
        _ => false,
    };
    if !drops_us || !holds_rows(&schema)? {
        return Ok(());
    }
    let table = format!("{}.agno_learnings", pgrx::spi::quote_identifier(&schema));
    Err(ApiError::new(
        SqlState::DependentObjects,
        format!("dropping extension {EXTENSION} would delete the learnings in {table}"),
    )
    .with_detail(format!(
        "{table} belongs to the extension and holds learnings."
    ))
    .with_hint(format!(
        "To keep them, detach the table first: ALTER EXTENSION {EXTENSION} DROP TABLE {table}; \
         the table, its rows and its indexes stay (its policies go with the extension). To \
         delete them, TRUNCATE {table} first."
    )))
}

/// The names a DROP statement lists (extensions and schemas are plain String nodes).
unsafe fn object_names(objects: *mut pg_sys::List) -> Vec<String> {
    let list = unsafe { PgList::<pg_sys::Node>::from_pg(objects) };
    list.iter_ptr()
        .filter(|node| unsafe { pgrx::is_a(*node, pg_sys::NodeTag::T_String) })
        .map(|node| unsafe { string_value(node) })
        .collect()
}

unsafe fn string_value(node: *mut pg_sys::Node) -> String {
    unsafe { CStr::from_ptr((*(node as *mut pg_sys::String)).sval) }
        .to_string_lossy()
        .into_owned()
}

fn extension_schema() -> ApiResult<Option<String>> {
    Ok(Spi::get_one::<String>(
        "SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_extension AS e \
           JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace \
          WHERE e.extname OPERATOR(pg_catalog.=) 'agno_learnings'::pg_catalog.name",
    )?)
}

/// Whether the extension's own table still belongs to it (a detached table stays when
/// the extension goes) and has any row (the view of its owner or a superuser, who alone
/// can drop the extension: no policies apply to them). Every name is qualified and every
/// operator pg_catalog's: this runs as whoever drops, often a superuser, and the schema
/// may belong to another role.
fn holds_rows(schema: &str) -> ApiResult<bool> {
    let table = format!("{}.agno_learnings", pgrx::spi::quote_identifier(schema));
    let member = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_depend \
                         WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass \
                           AND objid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)::pg_catalog.oid \
                           AND refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass \
                           AND deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog.\"char\")",
        &[table.as_str().into()],
    )?;
    if member != Some(true) {
        return Ok(false);
    }
    Ok(Spi::get_one::<bool>(&format!("SELECT EXISTS (SELECT FROM {table})"))?.unwrap_or(false))
}
