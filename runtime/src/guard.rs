//! Scope guards: the values a repository method needs before it runs any SQL.
//!
//! A guard exists only if [`Db`](crate::Db) made it, so holding one proves that the
//! application admitted the tenant (or, for [`Unscoped`], gave a reason). Generated
//! methods take the guard as their first argument and bind the tenant from it.
//!
//! The guard traits are object-safe and sealed: a repository method takes `&dyn
//! ScopeGuard`, `&dyn ReadGuard` or `&dyn UnscopedGuard`, so that one compiled method
//! serves every guard (and a repository trait can be used as `dyn Trait`), and only
//! tenantry's own guards implement them.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

use sqlx::Database;
use sqlx::pool::PoolConnection;

use crate::set::SetInner;
use crate::tx::{OwnTx, TxConn, TxState};
use crate::{Db, ForeignTransaction, KeyValue, RlsRefusal, ScopedTx, TenantId, TenantKey};

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

/// A tenant key with its type erased: what a guard of any key type shows generated code.
pub(crate) trait ErasedKey: fmt::Display + Sync {
    fn key_str(&self) -> Cow<'_, str>;
    fn key_value(&self) -> KeyValue<'_>;
}

impl<K: TenantKey> ErasedKey for K {
    fn key_str(&self) -> Cow<'_, str> {
        TenantKey::key_str(self)
    }
    fn key_value(&self) -> KeyValue<'_> {
        TenantKey::key_value(self)
    }
}

/// Whom a guard confines to.
#[derive(Clone, Copy)]
pub(crate) enum Who<'a> {
    /// An `#[unscoped]` method's guard.
    Unscoped,
    /// One tenant.
    One(&'a dyn ErasedKey),
    /// Several tenants ([`ScopeSet`](crate::ScopeSet)).
    Set(&'a SetInner),
}

/// What generated code reads off a guard: its tenant(s) and, for a [`ScopedTx`], the
/// transaction. Not a public API.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub(crate) who: Who<'a>,
    pub(crate) tx: Option<&'a (dyn Any + Send + Sync)>,
}

impl<'a> View<'a> {
    /// The value the statement binds to `:tenant`.
    #[inline]
    pub fn tenant(&self) -> TenantBind<'a> {
        match self.who {
            Who::One(key) => TenantBind::One(key.key_value()),
            Who::Set(set) => TenantBind::Set(set),
            // An unscoped statement has no `:tenant`; were one bound, NULL matches nothing.
            Who::Unscoped => TenantBind::Null,
        }
    }

    /// Whether the guard holds a set of tenants (the statement's set form runs).
    #[inline]
    pub fn is_set(&self) -> bool {
        matches!(self.who, Who::Set(_))
    }

    /// Who the call is for, as policies and audit see it.
    pub fn subject(&self) -> Subject<'a> {
        match self.who {
            Who::Unscoped => Subject::Unscoped,
            Who::One(key) => Subject::One(key.key_str()),
            Who::Set(set) => Subject::Set(&set.keys),
        }
    }

    /// The tenant(s) as errors show them.
    pub(crate) fn shown(&self) -> &'a (dyn fmt::Display + Sync) {
        match self.who {
            Who::Unscoped => &UNSCOPED,
            Who::One(key) => key,
            Who::Set(set) => &set.shown,
        }
    }
}

/// How errors and audit name the tenant of an unscoped call.
pub(crate) const UNSCOPED: &str = "unscoped";

/// The value bound to `:tenant`: one key, or a set in the backend's set form.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum TenantBind<'a> {
    /// No tenant: binds NULL.
    Null,
    /// One tenant's key.
    One(KeyValue<'a>),
    /// Several: `tenant_id = ANY($1)` binds an array on PostgreSQL, a JSON array on
    /// SQLite, a comma-separated list on MySQL.
    Set(&'a SetInner),
}

/// A connection a generated method runs its statement on: one from the pool, the
/// transaction's, or under row-level security a transaction of its own.
pub(crate) enum Conn<'c, DB: Database> {
    Pooled(PoolConnection<DB>),
    Pinned(crate::pins::Pinned<DB>),
    Tx(tokio::sync::MutexGuard<'c, TxConn<DB>>),
    Rls(OwnTx<DB>),
}

impl<DB: Database> Deref for Conn<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Pinned(p) => &p.conn,
            Conn::Tx(t) => t,
            Conn::Rls(t) => t,
        }
    }
}

