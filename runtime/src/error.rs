//! The one error type of tenantry.

use crate::InvalidTenantId;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in tenantry. Each variant says for which repository
/// method and tenant it happened where that is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tenant id failed validation.
    #[error("invalid tenant id: {0}")]
    InvalidTenant(#[from] InvalidTenantId),

    /// The database refused or failed the statement of a repository method.
    #[error("{repository}::{method} for tenant `{tenant}` failed: {source}")]
    Query {
        /// The repository trait.
        repository: &'static str,
        /// The method.
        method: &'static str,
        /// The tenant, or `unscoped`.
        tenant: String,
        /// What sqlx reported.
        #[source]
        source: sqlx::Error,
    },

    /// A method that returns exactly one row found none.
    #[error("{repository}::{method} for tenant `{tenant}` expected exactly one row and found none")]
    NotFound {
        /// The repository trait.
        repository: &'static str,
        /// The method.
        method: &'static str,
        /// The tenant, or `unscoped`.
        tenant: String,
    },

    /// A method that returns exactly one row found more than one.
    #[error("{repository}::{method} for tenant `{tenant}` expected exactly one row and found more")]
    TooManyRows {
        /// The repository trait.
        repository: &'static str,
        /// The method.
        method: &'static str,
        /// The tenant, or `unscoped`.
        tenant: String,
    },

    /// An unscoped guard was asked for without a reason.
    #[error("an unscoped guard needs a non-empty reason")]
    MissingReason,

    /// A database error outside a repository method (connecting, beginning a transaction).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Error {
    /// The underlying sqlx error, if this is a database failure.
    pub fn as_sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            Error::Query { source, .. } | Error::Database(source) => Some(source),
            _ => None,
        }
    }
}
