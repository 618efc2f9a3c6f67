// DELETE ... USING reads a table that is not confined.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "DELETE FROM invoices USING customers c WHERE c.id = invoices.customer_id AND c.blocked AND invoices.tenant_id = :tenant"
    )]
    async fn purge_blocked(&self) -> Result<u64>;
}

fn main() {}
