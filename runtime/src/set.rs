//! [`ScopeSet`]: several admitted tenants at once, for reads only (an operator console,
//! a parent organisation's dashboard).

// The guard impls are per backend feature: built with none, the set has no reader.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")), allow(unused_imports, dead_code))]

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use sqlx::Database;

use crate::audit::AuditKind;
use crate::guard::{Conn, RawQuery, RawRows, ReadGuard, Subject, Tenants, sealed};
use crate::policy::{Access, Action, Verdict};
use crate::{Db, Error, Result, TenantId, TenantKey};

/// A read-only guard for several tenants, made by [`Db::scope_set`]; every tenant in it
/// passed the policy.
///
/// Accepted only by methods whose statement reads and compares each tenant column with
/// `:tenant` in a WHERE or JOIN ON: generated code then confines the statement to exactly
/// these tenants (`tenant_id = ANY($1)` on PostgreSQL, `IN (SELECT value FROM
/// json_each(?))` on SQLite, `FIND_IN_SET(tenant_id, ?)` on MySQL). An empty set reads
/// nothing. A method that writes does not accept it: that is a compile error.
///
/// On SQLite and MySQL the set binds as text, so it matches text and integer tenant
/// columns; UUID keys stored as bytes are matched by sets on PostgreSQL only.
#[derive(Clone)]
pub struct ScopeSet<K: TenantKey = TenantId> {
    inner: Arc<Inner<K>>,
}

struct Inner<K> {
    tenants: Vec<K>,
    keys: Vec<String>,
    shown: String,
    /// The set as SQLite binds it.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    json: String,
    /// The set as MySQL binds it.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    csv: String,
}

impl<K: TenantKey> ScopeSet<K> {
    pub(crate) fn new(tenants: Vec<K>) -> Self {
        let keys: Vec<String> = tenants.iter().map(|t| t.key_str().into_owned()).collect();
        let json_items: Vec<String> =
            keys.iter()
                .map(|k| {
                    if K::NUMERIC { k.clone() } else { format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\"")) }
                })
                .collect();
        let inner = Inner {
            shown: keys.join(","),
            json: format!("[{}]", json_items.join(",")),
            csv: keys.join(","),
            keys,
            tenants,
        };
        ScopeSet { inner: Arc::new(inner) }
    }

    /// The tenants of the set.
    pub fn tenants(&self) -> &[K] {
        &self.inner.tenants
    }

    /// Whether the set holds no tenant (it then reads nothing).
    pub fn is_empty(&self) -> bool {
        self.inner.tenants.is_empty()
    }
}

impl<K: TenantKey> fmt::Debug for ScopeSet<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeSet").field("tenants", &self.inner.tenants).finish()
    }
}

impl<DB: Database> Db<DB> {
    /// Admits every tenant of `tenants` (each must pass the policy) and returns one guard
    /// for reading all of them. Duplicates are dropped.
    pub fn scope_set<K: TenantKey + PartialEq>(&self, tenants: impl IntoIterator<Item = K>) -> Result<ScopeSet<K>> {
        let mut admitted: Vec<K> = Vec::new();
        for tenant in tenants {
            if admitted.contains(&tenant) {
                continue;
            }
            let key = tenant.key_str();
            let access = Access { tenant: Some(&key), action: Action::Admit };
            if let Some(policy) = &self.settings().policy
                && let Verdict::Deny(reason) = policy.check(&access)
            {
                self.record(Some(&key), AuditKind::ScopeDenied { reason: reason.clone() });
                return Err(Error::Denied { tenant: key.into_owned(), repository: None, method: None, reason });
            }
            self.record(Some(&key), AuditKind::ScopeCreated);
            drop(key);
            admitted.push(tenant);
        }
        Ok(ScopeSet::new(admitted))
    }
}

impl<K: TenantKey> sealed::Sealed for ScopeSet<K> {}

/// One `ReadGuard` impl per backend: they differ only in how the set binds.
macro_rules! set_guard {
    ($feature:literal, $db:ty, $set:ty, |$this:ident| $bind:expr, $($bound:tt)*) => {
        #[cfg(feature = $feature)]
        #[diagnostic::do_not_recommend]
        impl<K> ReadGuard<$db> for ScopeSet<K>
        where
            K: TenantKey + for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db>,
            $($bound)*
        {
            type Tenant = K;
            type Set = $set;

            fn admits(&self, tenant: &str) -> bool {
                self.inner.keys.iter().any(|k| k == tenant)
            }

            fn tenants(&self) -> Tenants<'_, K, $set> {
                let $this = &*self.inner;
                Tenants::Set($bind)
            }

            fn subject(&self) -> Subject<'_> {
                Subject::Set(&self.inner.keys)
            }

            fn shown(&self) -> &(dyn fmt::Display + Sync) {
                &self.inner.shown
            }

            fn connection<'c>(
                &'c self,
                db: &'c Db<$db>,
            ) -> impl Future<Output = std::result::Result<Conn<'c, $db>, sqlx::Error>> + Send {
                let acquire = Box::pin(db.pool().acquire());
                async move { Ok(Conn::Pooled(acquire.await?)) }
            }

            fn fetch<'a>(&'a self, db: &'a Db<$db>, query: RawQuery<'a, $db>) -> RawRows<'a, $db> {
                query.fetch(db.pool())
            }
        }
    };
}

// PostgreSQL binds the keys as an array: `tenant_id = ANY($1)`.
set_guard!("postgres", sqlx::Postgres, Vec<K>, |s| &s.tenants, Vec<K>: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,);
// SQLite reads a JSON array: `tenant_id IN (SELECT value FROM json_each(?))`.
set_guard!("sqlite", sqlx::Sqlite, String, |s| &s.json,);
// MySQL matches a comma-separated list: `FIND_IN_SET(tenant_id, ?)`; tenant ids hold no comma.
set_guard!("mysql", sqlx::MySql, String, |s| &s.csv,);
