//! [`Db`]: the pool plus everything that decides who may get a guard.

use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sqlx::{Database, Pool};

use crate::audit::{AuditEvent, AuditKind, AuditSink};
use crate::pins::Pins;
use crate::policy::{Access, Action, Policy, Verdict};
use crate::tx::{OwnTx, RawExec, TxConn};
use crate::{Error, Result, Scope, ScopedTx, TenantKey, Unscoped};

/// A sqlx pool wrapped with tenantry's policy, audit sink and settings; the only maker
/// of guards.
///
/// Cheap to clone (the pool and the settings are reference-counted), `Send + Sync`.
///
/// ```
/// # async fn demo() -> tenantry::Result<()> {
/// use tenantry::{Db, TenantId};
/// let db: Db<sqlx::Sqlite> = Db::connect("sqlite::memory:").await?;
/// let scope = db.scope(TenantId::parse("acme")?)?;
/// let admin = db.unscoped("nightly billing report")?;
/// # let _ = (scope, admin);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
pub struct Db<DB: Database> {
    pool: Pool<DB>,
    settings: Arc<Settings>,
    /// Under row-level security: the pool `#[unscoped]` methods bypass the policies on.
    unscoped_pool: Option<Pool<DB>>,
    /// Under [`Rls::pinned`](crate::Rls::pinned): the tenants' own pools.
    pins: Option<Arc<Pins<DB>>>,
    /// Under row-level security: how tenantry begins and ends its own transactions.
    raw_exec: Option<RawExec<DB>>,
}

pub(crate) struct Settings {
    pub(crate) rls: Option<crate::Rls>,
    /// Whether generated statements are prepared once per connection and kept (sqlx's
    /// default), rather than unnamed.
    pub(crate) persistent: bool,
    pub(crate) policy: Option<Box<dyn Policy>>,
    pub(crate) audit: Option<Arc<dyn AuditSink>>,
    pub(crate) audit_failures: AtomicU64,
    #[cfg_attr(not(feature = "claims"), allow(dead_code))]
    pub(crate) claim_key: Option<Vec<u8>>,
}

impl<DB: Database> Clone for Db<DB> {
    fn clone(&self) -> Self {
        Db {
            pool: self.pool.clone(),
            settings: self.settings.clone(),
            unscoped_pool: self.unscoped_pool.clone(),
            pins: self.pins.clone(),
            raw_exec: self.raw_exec,
        }
    }
}

impl<DB: Database> std::fmt::Debug for Db<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("pool", &self.pool)
            .field("policy", &self.settings.policy.is_some())
            .field("audit", &self.settings.audit.is_some())
            .finish()
    }
}

/// Builds a [`Db`] with a policy, an audit sink and a job-claim key.
///
/// `Mode` is [`PlainMode`] until [`row_level_security`](DbBuilder::row_level_security)
/// makes it [`RlsMode`]: a builder in RLS mode has no `build()`, so that the isolation
/// audit runs at startup unless the code says otherwise
/// ([`build_verified`](DbBuilder::build_verified), or `build_unverified`).
#[must_use]
pub struct DbBuilder<DB: Database, Mode = PlainMode> {
    mode: std::marker::PhantomData<Mode>,
    pool: Pool<DB>,
    rls: Option<crate::Rls>,
    unscoped_pool: Option<Pool<DB>>,
    pins: Option<Arc<Pins<DB>>>,
    raw_exec: Option<RawExec<DB>>,
    persistent: bool,
    policy: Option<Box<dyn Policy>>,
    audit: Option<Arc<dyn AuditSink>>,
    claim_key: Option<Vec<u8>>,
}

/// The mode of a [`DbBuilder`] without row-level security: it has [`build`](DbBuilder::build).
#[derive(Debug)]
pub enum PlainMode {}

