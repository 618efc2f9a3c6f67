//! What generated code needs; not a public API.
//!
//! A generated method builds its statement and binds its arguments in place (binding
//! encodes at once, so nothing borrows the arguments afterwards), then hands the query to
//! one of the runners here. The runners are generic over the backend and the row type
//! only: the policy, audit, connection, error wording and the `Send` future are checked
//! once, in this crate, instead of once per method in the user's.

use std::fmt::Display;
use std::time::Instant;

pub use futures_core;
pub use futures_util;
pub use sqlx;
use sqlx::{Database, Executor, IntoArguments};

use crate::audit::AuditKind;
pub use crate::backend::Backend;
pub use crate::guard::{Subject, TenantBind, View};
use crate::guard::{UNSCOPED, connection};
use crate::policy::{Access, Action, Verdict};
use crate::{Bindable, BoxFuture, ColumnType, Db, Error, Result, RowStream, RowType};

/// A statement with its arguments bound, before it runs.
pub type RawQuery<DB> = sqlx::query::Query<'static, DB, <DB as Database>::Arguments>;

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

/// How a row decodes into what a method returns: [`from_row`] or [`from_column`]. A plain
/// function, so that a type that does not decode is one error, where the method names it.
pub type Decode<DB, T> = fn(&<DB as Database>::Row) -> std::result::Result<T, sqlx::Error>;

/// Decodes a row as `T: sqlx::FromRow`.
#[inline]
pub fn from_row<DB: Database, T: RowType<DB>>(row: &DB::Row) -> std::result::Result<T, sqlx::Error> {
    T::from_row(row)
}

/// Decodes a row's single column as `T: sqlx::Decode + sqlx::Type`.
#[inline]
pub fn from_column<DB: Database, T: ColumnType<DB>>(row: &DB::Row) -> std::result::Result<T, sqlx::Error>
where
    usize: sqlx::ColumnIndex<DB::Row>,
{
    sqlx::Row::try_get::<T, usize>(row, 0)
}

/// Binds one argument (by reference: it is encoded at once).
#[inline]
pub fn bind<'q, DB: Database, T: Bindable<'q, DB>>(query: RawQuery<DB>, value: &T) -> RawQuery<DB> {
    query.bind(value)
}

