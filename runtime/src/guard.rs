//! Scope guards: the values a repository method needs before it runs any SQL.
//!
//! A guard exists only if [`Db`](crate::Db) made it, so holding one proves that the
//! application admitted the tenant (or, for [`Unscoped`], gave a reason). Generated
//! methods take the guard as their first argument and bind the tenant from it.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

use futures_core::stream::BoxStream;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, Transaction};

use crate::{Db, ScopedTx, TenantId, TenantKey};

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A guard for one tenant, made by [`Db::scope`](crate::Db::scope).
///
/// Cheap to clone, `Send + Sync`: hand it to a spawned task explicitly.
///
/// ```
/// # async fn demo() -> tenantry::Result<()> {
/// use tenantry::{Db, TenantId};
/// let db: Db<sqlx::Sqlite> = Db::connect("sqlite::memory:").await?;
/// let scope = db.scope(TenantId::parse("acme")?)?;
/// assert_eq!(scope.tenant().as_str(), "acme");
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Scope<K: TenantKey = TenantId> {
    tenant: K,
}

impl<K: TenantKey> Scope<K> {
    pub(crate) fn new(tenant: K) -> Self {
        Scope { tenant }
    }

    /// The tenant this guard confines to.
    pub fn tenant(&self) -> &K {
        &self.tenant
    }
}

impl<K: TenantKey> fmt::Debug for Scope<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").field("tenant", &self.tenant).finish()
    }
}

/// The explicit escape hatch, made by [`Db::unscoped`](crate::Db::unscoped) with a
/// reason; accepted only by methods marked `#[unscoped(reason = "...")]`.
#[derive(Clone)]
pub struct Unscoped {
    reason: Arc<str>,
    location: &'static Location<'static>,
}

impl Unscoped {
    pub(crate) fn new(reason: &str, location: &'static Location<'static>) -> Self {
        Unscoped { reason: Arc::from(reason), location }
    }

    /// Why the caller needs to see every tenant.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Where in the source the guard was made.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

impl fmt::Debug for Unscoped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unscoped").field("reason", &self.reason).field("location", &self.location).finish()
    }
}

/// A connection a generated method runs its statement on: one from the pool, or the
/// transaction's.
#[doc(hidden)]
pub enum Conn<'c, DB: Database> {
    Pooled(PoolConnection<DB>),
    Tx(tokio::sync::MutexGuard<'c, Transaction<'static, DB>>),
}

impl<DB: Database> Deref for Conn<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Tx(t) => t,
        }
    }
}

impl<DB: Database> DerefMut for Conn<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Tx(t) => t,
        }
    }
}

fn pooled<'c, DB: Database>(
    pool: &Pool<DB>,
) -> impl Future<Output = Result<Conn<'c, DB>, sqlx::Error>> + Send + 'static {
    // Boxed, as sqlx's own pool executor does: the acquire future is kilobytes, and
    // unboxed it would sit twice in every generated method's future.
    let acquire = Box::pin(pool.acquire());
    async move { Ok(Conn::Pooled(acquire.await?)) }
}

/// Who a call is for, as policies and audit see it.
#[doc(hidden)]
pub enum Subject<'a> {
    /// An `#[unscoped]` method.
    Unscoped,
    /// One tenant.
    One(Cow<'a, str>),
    /// Several tenants ([`ScopeSet`](crate::ScopeSet)).
    Set(&'a [String]),
}

/// The tenant value(s) a read binds to `:tenant`.
#[doc(hidden)]
pub enum Tenants<'a, T, S> {
    /// One tenant: `tenant_id = $1`.
    One(&'a T),
    /// Several: the backend's set form (`tenant_id = ANY($1)`, ...).
    Set(&'a S),
}

/// Implemented by the guards a method that only reads accepts: [`Scope`],
/// [`ScopedTx`] and [`ScopeSet`](crate::ScopeSet).
///
/// Sealed: only tenantry's guards implement it, so a guard cannot be forged.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a scope guard for `{DB}`: this repository method is confined to the tenants of a guard",
    label = "expected a guard made by `db.scope(tenant)`, `db.scope_set(..)` or `db.begin(&scope)` on a `Db<{DB}>`",
    note = "pass `&scope` (from `db.scope(tenant)?`) or `&tx` (from `db.begin(&scope).await?`) as the first argument",
    note = "an `Unscoped` guard fits only methods marked `#[unscoped(reason = \"...\")]`"
)]
pub trait ReadGuard<DB: Database>: sealed::Sealed + Send + Sync {
    /// The tenant key type; it binds as the tenant column's SQL type.
    type Tenant: TenantKey + for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>;

