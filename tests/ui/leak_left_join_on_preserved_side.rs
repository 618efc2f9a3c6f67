// The preserved side's predicate in a LEFT JOIN's ON filters nothing.
use tenantry::{Result, tenant_repository};

#[derive(Debug, sqlx::FromRow)]
pub struct Invoice {
    pub id: i64,
    pub amount_cents: i64,
}

#[tenant_repository(backends(postgres))]
pub trait Invoices {
    #[sql(
        "SELECT i.id, i.amount_cents FROM invoices i LEFT JOIN payments p ON p.invoice_id = i.id AND p.tenant_id = :tenant AND i.tenant_id = :tenant"
    )]
    async fn list(&self) -> Result<Vec<Invoice>>;
}

fn main() {}
