//! Guards for tests of code written against a repository trait, without a database
//! (feature `testing`; enable it in `[dev-dependencies]` only).
//!
//! A guard normally proves that a [`Db`](crate::Db) admitted the tenant: its policy ran
//! and its audit sink saw it. The guards made here skip both — there is no `Db` — which
//! is what a hand-written fake of a repository trait needs, and nothing else should:
//! keep the feature out of `[dependencies]` so that production code cannot call these.
//!
//! ```
//! use tenantry::{ReadGuard, TenantId, testing};
//!
//! let acme = testing::scope(TenantId::parse("acme")?);
//! assert_eq!(acme.tenant().as_str(), "acme");
//! let both = testing::scope_set([TenantId::parse("acme")?, TenantId::parse("globex")?]);
//! assert!(both.admits("globex"));
//! let admin = testing::unscoped("the fake's own bookkeeping");
//! assert_eq!(admin.reason(), "the fake's own bookkeeping");
//! # Ok::<(), tenantry::InvalidTenantId>(())
//! ```
//!
//! A repository call with these guards on a real repository runs like one with guards of
//! a `Db` without policy: confined to the guard's tenants, unaudited.

use std::panic::Location;

use crate::{Scope, ScopeSet, TenantKey, Unscoped};

/// A [`Scope`] for `tenant`, with no policy check and no audit event.
pub fn scope<K: TenantKey>(tenant: K) -> Scope<K> {
    Scope::new(tenant)
}

/// A [`ScopeSet`] of `tenants` (duplicates dropped), with no policy check and no audit
/// event.
pub fn scope_set<K: TenantKey + PartialEq>(tenants: impl IntoIterator<Item = K>) -> ScopeSet<K> {
    let mut unique: Vec<K> = Vec::new();
    for tenant in tenants {
        if !unique.contains(&tenant) {
            unique.push(tenant);
        }
    }
    ScopeSet::new(unique)
}

/// An [`Unscoped`] guard with `reason`, located at the caller; no policy check, no audit
/// event.
#[track_caller]
pub fn unscoped(reason: &str) -> Unscoped {
    Unscoped::new(reason, Location::caller())
}