    /// How a set of tenants binds on this backend.
    #[doc(hidden)]
    type Set: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB> + Send + Sync;

    /// Whether the guard admits `tenant` (as [`TenantKey::key_str`] writes it). This is
    /// how a hand-written fake of a repository confines itself.
    fn admits(&self, tenant: &str) -> bool;

    #[doc(hidden)]
    fn tenants(&self) -> Tenants<'_, Self::Tenant, Self::Set>;

    #[doc(hidden)]
    fn subject(&self) -> Subject<'_>;

    /// The tenant(s) as shown in errors.
    #[doc(hidden)]
    fn shown(&self) -> &(dyn fmt::Display + Sync);

    #[doc(hidden)]
    fn connection<'c>(&'c self, db: &'c Db<DB>) -> impl Future<Output = Result<Conn<'c, DB>, sqlx::Error>> + Send;

    #[doc(hidden)]
    fn fetch<'a>(&'a self, db: &'a Db<DB>, query: RawQuery<'a, DB>) -> RawRows<'a, DB>
    where
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
        DB::Arguments: sqlx::IntoArguments<DB>;
}

/// Implemented by the guards of exactly one tenant, which every method accepts:
/// [`Scope`] and [`ScopedTx`]. A [`ScopeSet`](crate::ScopeSet) is not one: it only
/// reads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a single-tenant scope guard for `{DB}`, which this repository method needs",
    label = "expected a guard made by `db.scope(tenant)` or `db.begin(&scope)` on a `Db<{DB}>`",
    note = "pass `&scope` (from `db.scope(tenant)?`) or `&tx` (from `db.begin(&scope).await?`) as the first argument",
    note = "a `ScopeSet` fits only methods that read and compare the tenant column with `:tenant` in WHERE/ON",
    note = "an `Unscoped` guard fits only methods marked `#[unscoped(reason = \"...\")]`"
)]
pub trait ScopeGuard<DB: Database>: ReadGuard<DB> {
    /// The tenant generated code binds to `:tenant`.
    fn tenant(&self) -> &Self::Tenant;
}

/// A statement with its arguments bound, before it runs.
#[doc(hidden)]
pub type RawQuery<'a, DB> = sqlx::query::Query<'a, DB, <DB as Database>::Arguments>;

/// The undecoded rows of a streamed statement.
#[doc(hidden)]
pub type RawRows<'a, DB> = BoxStream<'a, Result<<DB as Database>::Row, sqlx::Error>>;

impl<K: TenantKey> sealed::Sealed for Scope<K> {}

#[diagnostic::do_not_recommend]
impl<DB: Database, K> ReadGuard<DB> for Scope<K>
where
    K: TenantKey + for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    type Tenant = K;
    type Set = String;

    fn admits(&self, tenant: &str) -> bool {
        self.tenant.key_str() == tenant
    }

    fn tenants(&self) -> Tenants<'_, K, String> {
        Tenants::One(&self.tenant)
    }

    fn subject(&self) -> Subject<'_> {
        Subject::One(self.tenant.key_str())
    }

    fn shown(&self) -> &(dyn fmt::Display + Sync) {
        &self.tenant
    }

    fn connection<'c>(&'c self, db: &'c Db<DB>) -> impl Future<Output = Result<Conn<'c, DB>, sqlx::Error>> + Send {
        pooled(db.pool())
    }

    fn fetch<'a>(&'a self, db: &'a Db<DB>, query: RawQuery<'a, DB>) -> RawRows<'a, DB>
    where
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
        DB::Arguments: sqlx::IntoArguments<DB>,
    {
        query.fetch(db.pool())
    }
}

#[diagnostic::do_not_recommend]
impl<DB: Database, K> ScopeGuard<DB> for Scope<K>
where
    K: TenantKey + for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    fn tenant(&self) -> &K {
        &self.tenant
    }
}

