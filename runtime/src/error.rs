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

    /// A policy refused the access; no SQL ran.
    #[error("tenant `{tenant}` denied{}: {reason}", match (repository, method) { (Some(r), Some(m)) => format!(" for {r}::{m}"), _ => String::new() })]
    Denied {
        /// The tenant, or `unscoped`.
        tenant: String,
        /// The repository trait, for a denied call.
        repository: Option<&'static str>,
        /// The method, for a denied call.
        method: Option<&'static str>,
        /// The policy's reason.
        reason: String,
    },

    /// A job claim was refused: tampered with, expired, or for an unknown tenant.
    #[error("job claim refused: {0}")]
    InvalidClaim(String),

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
