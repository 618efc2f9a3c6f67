//! What generated code needs; not a public API.

use std::fmt::Display;
use std::time::Instant;

pub use futures_core;
pub use futures_util;
pub use sqlx;

use crate::audit::AuditKind;
pub use crate::guard::{Conn, Subject, Tenants};
use crate::policy::{Access, Action, Verdict};
use crate::{Db, Error, Result};

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

/// One repository call in flight: the policy has allowed it; its span and clock run
/// only when someone listens (a `tracing` subscriber or an audit sink), so a plain `Db`
/// pays two branches.
pub struct Call<'a, DB: sqlx::Database> {
    db: &'a Db<DB>,
    m: &'static Method,
    watched: Option<Watched>,
}

struct Watched {
    start: Instant,
    span: tracing::Span,
    tenant: Option<String>,
}

/// The fast path of a call: when no policy, no audit sink and no `tracing` subscriber
/// for tenantry is set, there is nothing to check or record, and generated code skips
/// [`begin`] (and building its subject) altogether.
#[inline]
pub fn quiet<'a, DB: sqlx::Database>(db: &'a Db<DB>, m: &'static Method) -> Option<Call<'a, DB>> {
    let settings = db.settings();
    let quiet = settings.policy.is_none()
        && settings.audit.is_none()
        && !tracing::enabled!(target: "tenantry", tracing::Level::INFO);
    quiet.then_some(Call { db, m, watched: None })
}

/// Runs the policy for a call (for each tenant of a set) and starts its span.
pub async fn begin<'a, DB: sqlx::Database>(
    db: &'a Db<DB>,
    m: &'static Method,
    subject: Subject<'_>,
) -> Result<Call<'a, DB>> {
    let settings = db.settings();
    let span = tracing::info_span!(
        target: "tenantry",
        "tenantry.query",
        tenant = tracing::field::Empty,
        repository = m.repository,
        method = m.name,
        kind = if m.writes { "write" } else { "read" },
        rows = tracing::field::Empty,
        duration_us = tracing::field::Empty,
    );
    if settings.policy.is_none() && settings.audit.is_none() && span.is_disabled() {
        return Ok(Call { db, m, watched: None });
    }
    let one;
    let tenants: &[String] = match &subject {
        Subject::Unscoped => &[],
        Subject::One(key) => {
            one = [key.to_string()];
            &one
        }
        Subject::Set(keys) => keys,
    };
    if let Some(policy) = &settings.policy {
        let action = Action::Call { repository: m.repository, method: m.name, writes: m.writes };
        let asked: Vec<Option<&str>> = match subject {
            Subject::Unscoped => vec![None],
            _ => tenants.iter().map(|t| Some(t.as_str())).collect(),
        };
        for tenant in asked {
            let access = Access { tenant, action };
            let outcome = match policy.check(&access) {
                Verdict::Allow => Ok(()),
                Verdict::Deny(reason) => Err(reason),
                Verdict::Async => policy.check_async(&access).await,
            };
            if let Err(reason) = outcome {
                db.record(
                    tenant,
                    AuditKind::CallDenied { repository: m.repository, method: m.name, reason: reason.clone() },
                );
                return Err(Error::Denied {
                    tenant: tenant.unwrap_or(UNSCOPED).to_string(),
                    repository: Some(m.repository),
                    method: Some(m.name),
                    reason,
                });
            }
        }
    }
    let tenant = match subject {
        Subject::Unscoped => None,
        _ => Some(tenants.join(",")),
    };
    if let Some(t) = &tenant {
        span.record("tenant", t.as_str());
    }
    Ok(Call { db, m, watched: Some(Watched { start: Instant::now(), span, tenant }) })
}

