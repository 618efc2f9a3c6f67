//! The one error type of tenantry.

use std::fmt;

use crate::{InvalidTenantId, IsolationReport};

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in tenantry. Each variant says for which repository
/// method and tenant it happened where that is known.
///
/// Match on the variants, or ask with the predicates ([`Error::is_not_found`],
/// [`Error::is_denied`], ...).
///
/// Display shows this error's own message, never its source's: `Error::Query`'s sqlx
/// error is reachable through [`std::error::Error::source`], so that anyhow, eyre and
/// `tracing` print each cause of a chain once.
///
/// ```
/// use std::error::Error as _;
/// # async fn demo() -> tenantry::Result<()> {
/// # use tenantry::{tenant_repository, Db, TenantId};
/// # #[tenant_repository(backends(sqlite))]
/// # pub trait Notes {
/// #     #[sql("SELECT body FROM notes WHERE tenant_id = :tenant")]
/// #     async fn list(&self) -> tenantry::Result<Vec<String>>;
/// # }
/// let db: Db<sqlx::Sqlite> = Db::connect("sqlite::memory:").await?;
/// let acme = db.scope(TenantId::parse("acme")?)?;
/// let err = NotesRepo::new(&db).list(&acme).await.unwrap_err(); // no table `notes`
/// assert!(err.is_query());
/// assert_eq!(err.to_string(), "Notes::list for tenant `acme` failed");
/// assert!(err.source().unwrap().to_string().contains("no such table"));
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tenant id failed validation (the [`InvalidTenantId`] says which rule).
    #[error("invalid tenant id")]
    InvalidTenant(#[from] InvalidTenantId),

    /// The database refused or failed the statement of a repository method. The sqlx
    /// error is the [`source`](std::error::Error::source) (and [`Error::as_sqlx`]).
    #[error("{repository}::{method} for tenant `{tenant}` failed")]
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

    /// A policy refused the access; no SQL ran. `repository` and `method` are `Some` for a
    /// refused call and `None` for a refused admission (`db.scope`) or unscoped guard.
    #[error("tenant `{tenant}` denied{}: {reason}", match (repository, method) { (Some(r), Some(m)) => format!(" for {r}::{m}"), _ => String::new() })]
    Denied {
        /// The tenant, or `unscoped`.
        tenant: String,
        /// The repository trait, for a denied call.
        repository: Option<&'static str>,
        /// The method, for a denied call.
        method: Option<&'static str>,
        /// The policy's reason: the text of its `Verdict::Deny` (policies are yours, so is
        /// their vocabulary).
        reason: String,
    },

    /// A job claim was refused: tampered with, expired, or for an unknown tenant.
    #[error("job claim refused: {0}")]
    InvalidClaim(ClaimRefusal),

    /// An unscoped guard was asked for without a reason.
    #[error("an unscoped guard needs a non-empty reason")]
    MissingReason,

    /// The isolation audit found misconfigurations
    /// ([`IsolationReport::into_result`], after [`Db::verify_isolation`](crate::Db::verify_isolation)):
    /// Display lists each finding with its fix.
    #[error("the isolation audit failed with {0}")]
    Isolation(IsolationReport),

    /// A database error outside a repository method (connecting, beginning a transaction):
    /// displayed as sqlx's own error, whose source is this one's.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Why a job claim was refused ([`Error::InvalidClaim`]), for a worker that treats an
/// expired claim (re-issue it) differently from a forged one (alert).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimRefusal {
    /// No claim key is configured on the `Db`.
    NoKey,
    /// The configured key is shorter than the minimum.
    WeakKey {
        /// The minimum length in bytes.
        min: usize,
    },
    /// The signature is not 64 lowercase hexadecimal digits (its one spelling).
    MalformedSignature,
    /// The signature does not verify: the claim was altered or signed with another key.
    BadSignature,
    /// The claim's validity window closed.
    Expired {
        /// When, in seconds since the Unix epoch.
        at: u64,
    },
    /// The signature verifies but the tenant does not parse as the requested key type.
    InvalidTenantKey,
}