impl<DB: Database> DerefMut for Conn<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Pinned(p) => &mut p.conn,
            Conn::Tx(t) => t,
            Conn::Rls(t) => t,
        }
    }
}

impl<DB: Database> Conn<'_, DB> {
    /// Ends the call's use of the connection: commits the call's own row-level security
    /// transaction.
    pub(crate) async fn finish(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Rls(tx) => tx.end("COMMIT").await,
            Conn::Pooled(_) | Conn::Pinned(_) | Conn::Tx(_) => Ok(()),
        }
    }

    /// Ends the call's use of the connection after its statement failed: rolls the call's
    /// own transaction back, so that the connection can be reused (dropped unended, it is
    /// closed).
    pub(crate) async fn abort(self) {
        if let Conn::Rls(tx) = self {
            let _ = tx.end("ROLLBACK").await;
        }
    }
}

/// The connection for a call on `db` with the guard `view`.
///
/// A transaction belongs to its `Db`: on a repository of another (or of another
/// backend), it would run on the first database's connection under the second one's
/// policy and audit, so it is refused before any SQL. Under row-level security a call of
/// one tenant takes a connection pinned to it or else begins a transaction with the
/// tenant set in it (one round trip), an
/// unscoped call takes the bypass pool, a set is refused. sqlx's acquire future is
/// kilobytes (8.6 KB on PostgreSQL): boxed, as sqlx's own pool executor does, it is not
/// copied along with the call's future.
pub(crate) async fn connection<'c, DB: Database>(db: &'c Db<DB>, view: &View<'c>) -> Result<Conn<'c, DB>, sqlx::Error> {
    if let Some(tx) = view.tx {
        return tx_connection(db, tx).await;
    }
    // `row_level_security` sets both.
    let (Some(rls), Some(exec)) = (&db.settings().rls, db.raw_exec()) else {
        return Ok(Conn::Pooled(Box::pin(db.pool().acquire()).await?));
    };
    let refuse = |refusal: RlsRefusal| sqlx::Error::Configuration(Box::new(refusal));
    match view.who {
        Who::One(key) => {
            let tenant = key.key_str();
            if let Some(pins) = db.pins()
                && let Some(pinned) = pins.acquire(&tenant).await?
            {
                return Ok(Conn::Pinned(pinned));
            }
            let begin = rls.begin(&tenant).map_err(refuse)?;
            let conn = Box::pin(db.pool().acquire()).await?;
            Ok(Conn::Rls(OwnTx::begin(conn, &begin, exec).await?))
        }
        Who::Unscoped => match db.unscoped_pool() {
            Some(pool) => Ok(Conn::Pooled(Box::pin(pool.acquire()).await?)),
            None => Err(refuse(RlsRefusal::NoUnscopedPool)),
        },
        Who::Set(_) => Err(refuse(RlsRefusal::Set)),
    }
}

/// The transaction's connection (see [`connection`]).
async fn tx_connection<'c, DB: Database>(
    db: &'c Db<DB>,
    tx: &'c (dyn Any + Send + Sync),
) -> Result<Conn<'c, DB>, sqlx::Error> {
    let state = tx.downcast_ref::<TxState<DB>>().filter(|state| state.db.is_same(db));
    let Some(state) = state else {
        return Err(sqlx::Error::Configuration(Box::new(ForeignTransaction)));
    };
    match &state.tx {
        Some(tx) => Ok(Conn::Tx(tx.lock().await)),
        // `commit`/`rollback` consume the guard, so a finished transaction cannot be
        // borrowed here.
        None => Err(sqlx::Error::Protocol("the transaction is already finished".into())),
    }
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

/// A guard a method that only reads accepts: [`Scope`], [`ScopedTx`] and
/// [`ScopeSet`](crate::ScopeSet). Methods take it as `&dyn ReadGuard`.
///
/// Sealed: only tenantry's guards implement it, so a guard cannot be forged.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a scope guard: this repository method reads the rows of the tenants of a guard",
    label = "expected `&scope`, `&tx` or `&set`: a guard made by a `Db`",
    note = "make one with `db.scope(tenant)?` (a `Scope`), `db.begin(&scope).await?` (a `ScopedTx`) or `db.scope_set([..])?` (a `ScopeSet`)",
    note = "an `Unscoped` guard fits only methods marked `#[unscoped(reason = \"...\")]`"
)]
pub trait ReadGuard: sealed::Sealed + Send + Sync {
    /// Whether the guard admits `tenant` (as [`TenantKey::key_str`] writes it). This is
    /// how a hand-written fake of a repository confines itself.
    fn admits(&self, tenant: &str) -> bool;

