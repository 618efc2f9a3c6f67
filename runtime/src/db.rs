//! [`Db`]: the pool plus everything that decides who may get a guard.

use std::panic::Location;

use sqlx::{Database, Pool};

use crate::{Error, Result, Scope, TenantKey, Unscoped};

/// A sqlx pool wrapped with tenantry's settings; the only maker of guards.
///
/// Cheap to clone (`Pool` is reference-counted), `Send + Sync`.
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
}

impl<DB: Database> Clone for Db<DB> {
    fn clone(&self) -> Self {
        Db { pool: self.pool.clone() }
    }
}

impl<DB: Database> std::fmt::Debug for Db<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("pool", &self.pool).finish()
    }
}

impl<DB: Database> Db<DB> {
    /// Wraps an existing pool.
    pub fn new(pool: Pool<DB>) -> Self {
        Db { pool }
    }

    /// Opens a pool on `url` with sqlx's default options.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Db::new(Pool::connect(url).await?))
    }

    /// The underlying pool, for migrations and code outside repositories.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Admits `tenant` and returns the guard that confines repository calls to it.
    pub fn scope<K: TenantKey>(&self, tenant: K) -> Result<Scope<K>> {
        Ok(Scope::new(tenant))
    }

    /// The audited escape hatch: a guard for `#[unscoped]` methods, which see every
    /// tenant. `reason` says why, and the caller's source location is recorded.
    #[track_caller]
    pub fn unscoped(&self, reason: &str) -> Result<Unscoped> {
        if reason.trim().is_empty() {
            return Err(Error::MissingReason);
        }
        Ok(Unscoped::new(reason, Location::caller()))
    }
}
