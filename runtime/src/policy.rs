//! Policies: decisions taken before any SQL runs, on top of the type-level rule that no
//! guard means no query.
//!
//! A [`Policy`] sees every admission (`db.scope`), every repository call (with whether
//! its statement writes), every unscoped guard and every job claim redeemed. Built-ins
//! compose with [`all`] and [`any`]. Most policies decide synchronously; one that must
//! look something up returns [`Verdict::Async`] and is asked again with
//! [`Policy::check_async`].

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

/// What is being asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action<'a> {
    /// A scope is being created for the tenant.
    Admit,
    /// A repository method is about to run.
    Call {
        /// The repository trait.
        repository: &'static str,
        /// The method.
        method: &'static str,
        /// Whether its statement can change rows.
        writes: bool,
    },
    /// An unscoped guard is being created.
    Unscoped {
        /// The reason given.
        reason: &'a str,
    },
}

impl Action<'_> {
    /// Whether this action can change rows.
    pub fn writes(&self) -> bool {
        matches!(self, Action::Call { writes: true, .. })
    }
}

/// One request a policy decides on.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// The tenant as text; `None` for unscoped access.
    pub tenant: Option<&'a str>,
    /// What is asked.
    pub action: Action<'a>,
}

/// A synchronous decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Refuse, with the reason (it reaches the caller's error and the audit trail).
    Deny(String),
    /// This policy decides asynchronously: call [`Policy::check_async`].
    Async,
}

/// The future of an asynchronous decision.
pub type PolicyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Decides whether an access may go ahead. Runs before any SQL.
pub trait Policy: Send + Sync + 'static {
    /// Decides at once, or returns [`Verdict::Async`].
    fn check(&self, access: &Access<'_>) -> Verdict;

    /// The asynchronous decision, asked only after [`Verdict::Async`]. `Err` is the reason
    /// for a denial.
    fn check_async<'a>(&'a self, access: &'a Access<'a>) -> PolicyFuture<'a> {
        let verdict = self.check(access);
        Box::pin(async move {
            match verdict {
                Verdict::Deny(reason) => Err(reason),
                Verdict::Allow | Verdict::Async => Ok(()),
            }
        })
    }
}

/// A set of tenants that can change while the application runs (a tenant gets
/// suspended without a restart). Clones share the set.
#[derive(Debug, Clone, Default)]
pub struct TenantSet(Arc<RwLock<HashSet<String>>>);

impl TenantSet {
    /// A set holding `tenants`.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(tenants: I) -> Self {
        TenantSet(Arc::new(RwLock::new(tenants.into_iter().map(Into::into).collect())))
    }

    /// Adds a tenant.
    pub fn insert(&self, tenant: impl Into<String>) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).insert(tenant.into());
    }

    /// Removes a tenant.
    pub fn remove(&self, tenant: &str) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).remove(tenant);
    }

    /// Whether the set holds `tenant`.
    pub fn contains(&self, tenant: &str) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).contains(tenant)
    }
}

/// Denies every access of a suspended tenant.
///
/// ```
/// use tenantry::policy::{Access, Action, Policy, Verdict, DenySuspended, TenantSet};
/// let suspended = TenantSet::new(["initech"]);
/// let policy = DenySuspended(suspended.clone());
/// let ask = |t| policy.check(&Access { tenant: Some(t), action: Action::Admit });
/// assert_eq!(ask("acme"), Verdict::Allow);
/// assert!(matches!(ask("initech"), Verdict::Deny(_)));
/// suspended.remove("initech");
/// assert_eq!(ask("initech"), Verdict::Allow);
/// ```
#[derive(Debug, Clone)]
pub struct DenySuspended(pub TenantSet);

impl Policy for DenySuspended {
    fn check(&self, access: &Access<'_>) -> Verdict {
        match access.tenant {
            Some(t) if self.0.contains(t) => Verdict::Deny(format!("tenant `{t}` is suspended")),
            _ => Verdict::Allow,
        }
    }
}

/// Refuses writes of read-only tenants (reads still work).
#[derive(Debug, Clone)]
pub struct ReadOnly(pub TenantSet);

