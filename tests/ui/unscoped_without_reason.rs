// The escape hatch must say why it reads across tenants.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[unscoped]
    #[sql("SELECT COUNT(*) FROM invoices")]
    async fn count_all(&self) -> Result<i64>;
}

fn main() {}
