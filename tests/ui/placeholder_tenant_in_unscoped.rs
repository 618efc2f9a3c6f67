// An unscoped method has no tenant to bind.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[unscoped(reason = "support tooling")]
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