impl<DB: sqlx::Database> Call<'_, DB> {
    /// Records the outcome: rows (when known) and duration on the span, and an audit
    /// event. Free when nobody watches.
    #[inline]
    pub fn end<T>(self, result: Result<T>, rows: impl FnOnce(&T) -> Option<u64>) -> Result<T> {
        match self.watched {
            None => result,
            Some(w) => Self::record(self.db, self.m, w, result, rows),
        }
    }

    #[inline(never)]
    fn record<T>(
        db: &Db<DB>,
        m: &'static Method,
        w: Watched,
        result: Result<T>,
        rows: impl FnOnce(&T) -> Option<u64>,
    ) -> Result<T> {
        let duration = w.start.elapsed();
        w.span.record("duration_us", duration.as_micros() as u64);
        let (repository, method, writes) = (m.repository, m.name, m.writes);
        let kind = match &result {
            Ok(v) => {
                let rows = rows(v);
                if let Some(n) = rows {
                    w.span.record("rows", n);
                }
                AuditKind::QueryDone { repository, method, writes, rows, duration }
            }
            Err(e) => AuditKind::QueryFailed { repository, method, writes, error: e.to_string(), duration },
        };
        db.record(w.tenant.as_deref(), kind);
        result
    }
}

/// `NotFound` for a method that returns exactly one row.
#[cold]
pub fn not_found<T: Display + ?Sized>(m: &'static Method, tenant: &T) -> Error {
    Error::NotFound { repository: m.repository, method: m.name, tenant: tenant.to_string() }
}

/// The single row of a stream, or `NotFound`/`TooManyRows`.
pub async fn exactly_one<O, T: Display + ?Sized>(
    m: &'static Method,
    tenant: &T,
    mut rows: futures_core::stream::BoxStream<'_, std::result::Result<O, sqlx::Error>>,
) -> Result<O> {
    use futures_util::TryStreamExt;
    let first = rows.try_next().await.map_err(|e| failed(m, tenant, e))?;
    let Some(first) = first else { return Err(not_found(m, tenant)) };
    match rows.try_next().await.map_err(|e| failed(m, tenant, e))? {
        None => Ok(first),
        Some(_) => Err(Error::TooManyRows { repository: m.repository, method: m.name, tenant: tenant.to_string() }),
    }
}

/// Decodes a streamed read into `T: FromRow`, naming the method in errors.
pub fn rows_as<'a, DB, T>(
    m: &'static Method,
    tenant: &'a (dyn Display + Sync),
    rows: crate::guard::RawRows<'a, DB>,
) -> crate::RowStream<'a, T>
where
    DB: sqlx::Database,
    T: for<'r> sqlx::FromRow<'r, DB::Row> + Send + 'a,
{
    use futures_util::StreamExt;
    Box::pin(rows.map(move |row| row.and_then(|row| T::from_row(&row)).map_err(|e| failed(m, tenant, e))))
}

/// Decodes a streamed read of one column into `T`.
pub fn rows_scalar<'a, DB, T>(
    m: &'static Method,
    tenant: &'a (dyn Display + Sync),
    rows: crate::guard::RawRows<'a, DB>,
) -> crate::RowStream<'a, T>
where
    DB: sqlx::Database,
    T: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB> + Send + 'a,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    use futures_util::StreamExt;
    use sqlx::Row;
    Box::pin(rows.map(move |row| row.and_then(|row| row.try_get::<T, usize>(0)).map_err(|e| failed(m, tenant, e))))
}

/// Runs the policy when the stream is first polled, then yields the rows `make` opens.
pub fn guarded_stream<'a, DB, T>(
    db: &'a Db<DB>,
    m: &'static Method,
    subject: Subject<'a>,
    make: impl FnOnce() -> crate::RowStream<'a, T> + Send + 'a,
) -> crate::RowStream<'a, T>
where
    DB: sqlx::Database,
    T: Send + 'a,
{
    use futures_util::{StreamExt, stream};
    // The stream's rows are not counted; its opening is audited like a call.
    let start = async move {
        let call = begin(db, m, subject).await?;
        let rows = make();
        call.end(Ok(()), |_| None)?;
        Ok(rows)
    };
    Box::pin(stream::once(start).flat_map(|opened| match opened {
        Ok(rows) => rows.left_stream(),
        Err(e) => stream::iter([Err(e)]).right_stream(),
    }))
}
