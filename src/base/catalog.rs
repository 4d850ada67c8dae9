//! Where the extension's own objects live, without trusting `search_path`.
//!
//! Every function runs with `search_path = pg_catalog, pg_temp`: the extension's schema
//! may belong to another role (agno creates `ai` as its runtime), and an operator or
//! function that role plants there would otherwise win overload resolution inside our
//! statements, run by whoever calls them (a superuser included). So the extension's
//! relations are named with their schema, looked up here; its internals live in
//! `agno_learnings_internal`, a schema only the extension's owner controls.
//!
//! Layer: base (uses db, errors).

use std::cell::RefCell;

use pgrx::pg_sys;

use crate::base::db::{self, Access};
use crate::base::errors::{ApiError, ApiResult, SqlState};

/// The extension, its own learnings table and its owner.
#[derive(Clone, Debug)]
pub struct Home {
    /// The extension's own `agno_learnings` table (InvalidOid when it is gone).
    pub table: pg_sys::Oid,
    /// The extension's owner, who owns its internals (the registry).
    pub owner: pg_sys::Oid,
    /// The registry of learnings tables (sql/bootstrap.sql), by oid: the library also
    /// serves databases still on an older version until `ALTER EXTENSION … UPDATE`,
    /// whose registry is elsewhere, and an update moves it without changing its oid.
    registry: pg_sys::Oid,
    /// The list totals and the tables they are complete for (since 0.3.0; InvalidOid in
    /// a database still on an older version, whose lists count rows).
    counts: pg_sys::Oid,
    counted: pg_sys::Oid,
}

thread_local! {
    /// Looked up once per backend, until a relation changes (see `watch_relations`).
    static HOME: RefCell<Option<Home>> = const { RefCell::new(None) };
    static WATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The extension's home is forgotten at every relation cache invalidation: DROP/CREATE
/// EXTENSION, ALTER EXTENSION UPDATE and the registry changed (registration invalidates
/// it) all send one, to every backend. (table/target.rs forgets its resolutions the same
/// way, with a callback of its own.)
fn watch_relations() {
    if WATCHING.get() {
        return;
    }
    // SAFETY: registers a callback PostgreSQL calls at each relation cache invalidation,
    // for the life of the backend.
    unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(forget), pg_sys::Datum::from(0)) };
    WATCHING.set(true);
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn forget(_arg: pg_sys::Datum, _relid: pg_sys::Oid) {
    HOME.with_borrow_mut(|h| *h = None);
}

/// The extension's table and owner, kept until a relation changes.
pub fn home() -> ApiResult<Home> {
    if let Some(home) = HOME.with_borrow(Clone::clone) {
        return Ok(home);
    }
    // SAFETY: a catalog lookup by name; missing_ok returns InvalidOid.
    let extension = unsafe { pg_sys::get_extension_oid(c"agno_learnings".as_ptr(), true) };
    if extension == pg_sys::InvalidOid {
        return Err(ApiError::new(
            SqlState::Internal,
            "extension agno_learnings is not installed in this database",
        ));
    }
    // The extension's tables are found among its members in the catalogs, never by name
    // (a name lookup in agno_learnings_internal needs a privilege callers do not have).
    let row = db::texts(
        Access::Read,
        "WITH member AS ( \
             SELECT r.relname, r.oid FROM pg_catalog.pg_depend AS d \
               JOIN pg_catalog.pg_class AS r ON r.oid OPERATOR(pg_catalog.=) d.objid \
              WHERE d.refobjid OPERATOR(pg_catalog.=) $1 AND d.deptype OPERATOR(pg_catalog.=) 'e' \
                AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass) \
         SELECT COALESCE(c.oid, 0::pg_catalog.oid)::pg_catalog.text, e.extowner::pg_catalog.text, \
                (SELECT m.oid FROM member AS m WHERE m.relname OPERATOR(pg_catalog.=) 'learnings_tables')::pg_catalog.text, \
                COALESCE((SELECT m.oid FROM member AS m \
                           WHERE m.relname OPERATOR(pg_catalog.=) 'learnings_counts'), 0)::pg_catalog.text, \
                COALESCE((SELECT m.oid FROM member AS m \
                           WHERE m.relname OPERATOR(pg_catalog.=) 'learnings_counted'), 0)::pg_catalog.text \
           FROM pg_catalog.pg_extension AS e \
           JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace \
           LEFT JOIN pg_catalog.pg_class AS c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid \
                AND c.relname OPERATOR(pg_catalog.=) 'agno_learnings'::pg_catalog.name \
          WHERE e.oid OPERATOR(pg_catalog.=) $1",
        &[extension.into()],
    )?;
    let [Some(table), Some(owner), Some(registry), Some(counts), Some(counted)] = row.as_slice()
    else {
        return Err(ApiError::new(
            SqlState::Internal,
            "extension schema not found",
        ));
    };
    let home = Home {
        table: oid(table),
        owner: oid(owner),
        registry: oid(registry),
        counts: oid(counts),
        counted: oid(counted),
    };
    // A database still on an older version is looked up again at every call, so that
    // ALTER EXTENSION … UPDATE takes effect in running backends.
    if home.counts != pg_sys::InvalidOid {
        watch_relations();
        HOME.with_borrow_mut(|h| *h = Some(home.clone()));
    }
    Ok(home)
}

