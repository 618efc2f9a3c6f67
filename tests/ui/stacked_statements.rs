// Two statements in one method.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql("DELETE FROM invoices WHERE tenant_id = :tenant AND id = :id; DELETE FROM payments WHERE invoice_id = :id")]
    async fn delete(&self, id: i64) -> Result<u64>;
}

fn main() {}
