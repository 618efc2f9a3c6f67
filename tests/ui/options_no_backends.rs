// `#[tenant_repository]` must be told which backends to generate code for.
use tenantry::{Result, tenant_repository};

#[tenant_repository]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
