//! Tenant-pinned connections: the fast row-level security mode ([`Rls::pinned`](crate::Rls::pinned)).
//!
//! A pinned connection is opened for one tenant with the setting as a startup parameter
//! (`options=-c tenantry.tenant=<tenant>`), so the policies see the tenant for the
//! connection's whole life and a call needs no extra round trip. Such a connection is
//! only ever lent to calls of its own tenant: a session setting is the classic RLS leak
//! only on a connection that the next tenant gets, and none does. Each pinned tenant has
//! a small pool of its own; the map of pools is bounded, the least recently used pool
//! whose connections are all idle gives way to a new tenant, and a call finding no pool
//! (every pinned pool busy) runs in per-transaction mode on the shared pool, which is
//! always correct, only slower.
//!
//! Pools are private to the `Db`: no code outside the generated methods can run SQL on
//! a pinned connection, and the analyser refuses `set_config` in a statement, so nothing
//! changes the setting after connect.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

use crate::{BoxFuture, RlsRefusal};

/// Limits of [`Rls::pinned`](crate::Rls::pinned): how many tenants keep connections of
/// their own, how many each, and how long an idle one stays open. At most
/// `tenants × connections_per_tenant` pinned connections are open at once, besides the
/// shared pool's.
///
/// ```
/// use std::time::Duration;
/// use tenantry::Pinning;
/// let pinning = Pinning::default().tenants(64).connections_per_tenant(4).idle_timeout(Duration::from_secs(30));
/// assert_eq!(pinning.max_connections(), 256);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinning {
    tenants: usize,
    per_tenant: u32,
    idle_timeout: Duration,
}

impl Default for Pinning {
    /// 16 tenants, 2 connections each, closed after 60 s idle.
    fn default() -> Self {
        Pinning { tenants: 16, per_tenant: 2, idle_timeout: Duration::from_secs(60) }
    }
}

impl Pinning {
    /// How many tenants keep pinned connections at once (at least 1).
    pub fn tenants(mut self, tenants: usize) -> Self {
        self.tenants = tenants.max(1);
        self
    }

    /// How many connections each pinned tenant may open (at least 1).
    pub fn connections_per_tenant(mut self, connections: u32) -> Self {
        self.per_tenant = connections.max(1);
        self
    }

    /// How long a pinned connection stays open unused.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    // Pools are only opened for PostgreSQL.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn per_tenant(&self) -> u32 {
        self.per_tenant
    }

    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn idle(&self) -> Duration {
        self.idle_timeout
    }

    /// The most pinned connections open at once.
    pub fn max_connections(&self) -> usize {
        self.tenants.saturating_mul(self.per_tenant as usize)
    }
}

/// Opens the pool of one tenant (lazily: it connects on first use).
pub(crate) type OpenPool<DB> = Box<dyn Fn(&str, &Pinning) -> Pool<DB> + Send + Sync>;

/// What a pinned connection's server says: the setting (whether the startup parameter
/// reached the server: a transaction pooler drops or ignores it, an `after_connect` may
/// overwrite it), and whether it is a Citus coordinator (whose workers would not see it).
#[derive(Debug)]
pub(crate) struct PinCheck {
    pub(crate) found: Option<String>,
    pub(crate) citus: bool,
}

/// Reads a [`PinCheck`] on a connection.
pub(crate) type ReadSetting<DB> =
    for<'c> fn(&'c mut <DB as Database>::Connection, &'c str) -> BoxFuture<'c, Result<PinCheck, sqlx::Error>>;

/// The pinned pools of a `Db`.
pub(crate) struct Pins<DB: Database> {
    setting: String,
    limits: Pinning,
    open: OpenPool<DB>,
    read_setting: ReadSetting<DB>,
    pools: Mutex<Pools<DB>>,
}

struct Pools<DB: Database> {
    /// Set by [`Pins::close`]: no pool is opened afterwards, so calls reach the closed
    /// shared pool and fail as on a plain `Db`.
    closed: bool,
    by_tenant: HashMap<String, Entry<DB>>,
    /// A use counter: the least recently used entry has the smallest `last_used`.
    clock: u64,
}

struct Entry<DB: Database> {
    pool: Pool<DB>,
    /// Connections lent and not yet given back, counted by tenantry itself: the pool's own
    /// count lags, since sqlx returns a dropped connection from a spawned task.
    lent: Arc<AtomicU32>,
    last_used: u64,
    /// Whether a connection of this pool was seen holding the tenant.
    verified: bool,
}