/// Writes a runner: its signature (with or without a row decoder) and the frame of every
/// call, around the statement's `run` — the policy (unless nobody listens), the
/// connection, the error wording, the commit of an RLS transaction, the audit — boxed here,
/// so that its `Send` is proved once. Names are passed in: `macro_rules!` locals are
/// hygienic.
macro_rules! runner {
    ($(#[$attr:meta])* fn $name:ident($db:ident, $m:ident, $view:ident, $query:ident, $decode:ident) -> $out:ty
        { |$conn:ident, $shown:ident| $run:expr } rows $rows:expr) => {
        $(#[$attr])*
        pub fn $name<'a, DB, T>(
            $db: &'a Db<DB>,
            $m: &'static Method,
            $view: View<'a>,
            $query: RawQuery<DB>,
            $decode: Decode<DB, T>,
        ) -> BoxFuture<'a, Result<$out>>
        where
            DB: Backend,
            T: Send + 'a,
            for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
            DB::Arguments: IntoArguments<DB>,
        {
            let $query = $query.persistent($db.settings().persistent);
            runner!(@frame $db, $m, $view, |$conn, $shown| $run, $rows)
        }
    };
    ($(#[$attr:meta])* fn $name:ident($db:ident, $m:ident, $view:ident, $query:ident) -> $out:ty
        { |$conn:ident, $shown:ident| $run:expr } rows $rows:expr) => {
        $(#[$attr])*
        pub fn $name<'a, DB>($db: &'a Db<DB>, $m: &'static Method, $view: View<'a>, $query: RawQuery<DB>) -> BoxFuture<'a, Result<$out>>
        where
            DB: Backend,
            for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
            DB::Arguments: IntoArguments<DB>,
        {
            let $query = $query.persistent($db.settings().persistent);
            runner!(@frame $db, $m, $view, |$conn, $shown| $run, $rows)
        }
    };
    (@frame $db:ident, $m:ident, $view:ident, |$conn:ident, $shown:ident| $run:expr, $rows:expr) => {
        Box::pin(async move {
            let call = match quiet($db, $m) {
                Some(call) => call,
                None => begin($db, $m, $view.subject()).await?,
            };
            let $shown = $view.shown();
            let result: Result<_> = async {
                let mut $conn = connection($db, &$view).await.map_err(|e| failed($m, $shown, e))?;
                let value = match { $run } {
                    Ok(value) => value,
                    Err(e) => {
                        $conn.abort().await;
                        return Err(e);
                    }
                };
                $conn.finish().await.map_err(|e| failed($m, $shown, e))?;
                Ok(value)
            }
            .await;
            call.end(result, $rows)
        })
    };
}

runner! {
    /// `Vec<T>`: every row.
    fn fetch_all(db, m, view, query, decode) -> Vec<T> {
        |conn, shown| futures_util::TryStreamExt::try_collect(futures_util::TryStreamExt::and_then(
            query.fetch(&mut *conn),
            |row| std::future::ready(decode(&row)),
        ))
        .await
        .map_err(|e| failed(m, shown, e))
    } rows |v: &Vec<_>| Some(v.len() as u64)
}

runner! {
    /// `Option<T>`: zero or one row.
    fn fetch_optional(db, m, view, query, decode) -> Option<T> {
        |conn, shown| {
            let row = query.fetch_optional(&mut *conn).await.map_err(|e| failed(m, shown, e))?;
            row.map(|row| decode(&row)).transpose().map_err(|e| failed(m, shown, e))
        }
    } rows |v: &Option<_>| Some(v.is_some() as u64)
}

runner! {
    /// `T` of a statement that returns at most one row (a single-row `INSERT ... RETURNING`,
    /// an aggregate): read as `fetch_one` would, with no second poll; none is `NotFound`.
    fn fetch_single(db, m, view, query, decode) -> T {
        |conn, shown| {
            let row = query.fetch_optional(&mut *conn).await.map_err(|e| failed(m, shown, e))?;
            let row = row.ok_or_else(|| not_found(m, shown))?;
            decode(&row).map_err(|e| failed(m, shown, e))
        }
    } rows |_| Some(1)
}

runner! {
    /// `T`: exactly one row, else `NotFound` or `TooManyRows`.
    fn fetch_one(db, m, view, query, decode) -> T {
        |conn, shown| {
            use futures_util::TryStreamExt;
            let mut rows = query.fetch(&mut *conn);
            let first = rows.try_next().await.map_err(|e| failed(m, shown, e))?;
            let Some(first) = first else { return Err(not_found(m, shown)) };
            match rows.try_next().await.map_err(|e| failed(m, shown, e))? {
                None => decode(&first).map_err(|e| failed(m, shown, e)),
                Some(_) => {
                    Err(Error::TooManyRows { repository: m.repository, method: m.name, tenant: shown.to_string() })
                }
            }
        }
    } rows |_| Some(1)
}

runner! {
    /// `u64`: the rows the statement affected.
    fn rows_affected(db, m, view, query) -> u64 {
        |conn, shown| query.execute(&mut *conn).await.map(|r| DB::rows_affected(&r)).map_err(|e| failed(m, shown, e))
    } rows |v: &u64| Some(*v)
}

runner! {
    /// `()`: runs the statement.
    fn execute(db, m, view, query) -> () {
        |conn, shown| query.execute(&mut *conn).await.map(|_| ()).map_err(|e| failed(m, shown, e))
    } rows |_| None
}

/// `RowStream<'_, T>`: rows decoded one at a time. The policy runs when the stream is
/// first polled; inside a transaction the rows are fetched whole (they would borrow the
/// locked connection).
pub fn stream<'a, DB, T>(
    db: &'a Db<DB>,
    m: &'static Method,
    view: View<'a>,
    query: RawQuery<DB>,
    decode: Decode<DB, T>,
) -> RowStream<'a, T>
where
    DB: Backend,
    T: Send + 'a,
    T: 'a,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    use futures_util::{StreamExt, TryStreamExt, stream};
    let query = query.persistent(db.settings().persistent);
    let shown = view.shown();
    let decode = move |row: std::result::Result<DB::Row, sqlx::Error>| {
        row.and_then(|row| decode(&row)).map_err(|e| failed(m, shown, e))
    };
    // The stream's rows are not counted; its opening is audited like a call.
    let start = async move {
        let call = begin(db, m, view.subject()).await?;
        let streams = view.tx.is_none() && db.settings().rls.is_none();
        let rows: RowStream<'a, T> = match streams {
            true => Box::pin(query.fetch(db.pool()).map(decode)),
            false => {
                let all = async move {
                    let mut conn = connection(db, &view).await?;
                    let rows = query.fetch(&mut *conn).try_collect::<Vec<_>>().await?;
                    conn.finish().await?;
                    Ok(rows)
                };
                Box::pin(stream::once(all).flat_map(move |outcome| match outcome {
                    Ok(rows) => stream::iter(rows.into_iter().map(Ok)).map(decode).left_stream(),
                    Err(e) => stream::iter([Err(failed(m, shown, e))]).right_stream(),
                }))
            }
        };
        call.end(Ok(()), |_| None)?;
        Ok(rows)
    };
    Box::pin(stream::once(start).flat_map(|opened| match opened {
        Ok(rows) => rows.left_stream(),
        Err(e) => stream::iter([Err(e)]).right_stream(),
    }))
}
