//! What generated code needs; not a public API.

use std::fmt::Display;

pub use futures_core;
pub use futures_util;
pub use sqlx;

pub use crate::guard::Conn;
use crate::{Error, Result};

/// What generated code knows of a method, for errors and audit.
#[derive(Debug)]
pub struct Method {
    /// The repository trait's name.
    pub repository: &'static str,
    /// The method's name.
    pub name: &'static str,
    /// Whether the statement can change rows.
    pub writes: bool,
}

/// Wraps a sqlx error with the method and tenant.
#[cold]
pub fn failed<T: Display + ?Sized>(m: &'static Method, tenant: &T, source: sqlx::Error) -> Error {
    Error::Query { repository: m.repository, method: m.name, tenant: tenant.to_string(), source }
}

/// The tenant display for unscoped methods.
pub const UNSCOPED: &str = "unscoped";

/// The single row of a stream, or `NotFound`/`TooManyRows`.
pub async fn exactly_one<O, T: Display + ?Sized>(
    m: &'static Method,
    tenant: &T,
    mut rows: futures_core::stream::BoxStream<'_, std::result::Result<O, sqlx::Error>>,
) -> Result<O> {
    use futures_util::TryStreamExt;
    let first = rows.try_next().await.map_err(|e| failed(m, tenant, e))?;
    let Some(first) = first else {
        return Err(Error::NotFound { repository: m.repository, method: m.name, tenant: tenant.to_string() });
    };
    match rows.try_next().await.map_err(|e| failed(m, tenant, e))? {
        None => Ok(first),
        Some(_) => Err(Error::TooManyRows { repository: m.repository, method: m.name, tenant: tenant.to_string() }),
    }
}

/// Decodes a streamed read into `T: FromRow`, naming the method in errors.
pub fn rows_as<'a, DB, T, K>(
    m: &'static Method,
    tenant: &'a K,
    rows: crate::guard::RawRows<'a, DB>,
) -> crate::RowStream<'a, T>
where
    DB: sqlx::Database,
    T: for<'r> sqlx::FromRow<'r, DB::Row> + Send + 'a,
    K: Display + Sync + ?Sized,
{
    use futures_util::StreamExt;
    Box::pin(rows.map(move |row| row.and_then(|row| T::from_row(&row)).map_err(|e| failed(m, tenant, e))))
}

/// Decodes a streamed read of one column into `T`.
pub fn rows_scalar<'a, DB, T, K>(
    m: &'static Method,
    tenant: &'a K,
    rows: crate::guard::RawRows<'a, DB>,
) -> crate::RowStream<'a, T>
where
    DB: sqlx::Database,
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'a,
    usize: sqlx::ColumnIndex<DB::Row>,
    K: Display + Sync + ?Sized,
{
    use futures_util::StreamExt;
    use sqlx::Row;
    Box::pin(rows.map(move |row| row.and_then(|row| row.try_get::<T, usize>(0)).map_err(|e| failed(m, tenant, e))))
}
