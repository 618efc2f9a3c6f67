//! [`ScopeSet`]: several admitted tenants at once, for reads only (an operator console,
//! a parent organisation's dashboard).

// The guard impls are per backend feature: built with none, the set has no reader.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")), allow(unused_imports, dead_code))]

use std::fmt;
use std::sync::Arc;

use sqlx::Database;

use crate::audit::AuditKind;
use crate::guard::{ReadGuard, View, Who, sealed};
use crate::policy::{Access, Action, Verdict};
use crate::{Db, Error, KeyKind, KeyValue, Result, TenantId, TenantKey};

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
    inner: Arc<(Vec<K>, SetInner)>,
}

/// The set as every backend binds it, apart from the key type.
#[doc(hidden)]
pub struct SetInner {
    pub(crate) keys: Vec<String>,
    pub(crate) shown: String,
    /// The set as SQLite binds it.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) json: String,
    /// The set as MySQL binds it.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) csv: String,
    /// The set as PostgreSQL binds it: an array of the key's type.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) array: KeyArray,
}

/// The keys of a set as one typed array (empty sets included: `ANY($1)` needs the
/// column's element type either way).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) enum KeyArray {
    Text(Vec<String>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    #[cfg(feature = "uuid")]
    Uuid(Vec<uuid::Uuid>),
}

impl<K: TenantKey> ScopeSet<K> {
    pub(crate) fn new(tenants: Vec<K>) -> Self {
        let keys: Vec<String> = tenants.iter().map(|t| t.key_str().into_owned()).collect();
        let numeric = matches!(K::KIND, KeyKind::I64 | KeyKind::I32);
        let json_items: Vec<String> = keys
            .iter()
            .map(|k| if numeric { k.clone() } else { format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\"")) })
            .collect();
        // A key whose value is not of its type's kind is left out: the set then reads
        // less, never another tenant.
        let values = || tenants.iter().map(TenantKey::key_value);
        let array = match K::KIND {
            KeyKind::Text => KeyArray::Text(keys.clone()),
            KeyKind::I64 => {
                KeyArray::I64(values().filter_map(|v| if let KeyValue::I64(i) = v { Some(i) } else { None }).collect())
            }
            KeyKind::I32 => {
                KeyArray::I32(values().filter_map(|v| if let KeyValue::I32(i) = v { Some(i) } else { None }).collect())
            }
            #[cfg(feature = "uuid")]
            KeyKind::Uuid => KeyArray::Uuid(
                values().filter_map(|v| if let KeyValue::Uuid(u) = v { Some(u) } else { None }).collect(),
            ),
        };
        let inner = SetInner {
            shown: keys.join(","),
            json: format!("[{}]", json_items.join(",")),
            csv: keys.join(","),
            keys,
            array,
        };
        ScopeSet { inner: Arc::new((tenants, inner)) }
    }

    /// The tenants of the set.
    pub fn tenants(&self) -> &[K] {
        &self.inner.0
    }

    /// Whether the set holds no tenant (it then reads nothing).
    pub fn is_empty(&self) -> bool {
        self.inner.0.is_empty()
    }
}

impl<K: TenantKey> fmt::Debug for ScopeSet<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeSet").field("tenants", &self.inner.0).finish()
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

#[diagnostic::do_not_recommend]
impl<K: TenantKey> ReadGuard for ScopeSet<K> {
    fn admits(&self, tenant: &str) -> bool {
        self.inner.1.keys.iter().any(|k| k == tenant)
    }

    #[inline]
    fn view(&self) -> View<'_> {
        View { who: Who::Set(&self.inner.1), tx: None }
    }
}
