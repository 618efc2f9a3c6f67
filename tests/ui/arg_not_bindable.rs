// An argument binds to its placeholder only if sqlx can encode its type.
use tenantry::{Result, tenant_repository};

#[derive(Debug)]
pub struct Customer {
    pub name: String,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("SELECT COUNT(*) FROM invoices WHERE tenant_id = :tenant AND customer = :customer")]
    async fn count_for(&self, customer: &Customer) -> Result<i64>;
}

fn main() {}
