// `backends()` with nothing in it.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends())]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