/// The mode of a [`DbBuilder`] after [`row_level_security`](DbBuilder::row_level_security):
/// it finishes with [`build_verified`](DbBuilder::build_verified), which audits the database
/// first.
#[derive(Debug)]
pub enum RlsMode {}

impl<DB: Database, Mode> DbBuilder<DB, Mode> {
    /// The policy every admission and call must pass (combine several with
    /// [`policy::all`](crate::policy::all)).
    pub fn policy(mut self, policy: impl Policy) -> Self {
        self.policy = Some(Box::new(policy));
        self
    }

    /// Where audit events go.
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Whether generated statements are prepared once per connection and kept there
    /// (`true`, sqlx's default: one round trip a call), or prepared unnamed for each call
    /// (`false`, as sqlx's `Query::persistent(false)`).
    ///
    /// Behind a transaction pooler that does not track prepared statements (PgBouncer
    /// before 1.21, or without `max_prepared_statements`), a kept statement is on one
    /// server connection and the next call may get another: set `false` there, and run
    /// calls in transactions ([`Rls::per_transaction`](crate::Rls::per_transaction) does),
    /// since PgBouncer may also give a statement's prepare and its execution to two server
    /// connections outside one.
    pub fn persistent_statements(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// The secret that signs job claims (at least 32 bytes; keep it out of the code).
    pub fn claim_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.claim_key = Some(key.into());
        self
    }

    fn finish(self) -> Db<DB> {
        Db {
            pool: self.pool,
            unscoped_pool: self.unscoped_pool,
            pins: self.pins,
            raw_exec: self.raw_exec,
            settings: Arc::new(Settings {
                rls: self.rls,
                persistent: self.persistent,
                policy: self.policy,
                audit: self.audit,
                audit_failures: AtomicU64::new(0),
                claim_key: self.claim_key,
            }),
        }
    }
}

/// The builder modes that may finish without the isolation audit: [`PlainMode`] only.
#[diagnostic::on_unimplemented(
    message = "a `Db` in row-level security mode starts through the isolation audit, which `build()` would skip",
    label = "`build()` is for a `Db` without row-level security",
    note = "finish with `.build_verified(&XRepo::<Postgres>::tenant_tables()).await?`, which refuses to start on a finding",
    note = "or with `.build_unverified()` to skip the audit knowingly"
)]
pub trait BuildsWithoutAudit: sealed::Sealed {}

// Not offered in the error: the trait's notes say how to finish instead.
#[diagnostic::do_not_recommend]
impl BuildsWithoutAudit for PlainMode {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::PlainMode {}
}

impl<DB: Database, Mode> DbBuilder<DB, Mode> {
    /// The finished `Db`. (The bound is the method's, not the impl's, so that calling it
    /// in RLS mode is the trait's message rather than "method not found".)
    pub fn build(self) -> Db<DB>
    where
        Mode: BuildsWithoutAudit,
    {
        self.finish()
    }
}

