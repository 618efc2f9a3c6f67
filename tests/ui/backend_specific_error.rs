// A statement that one listed backend accepts and another refuses is reported for that
// backend only: SQLite has no `now()`.
use tenantry::{Result, tenant_repository};

#[tenant_repository(backends(sqlite, postgres))]
pub trait Invoices {
    #[sql("SELECT id FROM invoices WHERE tenant_id = :tenant AND created_at > now()")]
    async fn recent(&self) -> Result<Vec<i64>>;
}

fn main() {}
