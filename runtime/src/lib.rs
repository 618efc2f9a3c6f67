//! # tenantry
//!
//! Cross-tenant data leaks, refused at compile time, in the SQL itself.
//!
//! Write a trait of SQL methods and mark it `#[tenant_repository]`. The macro parses every
//! statement and refuses to compile one that is not confined to the tenant; it generates a
//! repository on sqlx whose every method takes a scope guard and binds the tenant from it.
//!
//! ```
//! use tenantry::{tenant_repository, Db, Result, TenantId};
//!
//! #[derive(Debug, sqlx::FromRow)]
//! pub struct Invoice { pub id: i64, pub customer: String, pub amount_cents: i64 }
//!
//! #[tenant_repository(backends(sqlite))]
//! pub trait Invoices {
//!     #[sql("SELECT id, customer, amount_cents FROM invoices WHERE tenant_id = :tenant ORDER BY id")]
//!     async fn list(&self) -> Result<Vec<Invoice>>;
//!
//!     #[sql("INSERT INTO invoices (tenant_id, customer, amount_cents) VALUES (:tenant, :customer, :amount)")]
//!     async fn create(&self, customer: &str, amount: i64) -> Result<u64>;
//! }
//!
//! # async fn demo() -> Result<()> {
//! let db: Db<sqlx::Sqlite> = Db::connect("sqlite::memory:").await?;
//! sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, customer TEXT NOT NULL, amount_cents INTEGER NOT NULL)")
//!     .execute(db.pool()).await?;
//! let invoices = InvoicesRepo::new(&db);
//! let acme = db.scope(TenantId::parse("acme")?)?;
//! let globex = db.scope(TenantId::parse("globex")?)?;
//! invoices.create(&acme, "Wile E.", 100).await?;
//! assert_eq!(invoices.list(&acme).await?.len(), 1);
//! assert!(invoices.list(&globex).await?.is_empty());
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! See the README for the rules, the compile errors and the supported SQL.

pub mod audit;
mod backend;
#[cfg(feature = "claims")]
mod claim;
mod db;
mod error;
mod guard;
mod isolation;
mod pins;
pub mod policy;
mod rls;
mod set;
mod tenant;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;
mod types;
#[cfg(feature = "axum")]
pub mod web;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "claims")]
pub use claim::JobClaim;
pub use db::{BuildsWithoutAudit, Db, DbBuilder, PlainMode, RlsMode};
pub use error::{ClaimRefusal, Error, ForeignTransaction, Result};
pub use guard::{ReadGuard, Scope, ScopeGuard, Unscoped, UnscopedGuard};
pub use isolation::{IsolationFinding, IsolationReport, TenantTable};
pub use pins::Pinning;
pub use rls::{InvalidSetting, Rls, RlsRefusal, TENANT_SETTING};
pub use set::ScopeSet;
pub use tenant::{InvalidTenantId, KeyKind, KeyValue, MAX_TENANT_ID_LEN, TenantId, TenantKey};
pub use tenantry_macros::tenant_repository;
pub use tx::ScopedTx;
pub use types::{Bindable, ColumnType, RowType};

/// The rows of a streamed read, decoded one at a time: declare a method
/// `fn name(&self, ...) -> tenantry::RowStream<'_, T>;` for reads too large to collect.
pub type RowStream<'a, T> = futures_core::stream::BoxStream<'a, Result<T>>;

/// The future a repository method returns: boxed, so that a repository trait is
/// object-safe (`Arc<dyn Invoices + Send + Sync>`), and `Send`, so that it can be spawned.
///
/// A hand-written implementation (a fake for tests) returns `Box::pin(async move { .. })`.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

// Generated impls of a backend whose feature is off fail here, once per trait and backend,
// with the fix; otherwise the tokens pass through. (`$d` is a `$` handed to the inner
// macro: nested macro_rules cannot write their own `$` on stable.)
macro_rules! backend_gate {
    ($d:tt $($feature:literal => $name:ident),*) => {$(
        #[cfg(feature = $feature)]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $name {
            ($d($d tokens:tt)*) => { $d($d tokens)* };
        }

        #[cfg(not(feature = $feature))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $name {
            ($d($d tokens:tt)*) => {
                ::core::compile_error!(::core::concat!(
                    "this repository runs on ", $feature, " (`backends(", $feature, ")`), but tenantry's `", $feature,
                    "` feature is off: enable it, e.g. `tenantry = { version = \"0.1\", features = [\"", $feature, "\"] }`"
                ));
            };
        }
    )*};
}
backend_gate!($ "sqlite" => __backend_sqlite, "postgres" => __backend_postgres, "mysql" => __backend_mysql);
