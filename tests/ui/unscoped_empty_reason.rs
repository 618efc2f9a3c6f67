// An empty reason is no reason.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[unscoped(reason = " ")]
    #[sql("SELECT COUNT(*) FROM invoices")]
    async fn count_all(&self) -> Result<i64>;
}

fn main() {}
