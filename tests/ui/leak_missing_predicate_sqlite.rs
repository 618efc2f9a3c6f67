// The missing predicate on SQLite.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(sqlite))]
pub trait Invoices {
    #[sql("DELETE FROM invoices WHERE id = :id")]
    async fn delete(&self, id: i64) -> Result<u64>;
}

fn main() {}