#[cfg(feature = "postgres")]
impl DbBuilder<sqlx::Postgres, PlainMode> {
    /// Runs every scoped call and transaction with the tenant set, on a connection
    /// pinned to it or transaction-locally, so that PostgreSQL's row-level security
    /// policies confine it too (see [`Rls`](crate::Rls)).
    ///
    /// The pool's role must not own the tables, be superuser or have `BYPASSRLS`. A
    /// `ScopeSet` read is refused (the setting holds one tenant), and `#[unscoped]`
    /// methods need [`unscoped_pool`](DbBuilder::unscoped_pool). Pinned connections are
    /// opened with the pool's connect and pool options (its `after_connect` too), at most
    /// [`Pinning::connections_per_tenant`](crate::Pinning::connections_per_tenant) each.
    ///
    /// The builder then finishes with [`build_verified`](DbBuilder::build_verified): the
    /// service refuses to start when the database would not confine SQL outside the
    /// repositories.
    pub fn row_level_security(mut self, rls: crate::Rls) -> DbBuilder<sqlx::Postgres, RlsMode> {
        self.pins = rls.pinning().map(|limits| {
            let connect = self.pool.connect_options();
            let options = self.pool.options().clone();
            let setting = rls.setting_name().to_string();
            let open: crate::pins::OpenPool<sqlx::Postgres> = Box::new(move |tenant, limits| {
                options
                    .clone()
                    .max_connections(limits.per_tenant())
                    .min_connections(0)
                    .idle_timeout(limits.idle())
                    .connect_lazy_with((*connect).clone().options([(setting.as_str(), tenant)]))
            });
            Arc::new(Pins::new(rls.setting_name().to_string(), limits.clone(), open, read_setting))
        });
        self.rls = Some(rls);
        DbBuilder {
            mode: std::marker::PhantomData,
            pool: self.pool,
            rls: self.rls,
            unscoped_pool: self.unscoped_pool,
            pins: self.pins,
            raw_exec: Some(raw_exec),
            persistent: self.persistent,
            policy: self.policy,
            audit: self.audit,
            claim_key: self.claim_key,
        }
    }
}

#[cfg(feature = "postgres")]
impl DbBuilder<sqlx::Postgres, RlsMode> {
    /// The pool `#[unscoped]` methods run on under row-level security: one whose role
    /// bypasses the policies (`BYPASSRLS`, or the tables' owner), so that reading across
    /// tenants is a separate, audited path and never RLS turned off on a shared
    /// connection.
    pub fn unscoped_pool(mut self, pool: Pool<sqlx::Postgres>) -> Self {
        self.unscoped_pool = Some(pool);
        self
    }

    /// The finished `Db`, after [`Db::verify_isolation`] of `tables` found nothing: the
    /// way to start a service in row-level security mode, which refuses to start (with
    /// [`Error::Isolation`](crate::Error::Isolation) listing each finding and its fix)
    /// when the database would not confine SQL outside the repositories.
    /// `XRepo::<Postgres>::tenant_tables()` lists a repository's tables.
    pub async fn build_verified(self, tables: &[crate::TenantTable]) -> Result<Db<sqlx::Postgres>> {
        let db = self.finish();
        db.verify_isolation(tables).await?.into_result()?;
        Ok(db)
    }

    /// The finished `Db` without the isolation audit: for a service that runs
    /// [`Db::verify_isolation`] itself (or a test of a misconfigured database). Its calls
    /// are confined by the policies only if the database is configured as the audit checks.
    pub fn build_unverified(self) -> Db<sqlx::Postgres> {
        self.finish()
    }
}

/// Runs a simple query on `conn` (see [`RawExec`]).
#[cfg(feature = "postgres")]
fn raw_exec<'c>(
    conn: &'c mut sqlx::PgConnection,
    sql: &'c str,
) -> crate::BoxFuture<'c, std::result::Result<(), sqlx::Error>> {
    Box::pin(async move { sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(conn).await.map(drop) })
}

/// What `name` holds on `conn`, and whether the server is a Citus coordinator: how a
/// pinned pool checks that its tenant reached the server. A simple query (the name is
/// checked by [`Rls::setting`](crate::Rls::setting)): it leaves no prepared statement
/// behind, should a pooler share the connection.
#[cfg(feature = "postgres")]
fn read_setting<'c>(
    conn: &'c mut sqlx::PgConnection,
    name: &'c str,
) -> crate::BoxFuture<'c, std::result::Result<crate::pins::PinCheck, sqlx::Error>> {
    use sqlx::Row;
    let sql = format!("SELECT current_setting('{name}', true), current_setting('citus.version', true) IS NOT NULL");
    Box::pin(async move {
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_one(conn).await?;
        Ok(crate::pins::PinCheck { found: row.try_get(0)?, citus: row.try_get(1)? })
    })
}