impl<DB: Database> Pins<DB> {
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn new(setting: String, limits: Pinning, open: OpenPool<DB>, read_setting: ReadSetting<DB>) -> Self {
        let pools = Mutex::new(Pools { closed: false, by_tenant: HashMap::new(), clock: 0 });
        Pins { setting, limits, open, read_setting, pools }
    }

    /// A connection pinned to `tenant`, unless all it may have are lent (or no place is
    /// free for a new tenant): `None` sends the call to per-transaction mode.
    pub(crate) async fn acquire(&self, tenant: &str) -> Result<Option<Pinned<DB>>, sqlx::Error> {
        match self.lend(tenant).await? {
            Some((pool, lent)) => Ok(Some(Pinned { conn: Box::pin(pool.acquire()).await?, lent })),
            None => Ok(None),
        }
    }

    /// The pool pinned to `tenant` and one of its connections counted as lent.
    async fn lend(&self, tenant: &str) -> Result<Option<(Pool<DB>, Lent)>, sqlx::Error> {
        // A NUL cannot be a startup parameter; per-transaction mode refuses it.
        if tenant.contains('\0') {
            return Ok(None);
        }
        let Some((pool, lent, verified)) = self.entry(tenant) else { return Ok(None) };
        // Every connection lent: waiting for one would queue this tenant behind itself
        // (a transaction of its own may hold it) while the shared pool may be idle.
        let max = self.limits.per_tenant;
        if lent.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).is_err() {
            return Ok(None);
        }
        let lent = Lent(lent);
        if !verified {
            let mut conn = Box::pin(pool.acquire()).await?;
            let PinCheck { found, citus } = (self.read_setting)(&mut conn, &self.setting).await?;
            if citus {
                return Err(sqlx::Error::Configuration(Box::new(RlsRefusal::PinnedOnCitus)));
            }
            if found.as_deref() != Some(tenant) {
                tracing::error!(target: "tenantry", tenant, setting = %self.setting, ?found, "a pinned connection does not hold its tenant");
                return Err(sqlx::Error::Configuration(Box::new(RlsRefusal::PinNotHeld)));
            }
            if let Some(entry) = self.lock().by_tenant.get_mut(tenant) {
                entry.verified = true;
            }
        }
        Ok(Some((pool, lent)))
    }

    /// Finds or makes `tenant`'s entry, evicting the least recently used pool with no
    /// connection lent when the map is full; `None` when every pool has one lent.
    fn entry(&self, tenant: &str) -> Option<(Pool<DB>, Arc<AtomicU32>, bool)> {
        let mut pools = self.lock();
        if pools.closed {
            return None;
        }
        pools.clock += 1;
        let now = pools.clock;
        if let Some(entry) = pools.by_tenant.get_mut(tenant) {
            entry.last_used = now;
            return Some((entry.pool.clone(), entry.lent.clone(), entry.verified));
        }
        if pools.by_tenant.len() >= self.limits.tenants {
            let unused = |e: &Entry<DB>| e.lent.load(Ordering::Acquire) == 0;
            let victim = pools.by_tenant.iter().filter(|(_, e)| unused(e)).min_by_key(|(_, e)| e.last_used);
            let victim = victim.map(|(t, _)| t.clone())?;
            // Dropping the last handle closes its idle connections.
            pools.by_tenant.remove(&victim);
        }
        let pool = (self.open)(tenant, &self.limits);
        let lent = Arc::new(AtomicU32::new(0));
        let entry = Entry { pool: pool.clone(), lent: lent.clone(), last_used: now, verified: false };
        pools.by_tenant.insert(tenant.to_string(), entry);
        Some((pool, lent, false))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pools<DB>> {
        // The map holds no invariant a panic could break halfway.
        self.pools.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many tenants have a pinned pool now.
    pub(crate) fn tenants(&self) -> usize {
        self.lock().by_tenant.len()
    }

    /// Closes every pinned pool.
    pub(crate) async fn close(&self) {
        let pools: Vec<Pool<DB>> = {
            let mut pools = self.lock();
            pools.closed = true;
            pools.by_tenant.drain().map(|(_, e)| e.pool).collect()
        };
        for pool in pools {
            pool.close().await;
        }
    }
}

/// A pinned connection lent to one call.
pub(crate) struct Pinned<DB: Database> {
    pub(crate) conn: PoolConnection<DB>,
    pub(crate) lent: Lent,
}

/// One connection of a pinned pool counted as lent until this is dropped (after the
/// connection or transaction holding it).
pub(crate) struct Lent(Arc<AtomicU32>);

impl Drop for Lent {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
