//! Row-level security mode (PostgreSQL): the database itself refuses other tenants' rows.
//!
//! Two ways to give the policies the tenant:
//! - [`Rls::pinned`], for direct connections: calls of recently active tenants run on
//!   connections opened for that tenant alone, with the setting as a startup parameter
//!   (no extra round trip; see `pins.rs`), and every other call as below.
//! - [`Rls::per_transaction`], for connections through a transaction pooler such as
//!   PgBouncer, where a connection is no session.
//!
//! In per-transaction mode every scoped call runs in a transaction that begins
//! with the tenant set *transaction-locally*: `BEGIN; SET LOCAL
//! citus.propagate_set_commands = 'local'; SET LOCAL tenantry.tenant = E'<tenant>'` as one
//! simple query (one round trip; the Citus setting makes a Citus coordinator pass the
//! tenant to its workers), then the statement, then
//! `COMMIT`. A [`ScopedTx`](crate::ScopedTx) begins the same way, so every statement in it
//! runs under its tenant. The setting ends with the transaction, so a connection never
//! returns to the pool with a tenant on it: tenantry begins and ends these transactions
//! itself, and a call or transaction cancelled or dropped before its end closes its
//! connection (sqlx's own begin, cancelled before its reply, would return the connection
//! inside the transaction, tenant set). Nothing is a session
//! setting, which is why this mode is also correct behind PgBouncer in transaction pooling.
//!
//! Policies read the setting with `current_setting('tenantry.tenant', true)`; see
//! `tenantry_analyzer::schema::rls` for the migration that creates them.

use std::fmt;

use crate::Pinning;

/// The setting policies read the tenant from, unless [`Rls::setting`] names another.
pub const TENANT_SETTING: &str = "tenantry.tenant";

/// Row-level security mode for a PostgreSQL [`Db`](crate::Db), set with
/// [`DbBuilder::row_level_security`](crate::DbBuilder::row_level_security).
///
/// ```
/// use tenantry::Rls;
/// let rls = Rls::per_transaction();
/// assert_eq!(rls.setting_name(), "tenantry.tenant");
/// assert!(rls.pinning().is_none());
/// assert!(Rls::pinned(tenantry::Pinning::default()).pinning().is_some());
/// assert!(Rls::per_transaction().setting("app.tenant").is_ok());
/// assert!(Rls::per_transaction().setting("tenant'; DROP TABLE x; --").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rls {
    setting: String,
    pinning: Option<Pinning>,
}

impl Rls {
    /// The tenant is set per transaction (`SET LOCAL`), for every call: two
    /// more round trips a call, and correct behind a transaction pooler (PgBouncer's
    /// `pool_mode = transaction`), which this mode is for.
    pub fn per_transaction() -> Rls {
        Rls { setting: TENANT_SETTING.to_string(), pinning: None }
    }

    /// Tenant-pinned connections, for direct connections to PostgreSQL: each of the
    /// `pinning.tenants(..)` most recently active tenants gets connections of its own,
    /// opened with the setting as a startup parameter, so its calls cost what they cost
    /// without RLS plus the policy. A call of another tenant, or one finding its
    /// tenant's connections all busy, runs in per-transaction mode on the shared pool.
    ///
    /// Not for a transaction pooler: there a connection is no session. A tenant's first
    /// pinned connection is checked to hold its tenant; if it does not (the startup
    /// parameter was dropped, or an `after_connect` overwrote it) the call is refused
    /// with [`RlsRefusal::PinNotHeld`] rather than run.
    pub fn pinned(pinning: Pinning) -> Rls {
        Rls { setting: TENANT_SETTING.to_string(), pinning: Some(pinning) }
    }

    /// The limits of tenant-pinned connections, in [`Rls::pinned`] mode.
    pub fn pinning(&self) -> Option<&Pinning> {
        self.pinning.as_ref()
    }