impl<DB: Database> Db<DB> {
    /// Wraps an existing pool, with no policy and no audit sink.
    pub fn new(pool: Pool<DB>) -> Self {
        Db::builder(pool).build()
    }

    /// Starts a `Db` with settings.
    pub fn builder(pool: Pool<DB>) -> DbBuilder<DB> {
        DbBuilder {
            mode: std::marker::PhantomData,
            pool,
            rls: None,
            unscoped_pool: None,
            pins: None,
            raw_exec: None,
            persistent: true,
            policy: None,
            audit: None,
            claim_key: None,
        }
    }

    /// Opens a pool on `url` with sqlx's default options.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Db::new(Pool::connect(url).await?))
    }

    /// The underlying pool, for migrations and code outside repositories.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Whether `other` is this `Db` or a clone of it (one pool, one policy, one audit).
    pub(crate) fn is_same(&self, other: &Db<DB>) -> bool {
        Arc::ptr_eq(&self.settings, &other.settings)
    }

    /// Closes the pool: waits for the connections in use to come back and closes every
    /// connection. Afterwards every repository call fails with [`Error::Query`] (sqlx's
    /// `PoolClosed`) and [`Db::begin`] with [`Error::Database`]; guards can still be made,
    /// since they need no connection. Clones of this `Db` share the pool, so they are
    /// closed too.
    ///
    /// ```
    /// # async fn demo() -> tenantry::Result<()> {
    /// let db: tenantry::Db<sqlx::Sqlite> = tenantry::Db::connect("sqlite::memory:").await?;
    /// db.close().await;
    /// assert!(db.is_closed());
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn close(&self) {
        if let Some(pins) = &self.pins {
            pins.close().await;
        }
        self.pool.close().await;
    }

    /// Whether [`Db::close`] was called (on this `Db` or a clone).
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// How many audit events a sink failed to record (see [`crate::audit`]).
    pub fn audit_failures(&self) -> u64 {
        self.settings.audit_failures.load(Ordering::Relaxed)
    }

    /// Admits `tenant` and returns the guard that confines repository calls to it.
    ///
    /// Runs the policy's synchronous part; a policy that decides asynchronously is
    /// asked before every call instead (use [`Db::admit`] to ask it now).
    pub fn scope<K: TenantKey>(&self, tenant: K) -> Result<Scope<K>> {
        let key = tenant.key_str();
        let access = Access { tenant: Some(&key), action: Action::Admit };
        if let Some(policy) = &self.settings.policy
            && let Verdict::Deny(reason) = policy.check(&access)
        {
            return Err(self.denied_admission(&key, reason));
        }
        self.record(Some(&key), AuditKind::ScopeCreated);
        drop(key);
        Ok(Scope::new(tenant))
    }

    /// Like [`Db::scope`], but also waits for asynchronous policies.
    pub async fn admit<K: TenantKey>(&self, tenant: K) -> Result<Scope<K>> {
        let key = tenant.key_str().into_owned();
        let access = Access { tenant: Some(&key), action: Action::Admit };
        if let Some(policy) = &self.settings.policy {
            let outcome = match policy.check(&access) {
                Verdict::Allow => Ok(()),
                Verdict::Deny(reason) => Err(reason),
                Verdict::Async => policy.check_async(&access).await,
            };
            if let Err(reason) = outcome {
                return Err(self.denied_admission(&key, reason));
            }
        }
        self.record(Some(&key), AuditKind::ScopeCreated);
        Ok(Scope::new(tenant))
    }

    fn denied_admission(&self, tenant: &str, reason: String) -> Error {
        self.record(Some(tenant), AuditKind::ScopeDenied { reason: reason.clone() });
        Error::Denied { tenant: tenant.to_string(), repository: None, method: None, reason }
    }

    /// The audited escape hatch: a guard for `#[unscoped]` methods, which see every
    /// tenant. `reason` says why; it and the caller's source location are audited, and
    /// the policy is asked.
    #[track_caller]
    pub fn unscoped(&self, reason: &str) -> Result<Unscoped> {
        let location = Location::caller();
        if reason.trim().is_empty() {
            return Err(Error::MissingReason);
        }
        let access = Access { tenant: None, action: Action::Unscoped { reason } };
        if let Some(policy) = &self.settings.policy
            && let Verdict::Deny(denial) = policy.check(&access)
        {
            self.record(
                None,
                AuditKind::UnscopedDenied {
                    reason: reason.to_string(),
                    location: location.to_string(),
                    denial: denial.clone(),
                },
            );
            return Err(Error::Denied {
                tenant: "unscoped".to_string(),
                repository: None,
                method: None,
                reason: denial,
            });
        }
        self.record(None, AuditKind::Unscoped { reason: reason.to_string(), location: location.to_string() });
        Ok(Unscoped::new(reason, location))
    }

    /// Begins a transaction for `scope`'s tenant. The transaction is itself a guard:
    /// pass `&tx` to repository methods and they run on it, for that tenant only.
    /// `commit`/`rollback` consume it; dropping it rolls back.
    pub async fn begin<K: TenantKey>(&self, scope: &Scope<K>) -> Result<ScopedTx<DB, K>> {
        let (tx, lent) = match (&self.settings.rls, self.raw_exec) {
            (None, _) | (_, None) => (TxConn::Sqlx(self.pool.begin().await?), None),
            // Under RLS tenantry begins the transaction itself (see `OwnTx`): a begin
            // cancelled before its reply must not leave a tenant on a pooled connection.
            (Some(rls), Some(exec)) => {
                let tenant = scope.tenant().key_str();
                let pinned = match &self.pins {
                    Some(pins) => pins.acquire(&tenant).await?,
                    None => None,
                };
                match pinned {
                    Some(pinned) => (TxConn::Own(OwnTx::begin(pinned.conn, "BEGIN", exec).await?), Some(pinned.lent)),
                    None => {
                        let begin = rls.begin(&tenant).map_err(|r| sqlx::Error::Configuration(Box::new(r)))?;
                        (TxConn::Own(OwnTx::begin(self.pool.acquire().await?, &begin, exec).await?), None)
                    }
                }
            }
        };
        let key = scope.tenant().key_str();
        self.record(Some(&key), AuditKind::TxBegun);
        Ok(ScopedTx::new(scope.tenant().clone(), tx, lent, self.clone()))
    }

    /// How tenantry runs its own transactions, under row-level security.
    pub(crate) fn raw_exec(&self) -> Option<RawExec<DB>> {
        self.raw_exec
    }

    /// The tenants' own pools, under [`Rls::pinned`](crate::Rls::pinned).
    pub(crate) fn pins(&self) -> Option<&Pins<DB>> {
        self.pins.as_deref()
    }

    /// How many tenants have connections pinned to them now (0 unless the `Db` is in
    /// [`Rls::pinned`](crate::Rls::pinned) mode).
    pub fn pinned_tenants(&self) -> usize {
        self.pins.as_ref().map_or(0, |pins| pins.tenants())
    }

    /// The pool `#[unscoped]` methods bypass row-level security on, if any.
    pub(crate) fn unscoped_pool(&self) -> Option<&Pool<DB>> {
        self.unscoped_pool.as_ref()
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Sends an event to the sink, if there is one. A failing or panicking sink is
    /// counted and logged, never propagated.
    pub(crate) fn record(&self, tenant: Option<&str>, kind: AuditKind) {
        let Some(sink) = &self.settings.audit else { return };
        let event = AuditEvent { at: SystemTime::now(), tenant: tenant.map(str::to_string), kind };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.record(&event)));
        let failure = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the audit sink panicked".to_string(),
        };
        self.settings.audit_failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(target: "tenantry::audit", event = %event.kind, tenant = ?event.tenant, "{failure}");
    }
}
