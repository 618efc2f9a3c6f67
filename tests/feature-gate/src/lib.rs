//! Fails to compile on purpose (see Cargo.toml): PostgreSQL is named, its feature is off.

use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(sqlite, postgres))]
pub trait Notes {
    #[sql("SELECT body FROM notes WHERE tenant_id = :tenant")]
    async fn list(&self) -> Result<Vec<String>>;
}
