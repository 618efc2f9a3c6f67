// A misspelt option.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), shared_tables(countries))]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