/// Whether `role` owns `relation` or is a member of its owner: PostgreSQL's own check,
/// from the catalog cache (the policies ask it for every statement of a caller without a
/// token).
pub fn owns(role: pg_sys::Oid, relation: pg_sys::Oid) -> bool {
    // SAFETY: catalog cache lookups of an existing relation (the caller checked it).
    unsafe {
        // 16 replaced the per-catalog ownership checks with one for every object class.
        #[cfg(feature = "pg15")]
        return pg_sys::pg_class_ownercheck(relation, role);
        #[cfg(any(feature = "pg16", feature = "pg17", feature = "pg18"))]
        return pg_sys::object_ownercheck(pg_sys::RelationRelationId, relation, role);
    }
}

/// The owner of a relation (InvalidOid when it does not exist).
pub fn owner_of(relation: pg_sys::Oid) -> ApiResult<pg_sys::Oid> {
    if relation == pg_sys::InvalidOid {
        return Ok(pg_sys::InvalidOid);
    }
    let row = db::texts(
        Access::Read,
        "SELECT relowner::pg_catalog.text FROM pg_catalog.pg_class \
          WHERE oid OPERATOR(pg_catalog.=) $1",
        &[relation.into()],
    )?;
    Ok(match row.first() {
        Some(Some(owner)) => oid(owner),
        _ => pg_sys::InvalidOid,
    })
}

impl Home {
    /// The registry's schema-qualified, quoted name, as it is now.
    pub fn registry(&self) -> ApiResult<String> {
        relation_name(self.registry)
    }

    /// The names of the totals table and of its table of counted relations, when this
    /// database's version keeps them.
    pub fn counts(&self) -> ApiResult<Option<(String, String)>> {
        if self.counts == pg_sys::InvalidOid || self.counted == pg_sys::InvalidOid {
            return Ok(None);
        }
        Ok(Some((
            relation_name(self.counts)?,
            relation_name(self.counted)?,
        )))
    }
}

/// `schema.relation`, quoted, of a relation by oid (from the catalog caches).
pub fn relation_name(relation: pg_sys::Oid) -> ApiResult<String> {
    // SAFETY: catalog cache lookups; each returns NULL (or InvalidOid) when the relation
    // or its schema is gone, and a palloc'd copy otherwise.
    let (schema, name) = unsafe {
        let name = pg_sys::get_rel_name(relation);
        let namespace = pg_sys::get_rel_namespace(relation);
        let schema = pg_sys::get_namespace_name(namespace);
        if name.is_null() || schema.is_null() {
            return Err(ApiError::new(
                SqlState::Internal,
                format!("relation {} is gone", u32::from(relation)),
            ));
        }
        (
            std::ffi::CStr::from_ptr(schema)
                .to_string_lossy()
                .into_owned(),
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned(),
        )
    };
    Ok(format!(
        "{}.{}",
        pgrx::spi::quote_identifier(schema),
        pgrx::spi::quote_identifier(name)
    ))
}

fn oid(text: &str) -> pg_sys::Oid {
    pg_sys::Oid::from(text.parse::<u32>().unwrap_or(0))
}

/// Runs `f` (one fixed statement of ours) as `owner`, the way PostgreSQL's own
/// foreign-key checks read a table the caller may not: to resolve the registry, and to
/// answer 404 rather than 409 when an id is taken by a row the caller cannot see.
/// Security-restricted (nothing run can SET ROLE or make temporary objects); the
/// statement's names are all schema-qualified and the search_path is pinned.
pub fn as_owner<T>(owner: pg_sys::Oid, f: impl FnOnce() -> T) -> T {
    struct Restore(pg_sys::Oid, i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: restores what GetUserIdAndSecContext returned.
            unsafe { pg_sys::SetUserIdAndSecContext(self.0, self.1) };
        }
    }
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    // SAFETY: a switch of the current user, restored by `Restore` on return or unwind
    // (and by PostgreSQL's abort processing when an error ends the transaction).
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut context) };
    let _restore = Restore(user, context);
    let flags = (pg_sys::SECURITY_LOCAL_USERID_CHANGE
        | pg_sys::SECURITY_RESTRICTED_OPERATION
        | pg_sys::SECURITY_NOFORCE_RLS) as i32;
    unsafe { pg_sys::SetUserIdAndSecContext(owner, context | flags) };
    f()
}
