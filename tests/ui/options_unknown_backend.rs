// A backend tenantry does not generate code for.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres, oracle))]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
