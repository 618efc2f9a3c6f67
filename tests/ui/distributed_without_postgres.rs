// `distributed` means Citus, a PostgreSQL extension: a repository without PostgreSQL code
// cannot target it.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(sqlite), distributed)]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