impl fmt::Display for ClaimRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimRefusal::NoKey => f.write_str("no claim key configured: use `Db::builder(..).claim_key(..)`"),
            ClaimRefusal::WeakKey { min } => write!(f, "the claim key must be at least {min} bytes"),
            ClaimRefusal::MalformedSignature => f.write_str("the signature is not 64 lowercase hex digits"),
            ClaimRefusal::BadSignature => {
                f.write_str("the signature does not match: the claim was altered or signed with another key")
            }
            ClaimRefusal::Expired { at } => write!(f, "the claim expired at {at} (Unix seconds)"),
            ClaimRefusal::InvalidTenantKey => f.write_str("the claim's tenant is not a valid tenant key"),
        }
    }
}

impl Error {
    /// The underlying sqlx error, if this is a database failure.
    pub fn as_sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            Error::Query { source, .. } | Error::Database(source) => Some(source),
            _ => None,
        }
    }

    /// Whether a tenant id failed validation ([`Error::InvalidTenant`]).
    pub fn is_invalid_tenant(&self) -> bool {
        matches!(self, Error::InvalidTenant(_))
    }

    /// Whether a repository statement failed in the database ([`Error::Query`]).
    pub fn is_query(&self) -> bool {
        matches!(self, Error::Query { .. })
    }

    /// Whether a single-row method found no row ([`Error::NotFound`]): also what another
    /// tenant's row looks like.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Whether a single-row method found several ([`Error::TooManyRows`]).
    pub fn is_too_many_rows(&self) -> bool {
        matches!(self, Error::TooManyRows { .. })
    }

    /// Whether a policy refused the access ([`Error::Denied`]).
    pub fn is_denied(&self) -> bool {
        matches!(self, Error::Denied { .. })
    }

    /// The policy's reason, for a denial.
    pub fn denial_reason(&self) -> Option<&str> {
        match self {
            Error::Denied { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Whether a job claim was refused ([`Error::InvalidClaim`]).
    pub fn is_invalid_claim(&self) -> bool {
        matches!(self, Error::InvalidClaim(_))
    }

    /// Why a job claim was refused.
    pub fn claim_refusal(&self) -> Option<&ClaimRefusal> {
        match self {
            Error::InvalidClaim(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// Whether an unscoped guard was asked for without a reason ([`Error::MissingReason`]).
    pub fn is_missing_reason(&self) -> bool {
        matches!(self, Error::MissingReason)
    }

    /// Whether the isolation audit found misconfigurations ([`Error::Isolation`]).
    pub fn is_isolation(&self) -> bool {
        matches!(self, Error::Isolation(_))
    }

    /// The isolation audit's report, for a failed audit.
    pub fn isolation_report(&self) -> Option<&IsolationReport> {
        match self {
            Error::Isolation(report) => Some(report),
            _ => None,
        }
    }

    /// Whether the connection was lost under the call or transaction: the socket failed,
    /// or the server ended the session (`pg_terminate_backend` or a shutdown: SQLSTATE
    /// class `08` and `57P01`–`57P03`; MariaDB's `KILL`: `70100`). A transaction it
    /// happened in was rolled back by the server; the pool opens a new connection for the
    /// next call, so retrying the whole unit of work is safe.
    pub fn is_connection_lost(&self) -> bool {
        let source = match self {
            Error::Query { source, .. } | Error::Database(source) => source,
            _ => return false,
        };
        match source {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(e) => {
                let code = e.code();
                let code = code.as_deref().unwrap_or("");
                code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "70100")
            }
            _ => false,
        }
    }

    /// Whether the database failed outside a repository method ([`Error::Database`]).
    pub fn is_database(&self) -> bool {
        matches!(self, Error::Database(_))
    }

    /// Whether a method was called with a [`ScopedTx`](crate::ScopedTx) of another
    /// [`Db`](crate::Db) than its repository's (see [`ForeignTransaction`]).
    pub fn is_foreign_transaction(&self) -> bool {
        match self {
            Error::Query { source: sqlx::Error::Configuration(e), .. } => e.is::<ForeignTransaction>(),
            _ => false,
        }
    }

    /// Why row-level security mode refused the call or transaction before any SQL (a
    /// `ScopeSet` read, an unscoped method without a bypass pool), if it did.
    pub fn rls_refusal(&self) -> Option<crate::RlsRefusal> {
        match self {
            Error::Query { source: sqlx::Error::Configuration(e), .. }
            | Error::Database(sqlx::Error::Configuration(e)) => e.downcast_ref::<crate::RlsRefusal>().copied(),
            _ => None,
        }
    }
}

/// A [`ScopedTx`](crate::ScopedTx) passed to a repository of another [`Db`](crate::Db)
/// than the one that began it: refused before any SQL, since it would run on the first
/// database's connection under the second one's policy and audit. It is the source of the
/// [`Error::Query`] the call returns ([`Error::is_foreign_transaction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignTransaction;

impl std::fmt::Display for ForeignTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the transaction was begun on another `Db` than this repository's: begin it with `db.begin(&scope)` on the repository's own `Db`",
        )
    }
}

impl std::error::Error for ForeignTransaction {}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// What anyhow's `{:#}` and eyre print: each error of the chain, joined.
    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        let mut parts = vec![e.to_string()];
        let mut next = e.source();
        while let Some(cause) = next {
            parts.push(cause.to_string());
            next = cause.source();
        }
        parts.join(": ")
    }

    fn every_variant() -> Vec<Error> {
        vec![
            Error::InvalidTenant(InvalidTenantId::Empty),
            Error::Query {
                repository: "Notes",
                method: "list",
                tenant: "acme".into(),
                source: sqlx::Error::PoolClosed,
            },
            Error::NotFound { repository: "Notes", method: "get", tenant: "acme".into() },
            Error::TooManyRows { repository: "Notes", method: "get", tenant: "acme".into() },
            Error::Denied { tenant: "acme".into(), repository: None, method: None, reason: "suspended".into() },
            Error::InvalidClaim(ClaimRefusal::Expired { at: 20 }),
            Error::MissingReason,
            Error::Database(sqlx::Error::PoolTimedOut),
            Error::Isolation(IsolationReport::from_findings(vec![crate::IsolationFinding::MissingTable {
                table: "notes".into(),
            }])),
        ]
    }

    #[test]
    fn display_does_not_repeat_the_source() {
        for e in every_variant() {
            let mut texts = vec![e.to_string()];
            let mut next = e.source();
            while let Some(cause) = next {
                let text = cause.to_string();
                assert!(!texts.iter().any(|t| t.contains(&text)), "`{text}` printed twice in `{}`", chain(&e));
                texts.push(text);
                next = cause.source();
            }
        }
        let query = &every_variant()[1];
        assert_eq!(
            chain(query),
            "Notes::list for tenant `acme` failed: attempted to acquire a connection on a closed pool"
        );
        assert_eq!(chain(&every_variant()[0]), "invalid tenant id: tenant id is empty");
        assert_eq!(chain(&every_variant()[7]), "pool timed out while waiting for an open connection");
        assert_eq!(
            chain(&every_variant()[8]),
            "the isolation audit failed with 1 finding: table `notes` does not exist; fix: create it (run the \
             migrations), or correct the name; on PostgreSQL check the `search_path` and that the role has USAGE \
             on the schema"
        );
    }

    #[test]
    fn each_variant_has_its_predicate() {
        let answers: Vec<[bool; 9]> = every_variant()
            .iter()
            .map(|e| {
                [
                    e.is_invalid_tenant(),
                    e.is_query(),
                    e.is_not_found(),
                    e.is_too_many_rows(),
                    e.is_denied(),
                    e.is_invalid_claim(),
                    e.is_missing_reason(),
                    e.is_database(),
                    e.is_isolation(),
                ]
            })
            .collect();
        for (i, row) in answers.iter().enumerate() {
            for (j, answer) in row.iter().enumerate() {
                assert_eq!(*answer, i == j, "variant {i}, predicate {j}");
            }
        }
        let variants = every_variant();
        assert_eq!(variants[4].denial_reason(), Some("suspended"));
        assert_eq!(variants[5].claim_refusal(), Some(&ClaimRefusal::Expired { at: 20 }));
        assert!(variants[1].as_sqlx().is_some() && variants[7].as_sqlx().is_some());
        assert_eq!(variants[0].denial_reason(), None);
        assert_eq!(variants[0].claim_refusal(), None);
        assert_eq!(variants[8].isolation_report().map(|r| r.findings().len()), Some(1));
        assert_eq!(variants[0].isolation_report(), None);
    }
}