impl Policy for ReadOnly {
    fn check(&self, access: &Access<'_>) -> Verdict {
        match access.tenant {
            Some(t) if access.action.writes() && self.0.contains(t) => {
                Verdict::Deny(format!("tenant `{t}` is read-only"))
            }
            _ => Verdict::Allow,
        }
    }
}

/// Admits only the listed tenants (unscoped access is left to other policies).
#[derive(Debug, Clone)]
pub struct AllowList(pub TenantSet);

impl Policy for AllowList {
    fn check(&self, access: &Access<'_>) -> Verdict {
        match access.tenant {
            Some(t) if !self.0.contains(t) => Verdict::Deny(format!("tenant `{t}` is not on the allow list")),
            _ => Verdict::Allow,
        }
    }
}

/// Refuses every unscoped guard: for services that must never read across tenants.
#[derive(Debug, Clone, Copy)]
pub struct DenyUnscoped;

impl Policy for DenyUnscoped {
    fn check(&self, access: &Access<'_>) -> Verdict {
        match access.action {
            Action::Unscoped { .. } => Verdict::Deny("unscoped access is disabled".to_string()),
            _ => Verdict::Allow,
        }
    }
}

/// A policy from a closure: `Ok(())` allows, `Err(reason)` denies.
///
/// ```
/// use tenantry::policy::{from_fn, Access, Action, Policy, Verdict};
/// let no_writes_on_sunday = from_fn(|a: &Access<'_>| if a.action.writes() { Err("closed".into()) } else { Ok(()) });
/// assert_eq!(no_writes_on_sunday.check(&Access { tenant: Some("acme"), action: Action::Admit }), Verdict::Allow);
/// ```
pub fn from_fn<F>(f: F) -> FnPolicy<F>
where
    F: Fn(&Access<'_>) -> Result<(), String> + Send + Sync + 'static,
{
    FnPolicy(f)
}

/// See [`from_fn`].
pub struct FnPolicy<F>(F);

impl<F> Policy for FnPolicy<F>
where
    F: Fn(&Access<'_>) -> Result<(), String> + Send + Sync + 'static,
{
    fn check(&self, access: &Access<'_>) -> Verdict {
        match (self.0)(access) {
            Ok(()) => Verdict::Allow,
            Err(reason) => Verdict::Deny(reason),
        }
    }
}

/// A policy from an async closure (e.g. one that looks the tenant up): it receives the
/// tenant (if any) and the action's kind, owned, and returns `Ok(())` or `Err(reason)`.
pub fn from_async_fn<F, Fut>(f: F) -> AsyncFnPolicy<F>
where
    F: Fn(Option<String>, OwnedAction) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    AsyncFnPolicy(f)
}

/// An owned copy of an [`Action`], for async policies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedAction {
    /// See [`Action::Admit`].
    Admit,
    /// See [`Action::Call`].
    Call {
        /// The repository trait.
        repository: &'static str,
        /// The method.
        method: &'static str,
        /// Whether it writes.
        writes: bool,
    },
    /// See [`Action::Unscoped`].
    Unscoped {
        /// The reason given.
        reason: String,
    },
}

impl From<Action<'_>> for OwnedAction {
    fn from(a: Action<'_>) -> Self {
        match a {
            Action::Admit => OwnedAction::Admit,
            Action::Call { repository, method, writes } => OwnedAction::Call { repository, method, writes },
            Action::Unscoped { reason } => OwnedAction::Unscoped { reason: reason.to_string() },
        }
    }
}

/// See [`from_async_fn`].
pub struct AsyncFnPolicy<F>(F);

impl<F, Fut> Policy for AsyncFnPolicy<F>
where
    F: Fn(Option<String>, OwnedAction) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn check(&self, _access: &Access<'_>) -> Verdict {
        Verdict::Async
    }

    fn check_async<'a>(&'a self, access: &'a Access<'a>) -> PolicyFuture<'a> {
        Box::pin((self.0)(access.tenant.map(str::to_string), access.action.into()))
    }
}

/// Allows only what every policy allows.
pub fn all(policies: Vec<Box<dyn Policy>>) -> All {
    All(policies)
}

/// See [`all`].
pub struct All(Vec<Box<dyn Policy>>);