    /// Names the setting the policies read (`prefix.name`, lower-case letters, digits and
    /// `_`), instead of `tenantry.tenant`.
    pub fn setting(self, name: &str) -> Result<Rls, InvalidSetting> {
        let part = |p: &str| {
            let mut chars = p.chars();
            chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        match name.split_once('.') {
            Some((prefix, rest)) if part(prefix) && part(rest) => Ok(Rls { setting: name.to_string(), ..self }),
            _ => Err(InvalidSetting(name.to_string())),
        }
    }

    /// The setting's name.
    pub fn setting_name(&self) -> &str {
        &self.setting
    }

    /// The statement that begins a transaction of `tenant`, one simple query:
    /// `BEGIN; SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL <setting> = E'<tenant>'`.
    ///
    /// `SET LOCAL` is `set_config(.., true)`; on a Citus coordinator it is also what reaches
    /// the workers, once `citus.propagate_set_commands` is `local` (set first: a setting
    /// made before is not propagated). Without Citus that name is an unused placeholder.
    /// The tenant is an escape string (backslashes and quotes doubled), which reads the
    /// same whatever `standard_conforming_strings` is.
    pub(crate) fn begin(&self, tenant: &str) -> Result<String, RlsRefusal> {
        if tenant.contains('\0') {
            return Err(RlsRefusal::UnquotableTenant);
        }
        let literal = tenant.replace('\\', "\\\\").replace('\'', "''");
        Ok(format!(
            "BEGIN; SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL {} = E'{literal}'",
            self.setting
        ))
    }
}

/// A setting name [`Rls::setting`] does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a setting name: write `prefix.name` in lower-case letters, digits and `_`")]
pub struct InvalidSetting(String);

/// Why a call is refused under row-level security, before any SQL: the source of the
/// [`Error::Query`](crate::Error::Query) it returns ([`Error::rls_refusal`](crate::Error::rls_refusal)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RlsRefusal {
    /// A [`ScopeSet`](crate::ScopeSet) read: the setting holds one tenant.
    Set,
    /// An `#[unscoped]` method, and the `Db` has no
    /// [`unscoped_pool`](crate::DbBuilder::unscoped_pool) to bypass the policies with.
    NoUnscopedPool,
    /// A tenant key that cannot be written as a string literal (it holds NUL).
    UnquotableTenant,
    /// In [`Rls::pinned`] mode, a connection opened for the tenant does not hold it: the
    /// startup parameter did not reach the server (a transaction pooler in front of it)
    /// or the pool's `after_connect` set the setting.
    PinNotHeld,
    /// [`Rls::pinned`] on a Citus coordinator: Citus does not pass a connection's startup
    /// parameters to the connections it opens to its workers, whose policies would see no
    /// tenant.
    PinnedOnCitus,
}

impl fmt::Display for RlsRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RlsRefusal::Set => {
                "a `ScopeSet` is not supported under row-level security: the tenant setting holds one tenant; read each tenant with its own `Scope`"
            }
            RlsRefusal::NoUnscopedPool => {
                "an unscoped method under row-level security needs a pool whose role may bypass the policies: `Db::builder(pool).unscoped_pool(admin_pool)`"
            }
            RlsRefusal::UnquotableTenant => "the tenant key holds a NUL character and cannot be set",
            RlsRefusal::PinnedOnCitus => {
                "tenant-pinned connections do not work on a Citus coordinator: Citus does not pass their startup parameter to its workers; use `Rls::per_transaction()`, whose `SET LOCAL` it propagates"
            }
            RlsRefusal::PinNotHeld => {
                "a connection pinned to the tenant does not hold it: the startup parameter did not reach the server (a transaction pooler?) or `after_connect` set the setting; behind a transaction pooler use `Rls::per_transaction()`"
            }
        })
    }
}

impl std::error::Error for RlsRefusal {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tenant is an escape string whatever it holds: quotes and backslashes doubled, so
    /// that `o'br\ien` reads back as itself (checked against PostgreSQL 15 with
    /// `standard_conforming_strings` on and off); NUL cannot be written at all.
    #[test]
    fn the_tenant_is_written_as_an_escape_string() {
        let rls = Rls::per_transaction();
        assert_eq!(
            rls.begin(r"o'br\ien").unwrap(),
            r"BEGIN; SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL tenantry.tenant = E'o''br\\ien'"
        );
        assert_eq!(rls.begin("a\0b"), Err(RlsRefusal::UnquotableTenant));
        let custom = Rls::per_transaction().setting("app.tenant").unwrap();
        assert!(custom.begin("acme").unwrap().ends_with("SET LOCAL app.tenant = E'acme'"));
    }
}
