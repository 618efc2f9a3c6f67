// `migrations = "..."` on a trait names a folder relative to this file; a folder named
// explicitly must exist.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(postgres), migrations = "migrations/no_such_folder")]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant")]
    async fn count(&self) -> Result<i64>;
}

fn main() {}
