// The joined table of a LEFT JOIN is never confined.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "SELECT i.id, i.amount_cents FROM invoices i LEFT JOIN payments p ON p.invoice_id = i.id WHERE i.tenant_id = :tenant"
    )]
    async fn list(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
