// A statement valid in one listed dialect but not another is reported for that backend.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(sqlite, postgres))]
pub trait Invoices {
    #[sql("SELECT id FROM invoices WHERE tenant_id = :tenant AND id = ?")]
    async fn ids(&self) -> Result<Vec<i64>>;
}

fn main() {}
