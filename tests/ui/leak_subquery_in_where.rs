// A subquery in WHERE reads another table without confining it.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "SELECT id, amount_cents FROM invoices WHERE tenant_id = :tenant AND customer_id IN (SELECT id FROM customers WHERE vip)"
    )]
    async fn vip(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