/// Implemented by the guard an `#[unscoped]` method accepts: [`Unscoped`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an unscoped guard: this method is marked `#[unscoped]` and reads across tenants",
    label = "expected the guard made by `db.unscoped(\"reason\")`",
    note = "a `Scope` confines to one tenant and fits only the repository's scoped methods"
)]
pub trait UnscopedGuard<DB: Database>: sealed::Sealed + Send + Sync {
    /// Why the caller needs to see every tenant.
    fn reason(&self) -> &str;

    #[doc(hidden)]
    fn connection<'c>(&'c self, db: &'c Db<DB>) -> impl Future<Output = Result<Conn<'c, DB>, sqlx::Error>> + Send;

    #[doc(hidden)]
    fn fetch<'a>(&'a self, db: &'a Db<DB>, query: RawQuery<'a, DB>) -> RawRows<'a, DB>
    where
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
        DB::Arguments: sqlx::IntoArguments<DB>;
}

impl sealed::Sealed for Unscoped {}

#[diagnostic::do_not_recommend]
impl<DB: Database> UnscopedGuard<DB> for Unscoped {
    fn reason(&self) -> &str {
        &self.reason
    }

    fn connection<'c>(&'c self, db: &'c Db<DB>) -> impl Future<Output = Result<Conn<'c, DB>, sqlx::Error>> + Send {
        pooled(db.pool())
    }

    fn fetch<'a>(&'a self, db: &'a Db<DB>, query: RawQuery<'a, DB>) -> RawRows<'a, DB>
    where
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
        DB::Arguments: sqlx::IntoArguments<DB>,
    {
        query.fetch(db.pool())
    }
}

impl<DB: Database, K: TenantKey> sealed::Sealed for ScopedTx<DB, K> {}

#[diagnostic::do_not_recommend]
impl<DB: Database, K> ReadGuard<DB> for ScopedTx<DB, K>
where
    K: TenantKey + for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    type Tenant = K;
    type Set = String;

    fn admits(&self, tenant: &str) -> bool {
        ScopedTx::tenant(self).key_str() == tenant
    }

    fn tenants(&self) -> Tenants<'_, K, String> {
        Tenants::One(ScopedTx::tenant(self))
    }

    fn subject(&self) -> Subject<'_> {
        Subject::One(ScopedTx::tenant(self).key_str())
    }

    fn shown(&self) -> &(dyn fmt::Display + Sync) {
        let tenant: &K = ScopedTx::tenant(self);
        tenant
    }

    async fn connection<'c>(&'c self, db: &'c Db<DB>) -> Result<Conn<'c, DB>, sqlx::Error> {
        // A transaction belongs to its `Db`: on a repository of another, it would run on
        // the first database's connection under the second one's policy and audit.
        if !self.db.is_same(db) {
            return Err(sqlx::Error::Configuration(Box::new(crate::ForeignTransaction)));
        }
        match &self.tx {
            Some(tx) => Ok(Conn::Tx(tx.lock().await)),
            // `commit`/`rollback` consume the guard, so a finished transaction cannot
            // be borrowed here.
            None => Err(sqlx::Error::Protocol("the transaction is already finished".into())),
        }
    }

    fn fetch<'a>(&'a self, db: &'a Db<DB>, query: RawQuery<'a, DB>) -> RawRows<'a, DB>
    where
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
        DB::Arguments: sqlx::IntoArguments<DB>,
    {
        use futures_util::{StreamExt, stream};
        // The rows borrow the locked connection; fetching them whole keeps the stream
        // free of a self-reference.
        let rows = async move {
            let mut conn = ReadGuard::connection(self, db).await?;
            query.fetch_all(&mut *conn).await
        };
        Box::pin(stream::once(rows).flat_map(|outcome| match outcome {
            Ok(rows) => stream::iter(rows.into_iter().map(Ok)).left_stream(),
            Err(e) => stream::iter(vec![Err(e)]).right_stream(),
        }))
    }
}

#[diagnostic::do_not_recommend]
impl<DB: Database, K> ScopeGuard<DB> for ScopedTx<DB, K>
where
    K: TenantKey + for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    fn tenant(&self) -> &K {
        ScopedTx::tenant(self)
    }
}
