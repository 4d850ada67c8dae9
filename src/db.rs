//! Running the extension's statements through SPI.
//!
//! Reads run read-only (so they work on a hot standby and inside STABLE functions);
//! writes run read-write. Every statement's text comes from this crate; caller input only
//! ever arrives as parameters.

use pgrx::datum::DatumWithOid;
use pgrx::spi::{Spi, SpiClient, SpiResult, SpiTupleTable};

use crate::errors::ApiResult;
use crate::jsonb::Jsonb;

/// Whether a statement may change data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

fn execute<'conn>(
    client: &mut SpiClient<'conn>,
    access: Access,
    sql: &str,
    args: &[DatumWithOid],
) -> SpiResult<SpiTupleTable<'conn>> {
    match access {
        Access::Read => client.select(sql, None, args),
        Access::Write => client.update(sql, None, args),
    }
}

/// Runs `sql` and returns the jsonb in the first column of its first row, or `None`
/// when it returns no row (or NULL).
pub fn jsonb(access: Access, sql: &str, args: &[DatumWithOid]) -> ApiResult<Option<Jsonb>> {
    Ok(Spi::connect_mut(|client| {
        let table = execute(client, access, sql, args)?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        let datum = table.first().get_datum_by_ordinal(1)?;
        // SAFETY: SPI is still connected and the first column is a jsonb.
        Ok(datum.map(|d| unsafe { Jsonb::transfer_from_spi(d) }))
    })?)
}

/// Runs `sql` and returns the columns of its first row as text (empty when no row).
pub fn texts(access: Access, sql: &str, args: &[DatumWithOid]) -> ApiResult<Vec<Option<String>>> {
    Ok(Spi::connect_mut(|client| {
        let table = execute(client, access, sql, args)?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(Vec::new());
        }
        let row = table.first();
        (1..=row.columns()?)
            .map(|column| row.get::<String>(column))
            .collect()
    })?)
}

/// Runs `sql` and returns how many rows it returned or changed.
pub fn count(access: Access, sql: &str, args: &[DatumWithOid]) -> ApiResult<usize> {
    Ok(Spi::connect_mut(|client| {
        execute(client, access, sql, args).map(|t| t.len())
    })?)
}