impl Policy for All {
    fn check(&self, access: &Access<'_>) -> Verdict {
        let mut pending = false;
        for p in &self.0 {
            match p.check(access) {
                Verdict::Allow => {}
                Verdict::Deny(reason) => return Verdict::Deny(reason),
                Verdict::Async => pending = true,
            }
        }
        if pending { Verdict::Async } else { Verdict::Allow }
    }

    fn check_async<'a>(&'a self, access: &'a Access<'a>) -> PolicyFuture<'a> {
        Box::pin(async move {
            for p in &self.0 {
                match p.check(access) {
                    Verdict::Allow => {}
                    Verdict::Deny(reason) => return Err(reason),
                    Verdict::Async => p.check_async(access).await?,
                }
            }
            Ok(())
        })
    }
}

/// Allows what at least one policy allows; denies with every reason otherwise.
pub fn any(policies: Vec<Box<dyn Policy>>) -> Any {
    Any(policies)
}

/// See [`any`].
pub struct Any(Vec<Box<dyn Policy>>);

impl Policy for Any {
    fn check(&self, access: &Access<'_>) -> Verdict {
        let mut reasons = Vec::new();
        let mut pending = false;
        for p in &self.0 {
            match p.check(access) {
                Verdict::Allow => return Verdict::Allow,
                Verdict::Deny(reason) => reasons.push(reason),
                Verdict::Async => pending = true,
            }
        }
        if pending {
            Verdict::Async
        } else if reasons.is_empty() {
            Verdict::Deny("no policy allowed the access".to_string())
        } else {
            Verdict::Deny(reasons.join("; "))
        }
    }

    fn check_async<'a>(&'a self, access: &'a Access<'a>) -> PolicyFuture<'a> {
        Box::pin(async move {
            let mut reasons = Vec::new();
            for p in &self.0 {
                let outcome = match p.check(access) {
                    Verdict::Allow => Ok(()),
                    Verdict::Deny(reason) => Err(reason),
                    Verdict::Async => p.check_async(access).await,
                };
                match outcome {
                    Ok(()) => return Ok(()),
                    Err(reason) => reasons.push(reason),
                }
            }
            Err(if reasons.is_empty() { "no policy allowed the access".to_string() } else { reasons.join("; ") })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(tenant: &str, writes: bool) -> Access<'_> {
        Access { tenant: Some(tenant), action: Action::Call { repository: "R", method: "m", writes } }
    }

    #[test]
    fn read_only_refuses_writes_only() {
        let p = ReadOnly(TenantSet::new(["acme"]));
        assert_eq!(p.check(&call("acme", false)), Verdict::Allow);
        assert_eq!(p.check(&call("acme", true)), Verdict::Deny("tenant `acme` is read-only".into()));
        assert_eq!(p.check(&call("globex", true)), Verdict::Allow);
    }

    #[test]
    fn all_denies_with_the_first_reason_and_any_allows_with_one() {
        let deny = || -> Box<dyn Policy> { Box::new(DenySuspended(TenantSet::new(["acme"]))) };
        let allow = || -> Box<dyn Policy> { Box::new(from_fn(|_| Ok(()))) };
        assert_eq!(
            all(vec![allow(), deny()]).check(&call("acme", false)),
            Verdict::Deny("tenant `acme` is suspended".into())
        );
        assert_eq!(any(vec![deny(), allow()]).check(&call("acme", false)), Verdict::Allow);
        assert!(matches!(any(vec![deny(), deny()]).check(&call("acme", false)), Verdict::Deny(_)));
    }

    #[tokio::test]
    async fn async_policies_are_asked_after_the_sync_ones() {
        let lookup = from_async_fn(|tenant: Option<String>, _| async move {
            if tenant.as_deref() == Some("initech") { Err("unpaid".to_string()) } else { Ok(()) }
        });
        let p = all(vec![Box::new(AllowList(TenantSet::new(["acme", "initech"]))), Box::new(lookup)]);
        assert_eq!(p.check(&call("globex", false)), Verdict::Deny("tenant `globex` is not on the allow list".into()));
        assert_eq!(p.check(&call("acme", false)), Verdict::Async);
        assert_eq!(p.check_async(&call("acme", false)).await, Ok(()));
        assert_eq!(p.check_async(&call("initech", false)).await, Err("unpaid".to_string()));
    }
}