    #[doc(hidden)]
    fn view(&self) -> View<'_>;
}

/// A guard of exactly one tenant, which every scoped method accepts: [`Scope`] and
/// [`ScopedTx`]. Methods take it as `&dyn ScopeGuard`. A [`ScopeSet`](crate::ScopeSet)
/// is not one: it only reads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a single-tenant scope guard, which this repository method needs",
    label = "expected `&scope` or `&tx`: a guard of one tenant made by a `Db`",
    note = "make one with `db.scope(tenant)?` (a `Scope`) or `db.begin(&scope).await?` (a `ScopedTx`)",
    note = "a `ScopeSet` fits only methods that read and compare the tenant column with `:tenant` in WHERE/ON",
    note = "an `Unscoped` guard fits only methods marked `#[unscoped(reason = \"...\")]`"
)]
pub trait ScopeGuard: ReadGuard {
    /// The tenant, as [`TenantKey::key_str`] writes it.
    fn tenant_key(&self) -> Cow<'_, str>;
}

/// The guard an `#[unscoped]` method accepts: [`Unscoped`]. Methods take it as `&dyn
/// UnscopedGuard`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an unscoped guard: this method is marked `#[unscoped]` and reads across tenants",
    label = "expected `&unscoped`: the guard made by `db.unscoped(\"reason\")?`",
    note = "a `Scope` confines to one tenant and fits only the repository's scoped methods"
)]
pub trait UnscopedGuard: sealed::Sealed + Send + Sync {
    /// Why the caller needs to see every tenant.
    fn reason(&self) -> &str;

    #[doc(hidden)]
    fn view(&self) -> View<'_>;
}

impl<K: TenantKey> sealed::Sealed for Scope<K> {}

// Not offered as a fix in errors: the guard traits' own messages say which guard to make.
#[diagnostic::do_not_recommend]
impl<K: TenantKey> ReadGuard for Scope<K> {
    fn admits(&self, tenant: &str) -> bool {
        self.tenant.key_str() == tenant
    }

    #[inline]
    fn view(&self) -> View<'_> {
        View { who: Who::One(&self.tenant), tx: None }
    }
}

// Not offered as a fix in errors: the guard traits' own messages say which guard to make.
#[diagnostic::do_not_recommend]
impl<K: TenantKey> ScopeGuard for Scope<K> {
    fn tenant_key(&self) -> Cow<'_, str> {
        self.tenant.key_str()
    }
}

impl sealed::Sealed for Unscoped {}

// Not offered as a fix in errors: the guard traits' own messages say which guard to make.
#[diagnostic::do_not_recommend]
impl UnscopedGuard for Unscoped {
    fn reason(&self) -> &str {
        &self.reason
    }

    #[inline]
    fn view(&self) -> View<'_> {
        View { who: Who::Unscoped, tx: None }
    }
}

impl<DB: Database, K: TenantKey> sealed::Sealed for ScopedTx<DB, K> {}

// Not offered as a fix in errors: the guard traits' own messages say which guard to make.
#[diagnostic::do_not_recommend]
impl<DB: Database, K: TenantKey> ReadGuard for ScopedTx<DB, K> {
    fn admits(&self, tenant: &str) -> bool {
        ScopedTx::tenant(self).key_str() == tenant
    }

    #[inline]
    fn view(&self) -> View<'_> {
        let tenant: &K = ScopedTx::tenant(self);
        View { who: Who::One(tenant), tx: Some(&self.state as &(dyn Any + Send + Sync)) }
    }
}

// Not offered as a fix in errors: the guard traits' own messages say which guard to make.
#[diagnostic::do_not_recommend]
impl<DB: Database, K: TenantKey> ScopeGuard for ScopedTx<DB, K> {
    fn tenant_key(&self) -> Cow<'_, str> {
        ScopedTx::tenant(self).key_str()
    }
}
