//! Audit: a `tracing` span per repository call, and an [`AuditSink`] for a durable trail.
//!
//! # Failures
//! Audit must never corrupt or block data access. [`AuditSink::record`] is called
//! synchronously, inline, so a sink must not block: a durable sink should hand events to
//! a background task ([`ChannelSink`] does, dropping events when its buffer is full). A
//! sink that returns an error or panics does not fail the call: the failure is logged as
//! a `tracing` warning (target `tenantry::audit`) and counted in
//! [`Db::audit_failures`](crate::Db::audit_failures), which a health check can watch.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// One audited event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// When it happened.
    pub at: SystemTime,
    /// The tenant, as text; `None` for unscoped access.
    pub tenant: Option<String>,
    /// What happened.
    pub kind: AuditKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AuditKind {
    /// `db.scope(tenant)` admitted the tenant.
    ScopeCreated,
    /// A policy refused to admit the tenant.
    ScopeDenied {
        /// The policy's reason.
        reason: String,
    },
    /// An unscoped guard was handed out.
    Unscoped {
        /// The reason the caller gave.
        reason: String,
        /// `file:line:column` of the caller.
        location: String,
    },
    /// A policy refused an unscoped guard.
    UnscopedDenied {
        /// The reason the caller gave.
        reason: String,
        /// `file:line:column` of the caller.
        location: String,
        /// The policy's reason.
        denial: String,
    },
    /// A policy refused a repository call; no SQL ran.
    CallDenied {
        /// The repository trait.
        repository: &'static str,
        /// The method.
        method: &'static str,
        /// The policy's reason.
        reason: String,
    },
    /// A repository call succeeded.
    QueryDone {
        /// The repository trait.
        repository: &'static str,
        /// The method.
        method: &'static str,
        /// Whether its statement writes.
        writes: bool,
        /// Rows returned or affected, when known (not for streams).
        rows: Option<u64>,
        /// Time from the call to its result.
        duration: Duration,
    },
    /// A repository call failed.
    QueryFailed {
        /// The repository trait.
        repository: &'static str,
        /// The method.
        method: &'static str,
        /// Whether its statement writes.
        writes: bool,
        /// The error, as text.
        error: String,
        /// Time from the call to its failure.
        duration: Duration,
    },
    /// A transaction began.
    TxBegun,
    /// A transaction committed.
    TxCommitted,
    /// A transaction rolled back (explicitly, or because it was dropped).
    TxRolledBack,
    /// A job claim was issued for a background job.
    ClaimIssued,
    /// A job claim was redeemed into a scope.
    ClaimRedeemed,
    /// A job claim was refused (tampered, expired, or the policy denied the tenant).
    ClaimRefused {
        /// Why.
        reason: String,
    },
}

/// Why a sink could not record an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit sink failed: {0}")]
pub struct AuditError(pub String);

/// A destination for audit events. Called inline: must not block (see the module docs).
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event.
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError>;
}

/// Keeps events in memory, for tests and demos.
///
/// ```
/// use std::sync::Arc;
/// use tenantry::audit::{AuditKind, MemorySink};
/// # async fn demo() -> tenantry::Result<()> {
/// let sink = Arc::new(MemorySink::default());
/// let db = tenantry::Db::<sqlx::Sqlite>::builder(sqlx::SqlitePool::connect("sqlite::memory:").await?)
///     .audit(sink.clone())
///     .build();
/// db.scope(tenantry::TenantId::parse("acme")?)?;
/// assert_eq!(sink.events()[0].kind, AuditKind::ScopeCreated);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemorySink {
    /// A copy of every event so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets every event.
    pub fn clear(&self) {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl AuditSink for MemorySink {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).push(event.clone());
        Ok(())
    }
}

/// Hands events to a bounded channel for a background task to store durably. When the
/// buffer is full or the receiver is gone the event is dropped and reported as a failure,
/// never waited for.
#[derive(Debug, Clone)]
pub struct ChannelSink {
    tx: tokio::sync::mpsc::Sender<AuditEvent>,
}

impl ChannelSink {
    /// A sink and the receiver its events arrive on.
    pub fn new(capacity: usize) -> (Self, tokio::sync::mpsc::Receiver<AuditEvent>) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
        (ChannelSink { tx }, rx)
    }
}

impl AuditSink for ChannelSink {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        self.tx.try_send(event.clone()).map_err(|e| AuditError(e.to_string()))
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditKind::ScopeCreated => f.write_str("scope created"),
            AuditKind::ScopeDenied { reason } => write!(f, "scope denied: {reason}"),
            AuditKind::Unscoped { reason, location } => write!(f, "unscoped access at {location}: {reason}"),
            AuditKind::UnscopedDenied { denial, location, .. } => {
                write!(f, "unscoped access denied at {location}: {denial}")
            }
            AuditKind::CallDenied { repository, method, reason } => {
                write!(f, "{repository}::{method} denied: {reason}")
            }
            AuditKind::QueryDone { repository, method, .. } => write!(f, "{repository}::{method} done"),
            AuditKind::QueryFailed { repository, method, error, .. } => {
                write!(f, "{repository}::{method} failed: {error}")
            }
            AuditKind::TxBegun => f.write_str("transaction begun"),
            AuditKind::TxCommitted => f.write_str("transaction committed"),
            AuditKind::TxRolledBack => f.write_str("transaction rolled back"),
            AuditKind::ClaimIssued => f.write_str("job claim issued"),
            AuditKind::ClaimRedeemed => f.write_str("job claim redeemed"),
            AuditKind::ClaimRefused { reason } => write!(f, "job claim refused: {reason}"),
        }
    }
}
