//! `jsonb` values passed through untouched.
//!
//! pgrx's `JsonB` round-trips through `serde_json::Value`, which rounds numbers to f64
//! (`0.1000000000000000000001` comes back changed) and panics on numbers it cannot hold
//! (`1e400`). Learning content must be stored and returned exactly as given, so the API
//! keeps jsonb as the PostgreSQL datum it is and lets PostgreSQL's own jsonb functions
//! inspect it.
//!
//! Layer: base (uses nothing of the crate).

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::{FromDatum, IntoDatum};

/// A non-null `jsonb` datum, valid for the duration of the current function call.
#[derive(Clone, Copy, Debug)]
pub struct Jsonb(pg_sys::Datum);

impl Jsonb {
    /// Copies a jsonb datum produced by an SPI query out of SPI's memory, into the
    /// context the function was called in, so it outlives `SPI_finish`.
    ///
    /// # Safety
    /// Must be called while SPI is connected, with a valid, non-null jsonb datum.
    pub unsafe fn transfer_from_spi(datum: pg_sys::Datum) -> Self {
        Jsonb(unsafe { pg_sys::SPI_datumTransfer(datum, false, -1) })
    }
}

impl Jsonb {
    /// Its size in bytes, as stored (uncompressed), without detoasting it.
    pub fn size(self) -> usize {
        // SAFETY: a valid jsonb datum; toast_raw_datum_size only reads its header (or its
        // TOAST pointer).
        unsafe { pg_sys::toast_raw_datum_size(self.0) }
    }

    /// What `jsonb_typeof` would say of it, read from the root container's header
    /// (a scalar is stored as a one-element array flagged scalar).
    pub fn kind(self) -> &'static str {
        // SAFETY: detoasting a valid jsonb datum gives a 4-byte-header varlena holding a
        // JsonbContainer: a u32 header (element count and flags), then the JEntries.
        unsafe {
            let value = pg_sys::pg_detoast_datum(self.0.cast_mut_ptr());
            let root = (value as *const u8).add(pg_sys::VARHDRSZ) as *const u32;
            let header = root.read_unaligned();
            if header & pg_sys::JB_FOBJECT != 0 {
                return "object";
            }
            if header & pg_sys::JB_FSCALAR == 0 {
                return "array";
            }
            match root.add(1).read_unaligned() & pg_sys::JENTRY_TYPEMASK {
                pg_sys::JENTRY_ISSTRING => "string",
                pg_sys::JENTRY_ISNUMERIC => "number",
                pg_sys::JENTRY_ISBOOL_FALSE | pg_sys::JENTRY_ISBOOL_TRUE => "boolean",
                pg_sys::JENTRY_ISNULL => "null",
                _ => "container",
            }
        }
    }
}

impl FromDatum for Jsonb {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        (!is_null && !datum.is_null()).then_some(Jsonb(datum))
    }
}

impl IntoDatum for Jsonb {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.0)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for Jsonb {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }
}

unsafe impl BoxRet for Jsonb {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        unsafe { fcinfo.return_raw_datum(self.0) }
    }
}

unsafe impl SqlTranslatable for Jsonb {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(Jsonb);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}
