// UPDATE ... FROM reads a table that is not confined.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "UPDATE invoices SET amount_cents = 0 FROM credits c WHERE c.invoice_id = invoices.id AND invoices.tenant_id = :tenant"
    )]
    async fn apply_credits(&self) -> Result<u64>;
}

fn main() {}
