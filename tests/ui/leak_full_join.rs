// A FULL JOIN keeps unmatched rows of both sides; confining in ON is not enough.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "SELECT i.id, i.amount_cents FROM invoices i FULL JOIN payments p ON p.invoice_id = i.id AND p.tenant_id = :tenant AND i.tenant_id = :tenant"
    )]
    async fn list(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
